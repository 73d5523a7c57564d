package api

import (
	"io/fs"
	"net/http"
	"strings"
	"testing"
)

// TestSecurityHeaders asks for every HTML page the server has (the docs
// page under each of its paths, and every .html file embedded in docs/),
// then for API answers of every kind (JSON, problem+json, the OpenAPI
// description, metrics, a 404), and checks the headers that stop
// framing, MIME sniffing and referrer leaks.
func TestSecurityHeaders(t *testing.T) {
	srv := NewCheckedServer(t, (&Server{Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	pages := []string{"/docs", "/docs/"}
	fs.WalkDir(docsFS, "docs", func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".html") {
			pages = append(pages, "/"+p)
		}
		return nil
	})
	others := []string{"/", "/healthz", "/openapi.json", "/openapi.yaml", "/metrics", "/docs/docs.js", "/docs/docs.css", "/nope", "/admin/v1/users"}
	get := func(path string) *http.Response {
		t.Helper()
		// Redirects (index.html → ./) are answers too: check them as sent.
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, p := range pages {
		resp := get(p)
		h := resp.Header
		if resp.StatusCode == http.StatusOK && !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
			t.Errorf("%s: Content-Type %q, want text/html", p, h.Get("Content-Type"))
		}
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s (%d): Content-Security-Policy %q lacks %q", p, resp.StatusCode, csp, want)
			}
		}
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := h.Get(k); got != want {
				t.Errorf("%s (%d): %s = %q, want %q", p, resp.StatusCode, k, got, want)
			}
		}
	}
	for _, p := range others {
		resp := get(p)
		h := resp.Header
		for k, want := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"} {
			if got := h.Get(k); got != want {
				t.Errorf("%s (%d): %s = %q, want %q", p, resp.StatusCode, k, got, want)
			}
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
			t.Errorf("%s (%d): Content-Security-Policy %q lacks frame-ancestors 'none'", p, resp.StatusCode, csp)
		}
	}
}
