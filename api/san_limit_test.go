package api_test

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// TestSANLimit: an asset with more subject_alternative_name entries than
// the server's limit is refused on create and update with one 400 problem
// naming the field and the limit, and the store keeps what it had.
func TestSANLimit(t *testing.T) {
	assetWith := func(n int) string {
		sans := make([]string, n)
		for i := range sans {
			sans[i] = fmt.Sprintf("n%d.example.com", i)
		}
		b, _ := json.Marshal(map[string]any{"system_name": "fw01.example.com", "common_name": "fw01.example.com",
			"subject_alternative_name": sans, "certificate_authority": "lets_encrypt", "host_platform": "panos"})
		return string(b)
	}
	refused := func(t *testing.T, srv *httptest.Server, method, body, token, limit string) {
		t.Helper()
		code, resp, _ := request(t, srv, method, "/api/v1/assets", body, token)
		var p struct {
			Errors []struct{ Location, Message string }
		}
		json.Unmarshal([]byte(resp), &p)
		if code != 400 || len(p.Errors) != 1 || p.Errors[0].Location != "subject_alternative_name" || !strings.Contains(p.Errors[0].Message, limit) {
			t.Errorf("%s: %d %.300s; want 400 with one problem on subject_alternative_name giving the limit %s", method, code, resp, limit)
		}
	}
	t.Run("configured", func(t *testing.T) {
		db := openStore(t)
		hash, _ := api.HashPassword("Passw0rd!")
		if err := db.CreateUser(t.Context(), &ottr.User{Username: "admin", Role: ottr.RoleAdmin, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
		tk, err := api.NewTokens(t.Context(), api.TokenConfig{Secrets: db, Users: db})
		if err != nil {
			t.Fatal(err)
		}
		srv := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, Audit: db, Version: "test",
			Limits: ottr.AssetLimits{MaxSANs: 3}}).Handler())
		t.Cleanup(srv.Close)
		admin := login(t, func(m, p, b, tok string) (int, string) { c, body, _ := request(t, srv, m, p, b, tok); return c, body }, "admin", "Passw0rd!")

		refused(t, srv, "POST", assetWith(4), admin, "3")
		if code, resp, _ := request(t, srv, "POST", "/api/v1/assets", assetWith(3), admin); code != 201 {
			t.Fatalf("at the limit: %d %.300s", code, resp)
		}
		refused(t, srv, "PUT", assetWith(4), admin, "3")
		a, err := db.GetAsset(t.Context(), "fw01.example.com")
		if err != nil || len(a.SubjectAlternativeName) != 3 {
			t.Errorf("stored asset after the refused update: %v, %v", a, err)
		}
	})
	t.Run("default", func(t *testing.T) {
		srv, _ := newServer(t)
		admin := login(t, func(m, p, b, tok string) (int, string) { c, body, _ := request(t, srv, m, p, b, tok); return c, body }, "admin", "Passw0rd!")
		refused(t, srv, "POST", assetWith(ottr.DefaultMaxSANs+1), admin, "100")
	})
}
