package api_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUnroutedPaths: only "/" itself is the health check. A path no route
// takes is 404 in problem+json (it used to be 200 {"status":"ok"}), a known
// path with another method 405 naming the allowed ones, and Ottr's
// /swagger.json serves the API description.
func TestUnroutedPaths(t *testing.T) {
	srv, _ := newServer(t)
	if code, body, _ := call(t, srv, "GET", "/", ""); code != 200 || !strings.Contains(body, `"status":"ok"`) {
		t.Errorf("GET / = %d %s", code, body)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/nope"}, {"GET", "/api/v1/searchx"}, {"GET", "/user/v1"}, {"POST", "/nope"},
		{"DELETE", "/admin/v1/users"}, {"GET", "/api/v1/assets/delete/x.example.com"}, {"GET", "/swagger.yaml"},
	} {
		code, body, h := call(t, srv, c.method, c.path, "")
		var p struct {
			Status int
			Title  string
			Detail string
		}
		json.Unmarshal([]byte(body), &p)
		want := 404
		if c.path == "/admin/v1/users" || c.path == "/api/v1/assets/delete/x.example.com" {
			want = 405
		}
		if code != want || p.Status != want || !strings.Contains(h.Get("Content-Type"), "application/problem+json") || !strings.Contains(p.Detail, c.path) {
			t.Errorf("%s %s = %d %s %s, want %d problem+json naming the path", c.method, c.path, code, h.Get("Content-Type"), body, want)
		}
		if want == 405 && h.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", c.method, c.path)
		}
	}
	if _, _, h := call(t, srv, "DELETE", "/admin/v1/users", ""); h.Get("Allow") != "GET, POST, HEAD" {
		t.Errorf("Allow = %q, want GET, POST, HEAD", h.Get("Allow"))
	}
	code, sw, h := call(t, srv, "GET", "/swagger.json", "")
	_, oa, _ := call(t, srv, "GET", "/openapi.json", "")
	if code != 200 || sw != oa || !strings.Contains(h.Get("Content-Type"), "openapi+json") {
		t.Errorf("GET /swagger.json = %d %s, want /openapi.json's document", code, h.Get("Content-Type"))
	}
}
