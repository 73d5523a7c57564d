package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

func TestRotationsEndpoints(t *testing.T) {
	db := openStore(t)
	ctx := t.Context()
	db.CreateUser(ctx, &ottr.User{Username: "dev", Role: ottr.RoleDeveloper, PasswordHash: "x"})
	db.CreateUser(ctx, &ottr.User{Username: "ops", Role: ottr.RolePrivileged, PasswordHash: "x"})
	for _, n := range []string{"a.example.com", "b.example.com", "c.example.com"} {
		db.CreateAsset(ctx, &ottr.Asset{SystemName: n, CommonName: n, CertificateAuthority: "lets_encrypt", HostPlatform: "panos"})
		r := &ottr.Rotation{SystemName: n, State: ottr.StateQueued, CSR: "-----BEGIN CERTIFICATE REQUEST-----"}
		db.CreateRotation(ctx, r)
		db.AppendRotationLog(ctx, r.ID, ottr.LogLine{Level: "info", Message: "queued by test"})
	}
	tk, _ := api.NewTokens(ctx, api.TokenConfig{Secrets: db, Users: db})
	srv := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, RotationStore: db}).Handler())
	defer srv.Close()
	dev, _ := tk.Issue(&ottr.User{Username: "dev", Role: ottr.RoleDeveloper})
	ops, _ := tk.Issue(&ottr.User{Username: "ops", Role: ottr.RolePrivileged})
	do := func(method, path, tok string) (int, string, http.Header) {
		return request(t, srv, method, path, "", "Bearer "+tok)
	}
	code, body, h := do("GET", "/api/v1/rotations?limit=2", dev)
	var rs []ottr.Rotation
	json.Unmarshal([]byte(body), &rs)
	if code != 200 || len(rs) != 2 || !strings.Contains(h.Get("Link"), `rel="next"`) || strings.Contains(body, "CERTIFICATE REQUEST") {
		t.Fatalf("list: %d %s %v", code, body, h)
	}
	code, body, _ = do("GET", "/api/v1/rotations/"+rs[0].ID, dev)
	if code != 200 || !strings.Contains(body, "queued by test") {
		t.Errorf("get: %d %s", code, body)
	}
	if code, _, _ := do("GET", "/api/v1/rotations/nope", dev); code != 404 {
		t.Errorf("absent: %d", code)
	}
	if code, _, _ := do("POST", "/api/v1/rotations/"+rs[0].ID+"/cancel", dev); code != 403 {
		t.Errorf("developer cancels: %d", code)
	}
	code, body, _ = do("POST", "/api/v1/rotations/"+rs[0].ID+"/cancel", ops)
	if code != 200 || !strings.Contains(body, `"state":"canceled"`) || !strings.Contains(body, "canceled by ops") {
		t.Errorf("cancel: %d %s", code, body)
	}
	if code, _, _ := do("POST", "/api/v1/rotations/"+rs[0].ID+"/cancel", ops); code != 409 {
		t.Errorf("cancel twice: %d", code)
	}
	if code, _, _ := do("GET", "/api/v1/rotations?state=bogus", dev); code != 400 {
		t.Errorf("bad state: %d", code)
	}
}
