package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

func newServer(t *testing.T) (*httptest.Server, *api.Tokens) {
	t.Helper()
	db := openStore(t)
	hash, _ := api.HashPassword("Passw0rd!")
	if err := db.CreateUser(t.Context(), &ottr.User{Username: "admin", Role: ottr.RoleAdmin, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	tk, err := api.NewTokens(t.Context(), api.TokenConfig{Secrets: db, Users: db})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, Audit: db, Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	return srv, tk
}

// request sends one API request (token "" for none) and returns status,
// body and headers.
func request(t *testing.T, srv *httptest.Server, method, path, body, token string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, string, http.Header) {
	t.Helper()
	return request(t, srv, method, path, body, "")
}

func TestAuthenticate(t *testing.T) {
	srv, tk := newServer(t)
	if code, body, h := call(t, srv, "GET", "/", ""); code != 200 || !strings.Contains(body, `"ok"`) || len(h.Get("X-Request-ID")) != 16 {
		t.Errorf("GET / = %d %s (request id %q)", code, body, h.Get("X-Request-ID"))
	}
	code, body, _ := call(t, srv, "POST", "/user/v1/authenticate", `{"username":"admin","password":"Passw0rd!"}`)
	var out struct {
		Token string `json:"token"`
	}
	json.Unmarshal([]byte(body), &out)
	if code != 200 || !strings.HasPrefix(out.Token, "Bearer ") || strings.Contains(body, "$schema") {
		t.Fatalf("login = %d %s", code, body)
	}
	if u, err := tk.Check(t.Context(), out.Token); err != nil || u.Role != ottr.RoleAdmin {
		t.Errorf("token: %v", err)
	}
	// Wrong password and unknown user: same status, same body.
	c1, b1, h1 := call(t, srv, "POST", "/user/v1/authenticate", `{"username":"admin","password":"nope"}`)
	c2, b2, _ := call(t, srv, "POST", "/user/v1/authenticate", `{"username":"mallory","password":"nope"}`)
	if c1 != 401 || c2 != 401 || b1 != b2 || !strings.Contains(h1.Get("Content-Type"), "problem+json") {
		t.Errorf("failures differ or are not 401 problem+json: %d %s / %d %s", c1, b1, c2, b2)
	}
	for _, bad := range []string{`{`, `{"username":1}`, `[]`, `{"username":"admin"}`} {
		if code, body, _ := call(t, srv, "POST", "/user/v1/authenticate", bad); code != 400 {
			t.Errorf("%s: %d %s", bad, code, body)
		}
	}

	// Password change: Ottr's rule, then the new password works.
	code, body, _ = call(t, srv, "PUT", "/user/v1/authenticate", `{"username":"admin","password":"Passw0rd!","updated_password":"weak"}`)
	if code != 400 || !strings.Contains(body, "updated_password") || strings.Contains(body, "weak\"") {
		t.Errorf("weak new password: %d %s", code, body)
	}
	if code, body, _ := call(t, srv, "PUT", "/user/v1/authenticate", `{"username":"admin","password":"Passw0rd!","updated_password":"N3w.Passw0rd!"}`); code != 204 {
		t.Fatalf("change: %d %s", code, body)
	}
	if code, _, _ := call(t, srv, "POST", "/user/v1/authenticate", `{"username":"admin","password":"N3w.Passw0rd!"}`); code != 200 {
		t.Errorf("new password refused: %d", code)
	}
	if code, _, _ := call(t, srv, "PUT", "/user/v1/authenticate", `{"username":"admin","password":"Passw0rd!","updated_password":"Other.Passw0rd!"}`); code != 401 {
		t.Errorf("old password still works for a change: %d", code)
	}
	// The interactive docs come from the binary, nothing from a CDN.
	for path, want := range map[string]string{"/docs": "<title>Ottr API</title>", "/docs/docs.js": "openapi.json", "/docs/docs.css": "summary"} {
		code, body, h := call(t, srv, "GET", path, "")
		if code != 200 || !strings.Contains(body, want) || strings.Contains(body, "https://") || h.Get("Content-Security-Policy") != "default-src 'self'; frame-ancestors 'none'" {
			t.Errorf("%s: %d %.100s", path, code, body)
		}
	}
	// Prometheus metrics with bounded labels.
	code, body, _ = call(t, srv, "GET", "/metrics", "")
	if code != 200 || !strings.Contains(body, `ottr_http_requests_total{code="401",method="POST"}`) || !strings.Contains(body, "ottr_build_info") {
		t.Errorf("metrics: %d %.300s", code, body)
	}
	// The OpenAPI 3.1 description is generated from the types.
	code, body, _ = call(t, srv, "GET", "/openapi.json", "")
	if code != 200 || !strings.Contains(body, `"openapi":"3.1.0"`) || !strings.Contains(body, "/user/v1/authenticate") {
		t.Errorf("openapi: %d %.200s", code, body)
	}
}
