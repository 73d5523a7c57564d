package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

func TestAssetsAndSearch(t *testing.T) {
	srv, _ := newServer(t)
	do := func(method, path, body, token string) (int, string, http.Header) {
		return request(t, srv, method, path, body, token)
	}
	two := func(m, p, b, tok string) (int, string) { c, body, _ := do(m, p, b, tok); return c, body }
	admin := login(t, two, "admin", "Passw0rd!")

	// Ottr's body: SANs default to the CN, origin API, expiration null,
	// validation "True" whatever was sent.
	code, body, _ := do("POST", "/api/v1/assets", `{"system_name":"fw01.example.com","common_name":"fw01.example.com",
		"certificate_authority":"lets_encrypt","host_platform":"panos","os_version":"9.1.0","device_model":"PA-XXXX",
		"ip_address":"10.0.0.1","data_center":"DC1","certificate_expiration":"2030-01-01T00:00:00","certificate_validation":"False"}`, admin)
	var a ottr.Asset
	json.Unmarshal([]byte(body), &a)
	if code != 201 || a.Origin != "API" || a.CertificateExpiration != nil || !bool(a.CertificateValidation) ||
		len(a.SubjectAlternativeName) != 1 || a.SubjectAlternativeName[0] != "fw01.example.com" {
		t.Fatalf("create: %d %s", code, body)
	}
	if !strings.Contains(body, `"certificate_validation":"True"`) || !strings.Contains(body, `"certificate_expiration":null`) {
		t.Errorf("not Ottr's value forms: %s", body)
	}
	if code, _, _ := do("POST", "/api/v1/assets", `{"system_name":"fw01.example.com","common_name":"fw01.example.com","certificate_authority":"lets_encrypt","host_platform":"panos"}`, admin); code != 409 {
		t.Errorf("duplicate: %d", code)
	}
	for body, want := range map[string]string{
		`{`:                  "syntax error",
		`[]`:                 "JSON object",
		`{"system_name": 5}`: "system_name",
		`{"system_name":"no spaces allowed.example.com x"}`: "system_name",
		`{"system_name":"a.example.com","common_name":"a.example.com","certificate_authority":"lets_encrypt","host_platform":"panos","certificate_expiration":"tomorrow"}`: "certificate_expiration",
		`{"system_name":"'; DROP TABLE assets;--"}`: "system_name",
	} {
		code, resp, h := do("POST", "/api/v1/assets", body, admin)
		if code != 400 || !strings.Contains(resp, want) || !strings.Contains(h.Get("Content-Type"), "problem+json") {
			t.Errorf("%s: %d %s, want 400 naming %s", body, code, resp, want)
		}
	}
	for i := range 3 {
		name := []string{"lb01", "lb02", "web01"}[i]
		do("POST", "/api/v1/assets", `{"system_name":"`+name+`.example.com","common_name":"`+name+`.example.com","certificate_authority":"lets_encrypt","host_platform":"f5","data_center":"DC2"}`, admin)
	}

	// Search: bare array, AND-ed parameters, pagination in a Link header.
	code, body, _ = do("GET", "/api/v1/search", "", admin)
	var list []ottr.Asset
	if json.Unmarshal([]byte(body), &list); code != 200 || len(list) != 4 {
		t.Fatalf("search all: %d %s", code, body)
	}
	_, body, _ = do("GET", "/api/v1/search?host_platform=f5&data_center=DC2", "", admin)
	if json.Unmarshal([]byte(body), &list); len(list) != 3 {
		t.Errorf("f5 in DC2: %s", body)
	}
	code, body, h := do("GET", "/api/v1/search?host_platform=f5&limit=2", "", admin)
	json.Unmarshal([]byte(body), &list)
	link := h.Get("Link")
	if code != 200 || len(list) != 2 || !strings.Contains(link, `rel="next"`) || !strings.Contains(link, "host_platform=f5") {
		t.Fatalf("page 1: %d %d assets, Link %q", code, len(list), link)
	}
	next := link[strings.Index(link, "<")+1 : strings.Index(link, ">")]
	_, body, h = do("GET", next, "", admin)
	if json.Unmarshal([]byte(body), &list); len(list) != 1 || h.Get("Link") != "" {
		t.Errorf("page 2: %s Link %q", body, h.Get("Link"))
	}
	if code, body, _ := do("GET", "/api/v1/search?days_until_expiration=soon", "", admin); code != 400 || !strings.Contains(body, "days_until_expiration") {
		t.Errorf("bad days: %d %s", code, body)
	}

	// Roles: a DEVELOPER may search, not add or delete.
	two("POST", "/admin/v1/users", `{"username":"dev","password":"Dev.Passw0rd","role":"DEVELOPER"}`, admin)
	dev := login(t, two, "dev", "Dev.Passw0rd")
	if code, _, _ := do("GET", "/api/v1/search", "", dev); code != 200 {
		t.Errorf("developer search: %d", code)
	}
	if code, _, _ := do("POST", "/api/v1/assets", `{}`, dev); code != 403 {
		t.Errorf("developer add: %d", code)
	}
	if code, _, _ := do("DELETE", "/api/v1/assets/delete/lb01.example.com", "", dev); code != 403 {
		t.Errorf("developer delete: %d", code)
	}
	if code, _, _ := do("DELETE", "/api/v1/assets/delete/lb01.example.com", "", admin); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _, _ := do("DELETE", "/api/v1/assets/delete/lb01.example.com", "", admin); code != 404 {
		t.Errorf("delete twice: %d", code)
	}
	if code, _, _ := do("GET", "/api/v1/search", "", ""); code != 401 {
		t.Errorf("search without a token: %d", code)
	}

	// Update: Ottr's fields change, the CA and expiry do not.
	code, body, _ = do("PUT", "/api/v1/assets", `{"system_name":"fw01.example.com","common_name":"fw01.example.com",
		"subject_alternative_name":["fw01.example.com","vpn.example.com"],"certificate_authority":"digicert",
		"host_platform":"panos","os_version":"9.1.0","ip_address":"10.0.0.9","data_center":"DC3"}`, admin)
	json.Unmarshal([]byte(body), &a)
	if code != 200 || a.IPAddress != "10.0.0.9" || a.DataCenter != "DC3" || len(a.SubjectAlternativeName) != 2 || a.CertificateAuthority != "lets_encrypt" {
		t.Errorf("update: %d %s", code, body)
	}
	if code, _, _ := do("PUT", "/api/v1/assets", `{"system_name":"nope.example.com","common_name":"nope.example.com","host_platform":"panos"}`, admin); code != 404 {
		t.Errorf("update absent: %d", code)
	}
	if code, body, _ := do("PUT", "/api/v1/assets", `{"system_name":"fw01.example.com","common_name":"not a name","host_platform":"panos"}`, admin); code != 400 || !strings.Contains(body, "common_name") {
		t.Errorf("invalid update: %d %s", code, body)
	}
	// Certificate validation off and on, under both of Ottr's paths; ADMIN only.
	code, body, _ = do("PATCH", "/admin/v1/management/certificate-validation/unset/fw01.example.com", "", admin)
	if code != 200 || !strings.Contains(body, "Certificate Validation Unset") {
		t.Errorf("unset: %d %s", code, body)
	}
	_, body, _ = do("GET", "/api/v1/search?system_name=fw01.example.com", "", admin)
	if !strings.Contains(body, `"certificate_validation":"False"`) {
		t.Errorf("after unset: %s", body)
	}
	if code, body, _ := do("PATCH", "/api/v1/management/certificate-validation/set/fw01.example.com", "", admin); code != 200 || !strings.Contains(body, "Certificate Validation Enabled") {
		t.Errorf("set: %d %s", code, body)
	}
	if code, _, _ := do("PATCH", "/admin/v1/management/certificate-validation/set/fw01.example.com", "", dev); code != 403 {
		t.Errorf("developer set: %d", code)
	}
	if code, _, _ := do("PATCH", "/admin/v1/management/certificate-validation/set/nope.example.com", "", admin); code != 404 {
		t.Errorf("set absent: %d", code)
	}

	// Every change is in the audit log, with who did it; ADMIN reads it.
	code, body, _ = do("GET", "/admin/v1/events?limit=100", "", admin)
	for _, w := range []string{`"action":"asset.create"`, `"action":"asset.update"`, `"action":"asset.delete"`,
		`"action":"asset.certificate_validation.unset"`, `"action":"user.create"`, `"actor":"admin"`, `"resource":"asset/fw01.example.com"`} {
		if !strings.Contains(body, w) {
			t.Errorf("audit log lacks %s", w)
		}
	}
	if code != 200 || strings.Contains(body, "argon2") || strings.Contains(body, "Passw0rd") {
		t.Errorf("events: %d (secrets must not appear)", code)
	}
	if code, _, _ := do("GET", "/admin/v1/events", "", dev); code != 403 {
		t.Errorf("developer reads the audit log: %d", code)
	}
}
