package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// TestLogoutRevokesOneToken: signing out refuses that token at once, on
// any server sharing the database, and leaves the user's other tokens
// working; signing out again with it is a 401. A token without an ID
// (Airbnb Ottr's) cannot be revoked alone and says so; a server without a
// revocation store answers 503.
func TestLogoutRevokesOneToken(t *testing.T) {
	db := openStore(t)
	key := rbacKeys()[0]
	hash, _ := api.HashPassword("Passw0rd!")
	if err := db.CreateUser(t.Context(), &ottr.User{Username: "alice", Role: ottr.RoleDeveloper, PasswordHash: hash, Created: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tk, err := api.NewTokens(t.Context(), api.TokenConfig{KeyPEM: key, Users: db, Revocations: db})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, Audit: db, Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	// A second replica: its own Tokens over the same database.
	tk2, _ := api.NewTokens(t.Context(), api.TokenConfig{KeyPEM: key, Users: db, Revocations: db})
	srv2 := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk2, Audit: db, Version: "test"}).Handler())
	t.Cleanup(srv2.Close)
	do := func(method, path, body, token string) (int, string) {
		code, b, _ := request(t, srv, method, path, body, token)
		return code, b
	}
	one, two := login(t, do, "alice", "Passw0rd!"), login(t, do, "alice", "Passw0rd!")
	if one == two {
		t.Fatal("two logins gave the same token")
	}
	if code, body := do("POST", "/user/v1/logout", "", one); code != 204 {
		t.Fatalf("logout: %d %s", code, body)
	}
	for _, s := range []string{"this server", "another replica"} {
		target := srv
		if s == "another replica" {
			target = srv2
		}
		if code, body, _ := request(t, target, "GET", "/api/v1/search", "", one); code != 401 || !strings.Contains(body, "signed out") {
			t.Errorf("signed-out token on %s: %d %s, want 401 saying signed out", s, code, body)
		}
	}
	if code, body := do("GET", "/api/v1/search", "", two); code != 200 {
		t.Errorf("the user's other token: %d %s", code, body)
	}
	if code, _ := do("POST", "/user/v1/logout", "", one); code != 401 {
		t.Errorf("second logout with a revoked token: %d, want 401", code)
	}
	if ev, _, _ := db.FindEvents(t.Context(), ottr.EventFilter{Action: "user.logout"}); len(ev) != 1 || ev[0].Actor != "alice" {
		t.Errorf("audit: %+v", ev)
	}

	k, _ := jwt.ParseRSAPrivateKeyFromPEM(key)
	now := time.Now()
	ottrToken, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"username": "alice", "role": "DEVELOPER", "iat": now.Unix(), "exp": now.Add(time.Minute).Unix()}).SignedString(k)
	if code, body := do("POST", "/user/v1/logout", "", "Bearer "+ottrToken); code != 400 || !strings.Contains(body, "jti") {
		t.Errorf("logout with an Ottr token: %d %s, want 400 naming jti", code, body)
	}

	plain, _ := newServer(t)
	doPlain := func(method, path, body, token string) (int, string) {
		code, b, _ := request(t, plain, method, path, body, token)
		return code, b
	}
	if code, body := doPlain("POST", "/user/v1/logout", "", login(t, doPlain, "admin", "Passw0rd!")); code != 503 {
		t.Errorf("logout without a revocation store: %d %s, want 503", code, body)
	}
}
