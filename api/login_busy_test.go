package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// When every hash slot stays taken, a login waits PasswordQueueTimeout
// (2 s by default) and is answered 503 with Retry-After: the server does
// not take memory it was not given.
func TestLoginBusy(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := &Server{PasswordHashes: 1}
		h := s.Handler()
		s.loginInit()
		s.hashSlots <- struct{}{} // a hash in progress holds the only slot
		for _, c := range []struct{ method, body string }{
			{"POST", `{"username":"admin","password":"Passw0rd!"}`},
			{"PUT", `{"username":"admin","password":"Passw0rd!","updated_password":"N3w-Passw0rd!"}`},
		} {
			req := httptest.NewRequestWithContext(t.Context(), c.method, "/user/v1/authenticate", strings.NewReader(c.body))
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			start := time.Now()
			h.ServeHTTP(rec, req)
			if took := time.Since(start); took != 2*time.Second {
				t.Errorf("%s: answered after %v, want the 2s queue timeout", c.method, took)
			}
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" ||
				!strings.Contains(rec.Header().Get("Content-Type"), "problem+json") || !strings.Contains(rec.Body.String(), "busy") {
				t.Errorf("%s: %d Retry-After %q %s", c.method, rec.Code, rec.Header().Get("Retry-After"), rec.Body.String())
			}
		}
		// A busy answer is not a failed guess: it does not count.
		if n := len(s.limits.userAddr); n != 0 {
			t.Errorf("busy logins were counted: %v", s.limits.userAddr)
		}
	})
}
