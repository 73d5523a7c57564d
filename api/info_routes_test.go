package api_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

func TestInfoEndpoints(t *testing.T) {
	db := openStore(t)
	ctx := t.Context()
	db.CreateUser(ctx, &ottr.User{Username: "dev", Role: ottr.RoleDeveloper, PasswordHash: "x"})
	db.CreateAsset(ctx, &ottr.Asset{SystemName: "fw01.example.com", CommonName: "fw01.example.com",
		SubjectAlternativeName: []string{"fw01.example.com", "vpn.example.com"}, CertificateAuthority: "lets_encrypt", HostPlatform: "panos"})
	f, _ := os.Open("../testdata/route.json")
	rt, _ := ottr.ParseRouteTable(f)
	f.Close()
	tk, _ := api.NewTokens(ctx, api.TokenConfig{Secrets: db, Users: db})
	ready := error(nil)
	s := &api.Server{Users: db, Assets: db, Tokens: tk, Routes: rt, CAs: []string{"lets_encrypt", "digicert"},
		DNS: delegated{"fw01.example.com": true}, Ready: func(context.Context) error { return ready }}
	srv := api.NewCheckedServer(t, s.Handler())
	defer srv.Close()
	dev, _ := tk.Issue(&ottr.User{Username: "dev", Role: ottr.RoleDeveloper})
	do := func(method, path, body string) (int, string) {
		code, b, _ := request(t, srv, method, path, body, "Bearer "+dev)
		return code, b
	}
	if code, body := do("GET", "/api/v1/routes", ""); code != 200 || !strings.Contains(body, "otter-panos-9x-lets-encrypt") || !strings.Contains(body, `"hosted_zones"`) {
		t.Errorf("routes: %d %.200s", code, body)
	}
	route, _ := os.ReadFile("../testdata/route.json")
	if code, body := do("POST", "/api/v1/routes/validate", string(route)); code != 200 || !strings.Contains(body, `"valid":true`) {
		t.Errorf("validate good: %d %s", code, body)
	}
	if code, body := do("POST", "/api/v1/routes/validate", `{"platform":{"panos":{"os":{"9.1.0":{"certificate_authority":{"lets_encrypt":5}}}}}}`); code != 400 || !strings.Contains(body, "platform.panos.os.9.1.0") {
		t.Errorf("validate bad: %d %s", code, body)
	}
	if code, body := do("GET", "/api/v1/certificate-authorities", ""); code != 200 || body != `["lets_encrypt","digicert"]`+"\n" && body != `["lets_encrypt","digicert"]` {
		t.Errorf("CAs: %d %q", code, body)
	}
	code, body := do("GET", "/api/v1/assets/fw01.example.com/delegation", "")
	if code != 200 || !strings.Contains(body, `"name":"fw01.example.com","ok":true`) || !strings.Contains(body, `"name":"vpn.example.com","ok":false`) || !strings.Contains(body, "has no CNAME") {
		t.Errorf("delegation: %d %s", code, body)
	}
	if code, body := do("GET", "/readyz", ""); code != 200 || !strings.Contains(body, "ready") {
		t.Errorf("readyz: %d %s", code, body)
	}
	ready = errors.New("database is gone")
	if code, _ := do("GET", "/readyz", ""); code != 503 {
		t.Errorf("readyz while not ready: %d", code)
	}
}

// TestReadyzSaysWhatRotationsLack: a server without a CA or delegate zone
// is ready (its API serves) and says that rotations are off and why.
func TestReadyzSaysWhatRotationsLack(t *testing.T) {
	db := openStore(t)
	tk, _ := api.NewTokens(t.Context(), api.TokenConfig{Secrets: db, Users: db})
	missing := []string{"certificate_authorities: no CA configured", "dns.zones: no delegate zone configured"}
	s := &api.Server{Users: db, Assets: db, Tokens: tk, RotationsState: "off", RotationsMissing: missing}
	srv := api.NewCheckedServer(t, s.Handler())
	defer srv.Close()
	code, body, _ := request(t, srv, "GET", "/readyz", "", "")
	want := `{"status":"ready","rotations":"off","missing":["certificate_authorities: no CA configured","dns.zones: no delegate zone configured"]}`
	if code != 200 || strings.TrimSpace(body) != want {
		t.Errorf("readyz: %d %s\nwant %s", code, body, want)
	}
	s = &api.Server{Users: db, Assets: db, Tokens: tk, RotationsState: "paused"}
	srv2 := api.NewCheckedServer(t, s.Handler())
	defer srv2.Close()
	if code, body, _ := request(t, srv2, "GET", "/readyz", "", ""); code != 200 || strings.TrimSpace(body) != `{"status":"ready","rotations":"paused"}` {
		t.Errorf("readyz paused: %d %s", code, body)
	}
}
