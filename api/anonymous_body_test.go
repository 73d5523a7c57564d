package api_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// countingBody counts the bytes a handler reads of a request body.
type countingBody struct {
	r    *strings.Reader
	read atomic.Int64
}

func (c *countingBody) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.read.Add(int64(n))
	return n, err
}

// Every operation that needs a token answers a request without a valid
// one 401 before reading its body: an anonymous body, however large,
// costs the server no pass over it. With a valid token the body is read.
func TestAnonymousBodiesAreNotRead(t *testing.T) {
	fx := newRBACFixture(t)
	body := `{"system_name":"` + strings.Repeat("a", 512<<10) + `"}`
	secured := 0
	for _, op := range bodyOps(t, fx) {
		if !op.secured {
			continue
		}
		secured++
		for _, auth := range []string{"", "Bearer not.a.token", "Basic YWRtaW46YWRtaW4=", fx.tokens["ADMIN"]} {
			b := &countingBody{r: strings.NewReader(body)}
			req := httptest.NewRequestWithContext(t.Context(), op.method, op.path, b)
			req.Header.Set("Content-Type", "application/json")
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			rec := httptest.NewRecorder()
			fx.handler.ServeHTTP(rec, req)
			valid := auth == fx.tokens["ADMIN"]
			switch {
			case !valid && rec.Code != http.StatusUnauthorized:
				t.Errorf("%s %s with Authorization %.20q: %d, want 401: %.300s", op.method, op.path, auth, rec.Code, rec.Body)
			case !valid && b.read.Load() != 0:
				t.Errorf("%s %s with Authorization %.20q: read %d bytes of the body before refusing it", op.method, op.path, auth, b.read.Load())
			case !valid && !strings.Contains(rec.Header().Get("Content-Type"), "problem+json"):
				t.Errorf("%s %s: 401 as %q", op.method, op.path, rec.Header().Get("Content-Type"))
			case valid && (rec.Code == http.StatusUnauthorized || b.read.Load() == 0):
				t.Errorf("%s %s as ADMIN: %d after reading %d bytes: %.300s", op.method, op.path, rec.Code, b.read.Load(), rec.Body)
			}
		}
	}
	if secured < 5 {
		t.Errorf("only %d operations with a body need a token", secured)
	}
}
