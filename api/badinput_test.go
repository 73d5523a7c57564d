package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestBadInput sends each endpoint that takes input a battery of bad
// requests: each must get a 4xx problem+json naming what is wrong, and the
// store (assets, users, audit log) must be exactly as before.
func TestBadInput(t *testing.T) {
	fx := newRBACFixture(t)
	admin := fx.tokens["ADMIN"]
	valid := map[string]any{"system_name": "x.example.com", "common_name": "x.example.com", "certificate_authority": "lets_encrypt",
		"host_platform": "panos", "os_version": "9.1.0", "device_model": "PA-XXXX"}
	asset := func(field string, value any) string {
		m := map[string]any{}
		for k, v := range valid {
			m[k] = v
		}
		if value == nil {
			delete(m, field)
		} else {
			m[field] = value
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	big := `{"system_name":"` + strings.Repeat("a", 2<<20) + `"}`
	type bad struct {
		name, body string
		code       int
		want       string // in the body
	}
	// The asset battery runs against both create and update.
	assetBattery := []bad{
		{"malformed JSON", `{"system_name":`, 400, "ends early"},
		{"not an object", `["x.example.com"]`, 400, "object"},
		{"empty body", ``, 400, "body"},
		{"wrong type", asset("system_name", 42), 400, "system_name"},
		{"wrong type in list", asset("subject_alternative_name", []any{1}), 400, "subject_alternative_name"},
		{"missing system_name", asset("system_name", nil), 400, "system_name"},
		{"missing host_platform", asset("host_platform", nil), 400, "host_platform"},
		{"unknown field", asset("passwd", "x"), 400, "passwd"},
		{"oversized", big, 413, "bytes"},
		{"FQDN with space", asset("system_name", "fw 01.example.com"), 400, "system_name"},
		{"FQDN one label", asset("common_name", "localhost"), 400, "common_name"},
		{"FQDN empty label", asset("common_name", "a..example.com"), 400, "empty label"},
		{"FQDN leading hyphen", asset("common_name", "-a.example.com"), 400, "common_name"},
		{"FQDN too long", asset("common_name", strings.Repeat("a.", 130)+"com"), 400, "253"},
		{"bad IPv4", asset("ip_address", "999.1.1.1"), 400, "ip_address"},
		{"IP as name", asset("common_name", "10.0.0.1"), 400, "IP address"},
		{"wildcard system_name", asset("system_name", "*.example.com"), 400, "system_name"},
		{"wildcard mid-label", asset("subject_alternative_name", []string{"x.example.com", "a.*.example.com"}), 400, "leftmost"},
		{"wildcard partial", asset("subject_alternative_name", []string{"x.example.com", "w*.example.com"}), 400, "whole label"},
		{"wildcard under TLD", asset("subject_alternative_name", []string{"x.example.com", "*.com"}), 400, "top-level"},
		{"IDN", asset("common_name", "bücher.example.com"), 400, "xn--bcher-kva.example.com"},
		{"unicode control", asset("data_center", "DC\u0000"), 400, "data_center"},
		{"SQL injection", asset("system_name", "x.example.com'; DROP TABLE assets;--"), 400, "system_name"},
		{"JSON injection", asset("common_name", `x.example.com","role":"ADMIN`), 400, "common_name"},
		{"operator object", asset("system_name", map[string]any{"$ne": nil}), 400, "system_name"},
		{"bad expiry", asset("certificate_validation", "maybe"), 400, "certificate_validation"},
	}
	var rows []struct {
		method, path string
		bad
	}
	for _, m := range []string{"POST", "PUT"} {
		for _, b := range assetBattery {
			if m == "PUT" { // an existing asset, so only the bad input can fail it
				b.body = strings.ReplaceAll(b.body, `"system_name":"x.example.com"`, `"system_name":"admin.example.com"`)
			}
			rows = append(rows, struct {
				method, path string
				bad
			}{m, "/api/v1/assets", b})
		}
	}
	add := func(method, path string, bs ...bad) {
		for _, b := range bs {
			rows = append(rows, struct {
				method, path string
				bad
			}{method, path, b})
		}
	}
	add("POST", "/admin/v1/users",
		bad{"malformed JSON", `{"username":`, 400, "JSON"},
		bad{"missing password", `{"username":"bob","role":"ADMIN"}`, 400, "password"},
		bad{"weak password", `{"username":"bob","password":"password","role":"ADMIN"}`, 400, "password"},
		bad{"overlong password", `{"username":"bob","password":"Aa1!` + strings.Repeat("x", 200) + `","role":"ADMIN"}`, 400, "128"},
		bad{"unknown role", `{"username":"bob","password":"Passw0rd!","role":"ROOT"}`, 400, "role"},
		bad{"role injection", `{"username":"bob","password":"Passw0rd!","role":"ADMIN' OR '1'='1"}`, 400, "role"},
		bad{"path in username", `{"username":"../admin","password":"Passw0rd!","role":"ADMIN"}`, 400, "username"},
		bad{"unknown field", `{"username":"bob","password":"Passw0rd!","role":"ADMIN","is_admin":true}`, 400, "is_admin"},
		bad{"oversized", big, 413, "bytes"},
	)
	add("PUT", "/user/v1/authenticate",
		bad{"weak new password", `{"username":"victim-admin","password":"Passw0rd!","updated_password":"short"}`, 400, "updated_password"},
		bad{"missing new password", `{"username":"victim-admin","password":"Passw0rd!"}`, 400, "updated_password"},
		bad{"wrong type", `{"username":"victim-admin","password":12345678,"updated_password":"N3w.Passw0rd"}`, 400, "password"},
	)
	add("POST", "/user/v1/authenticate",
		bad{"malformed JSON", `{"username":"admin"`, 400, "JSON"},
		bad{"missing password", `{"username":"admin"}`, 400, "password"},
		bad{"operator object", `{"username":{"$ne":null},"password":"x"}`, 400, "username"},
	)
	for _, prefix := range []string{"/api/v1/assets/delete/", "/admin/v1/management/certificate-validation/unset/",
		"/api/v1/certificate/rotate/", "/api/v1/assets/"} {
		method := map[string]string{"/api/v1/assets/delete/": "DELETE", "/api/v1/certificate/rotate/": "POST"}[prefix]
		if method == "" {
			method = "PATCH"
		}
		suffix := ""
		if prefix == "/api/v1/assets/" {
			method, suffix = "GET", "/delegation"
		}
		add(method, prefix+"..%2F..%2Fetc%2Fpasswd"+suffix, bad{"path traversal", "", 400, "system_name"})
		add(method, prefix+"x.example.com%27%3B%20DROP%20TABLE%20assets%3B--"+suffix, bad{"SQL injection", "", 400, "system_name"})
		add(method, prefix+"absent.example.com"+suffix, bad{"absent", "", 404, "absent.example.com"})
	}
	add("DELETE", "/admin/v1/users/..%2Fadmin", bad{"path traversal", "", 400, "username"})
	add("GET", "/api/v1/search?days_until_expiration=-1;DROP", bad{"bad number", "", 400, "days_until_expiration"})
	add("GET", "/api/v1/search?limit=1000000", bad{"limit too large", "", 400, "limit"})
	add("GET", "/api/v1/search?labels=nokeyvalue", bad{"bad labels", "", 400, "labels"})
	add("GET", "/api/v1/search?cursor=%27%20OR%201%3D1", bad{"forged cursor", "", 400, "cursor"})
	add("GET", "/api/v1/rotations/..%2F..%2Fetc", bad{"traversal in id", "", 404, "not found"})
	add("POST", "/api/v1/routes/validate", bad{"not a route table", `{"platform": 5}`, 400, "platform"})

	for _, r := range rows {
		t.Run(r.method+" "+r.path+" "+r.name, func(t *testing.T) {
			before := fx.snapshot(t)
			code, body, h := request(t, fx.srv, r.method, r.path, r.body, admin)
			if code != r.code || !strings.Contains(body, r.want) {
				t.Errorf("%d %.300s\nwant %d naming %q", code, body, r.code, r.want)
			}
			if !strings.Contains(h.Get("Content-Type"), "problem+json") {
				t.Errorf("Content-Type %q", h.Get("Content-Type"))
			}
			if after := fx.snapshot(t); after != before {
				t.Errorf("the store changed:\n%s\n%s", before, after)
			}
		})
	}
}

// snapshot renders every asset, user and audit event, to compare.
func (fx *rbacFixture) snapshot(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	all, _, err := fx.db.FindAssets(ctx, ottr.AssetFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	users, err := fx.db.ListUsers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal([]any{all, users, fx.events(t)})
	return string(b)
}
