package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// from sends one request from the client address addr, in-process.
func from(t *testing.T, h http.Handler, addr, method, path, body, token string) (int, string, http.Header) {
	t.Helper()
	req := httptest.NewRequestWithContext(t.Context(), method, path, strings.NewReader(body))
	req.RemoteAddr = addr + ":40000"
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

// A stranger's wrong passwords lock the user out of the stranger's
// address only: from the address the user logs in from, the right
// password still works, and an ADMIN can lift the lockout (audited).
func TestLoginLockoutIsPerAddress(t *testing.T) {
	srv, _ := newServer(t)
	h := srv.Config.Handler
	const stranger, usual = "203.0.113.9", "192.0.2.10"
	const right = `{"username":"admin","password":"Passw0rd!"}`
	for i := range 10 {
		if code, body, _ := from(t, h, stranger, "POST", "/user/v1/authenticate", `{"username":"admin","password":"guess`+string(rune('a'+i))+`"}`, ""); code != 401 {
			t.Fatalf("stranger's attempt %d: %d %s", i+1, code, body)
		}
	}
	if code, body, h := from(t, h, stranger, "POST", "/user/v1/authenticate", right, ""); code != 429 || h.Get("Retry-After") == "" {
		t.Errorf("stranger after 10 failures: %d %s Retry-After %q", code, body, h.Get("Retry-After"))
	}
	// Another user name from the stranger's address is not held up.
	if code, _, _ := from(t, h, stranger, "POST", "/user/v1/authenticate", `{"username":"other","password":"x"}`, ""); code != 401 {
		t.Errorf("another user from the stranger's address: %d", code)
	}
	code, body, _ := from(t, h, usual, "POST", "/user/v1/authenticate", right, "")
	if code != 200 {
		t.Fatalf("the user from their own address: %d %s", code, body)
	}
	token := body[strings.Index(body, "Bearer "):strings.LastIndex(body, `"`)]

	if code, body, _ := from(t, h, usual, "POST", "/admin/v1/users/nobody/unlock", "", token); code != 404 {
		t.Errorf("unlock an unknown user: %d %s", code, body)
	}
	if code, body, _ := from(t, h, usual, "POST", "/admin/v1/users/admin/unlock", "", token); code != 204 {
		t.Fatalf("unlock: %d %s", code, body)
	}
	if code, body, _ := from(t, h, stranger, "POST", "/user/v1/authenticate", right, ""); code != 200 {
		t.Errorf("after the unlock, from the stranger's address: %d %s", code, body)
	}
	_, events, _ := from(t, h, usual, "GET", "/admin/v1/events", "", token)
	if !strings.Contains(events, `"user.unlock"`) {
		t.Errorf("no user.unlock event: %.500s", events)
	}
}

// An attempt counts before its password is checked: 20 wrong passwords
// at once from one address check at most 10 (the rest get 429 at once),
// and the right one, coming after, is refused too.
func TestLoginCountsBeforeHashing(t *testing.T) {
	srv, _ := newServer(t)
	h := srv.Config.Handler
	var wg sync.WaitGroup
	codes := make(chan int, 20)
	for i := range 20 {
		wg.Go(func() {
			code, _, _ := from(t, h, "198.51.100.4", "POST", "/user/v1/authenticate", `{"username":"admin","password":"wrong`+string(rune('a'+i))+`"}`, "")
			codes <- code
		})
	}
	wg.Wait()
	close(codes)
	n := map[int]int{}
	for c := range codes {
		n[c]++
	}
	if n[401] > 10 || n[401]+n[429]+n[503] != 20 {
		t.Errorf("answers %v: want at most 10 checked (401), the rest 429 or 503", n)
	}
	if code, _, _ := from(t, h, "198.51.100.4", "POST", "/user/v1/authenticate", `{"username":"admin","password":"Passw0rd!"}`, ""); n[401] == 10 && code != 429 {
		t.Errorf("right password after 10 failures: %d", code)
	}
}
