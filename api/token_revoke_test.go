package api_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// TestTokenRevokedByPasswordChange: a token taken before a password change
// (PUT /user/v1/authenticate) is refused after it; a new login works.
func TestTokenRevokedByPasswordChange(t *testing.T) {
	srv, _ := newServer(t)
	do := func(method, path, body, token string) (int, string) {
		code, b, _ := request(t, srv, method, path, body, token)
		return code, b
	}
	old := login(t, do, "admin", "Passw0rd!")
	if code, body := do("GET", "/admin/v1/users", "", old); code != 200 {
		t.Fatalf("before the change: %d %s", code, body)
	}
	if code, body := do("PUT", "/user/v1/authenticate", `{"username":"admin","password":"Passw0rd!","updated_password":"N3w.Passw0rd"}`, ""); code != 204 {
		t.Fatalf("change password: %d %s", code, body)
	}
	if code, body := do("GET", "/admin/v1/users", "", old); code != 401 {
		t.Errorf("token from before the password change: %d %s, want 401", code, body)
	}
	if code, body := do("GET", "/admin/v1/users", "", login(t, do, "admin", "N3w.Passw0rd")); code != 200 {
		t.Errorf("token from after the password change: %d %s", code, body)
	}
}

// TestTokenRevokedByRoleChangeAndDelete: no API route changes a role, so
// the role change goes through the store (as 'ottr user' would) and the
// token through Tokens.Check. Deleting a user, or deleting and making a
// user of the same name again, leaves the old token refused too.
func TestTokenRevokedByRoleChangeAndDelete(t *testing.T) {
	db := openStore(t)
	ctx := t.Context()
	now := time.Now()
	clock := func() time.Time { return now }
	tk, err := api.NewTokens(ctx, api.TokenConfig{Secrets: db, Users: db, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	u := &ottr.User{Username: "alice", Role: ottr.RoleAdmin, PasswordHash: "x"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	now = time.Now() // tokens are issued after their user is created
	tok, _ := tk.Issue(u)
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil || claims["gen"] != float64(0) {
		t.Errorf("issued token's gen claim = %v (%v), want 0", claims["gen"], err)
	}
	if _, err := tk.Check(ctx, "Bearer "+tok); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	if _, err := db.UpdateUser(ctx, "alice", func(u *ottr.User) error { u.Role = ottr.RoleDeveloper; return nil }); err != nil {
		t.Fatal(err)
	}
	if got, err := tk.Check(ctx, "Bearer "+tok); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Errorf("token from before a role change: %+v %v, want EUNAUTHORIZED", got, err)
	}
	u2, _ := db.GetUser(ctx, "alice")
	tok2, _ := tk.Issue(u2)
	if got, err := tk.Check(ctx, "Bearer "+tok2); err != nil || got.Role != ottr.RoleDeveloper {
		t.Errorf("token from after the role change: %+v %v", got, err)
	}

	if err := db.DeleteUser(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Check(ctx, "Bearer "+tok2); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Errorf("deleted user's token: %v", err)
	}
	// A new alice, a second later, is someone else: the old alice's token,
	// of the same generation 0, must not pass as hers.
	now = now.Add(time.Second)
	if err := db.CreateUser(ctx, &ottr.User{Username: "alice", Role: ottr.RoleDeveloper, PasswordHash: "y", Created: now}); err != nil {
		t.Fatal(err)
	}
	if got, err := tk.Check(ctx, "Bearer "+tok2); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Errorf("token of a deleted user, after a user of that name is made again: %+v %v", got, err)
	}
}

// TestOttrTokenWithoutGeneration: tokens signed with an imported Ottr key
// carry no "gen" claim; they are generation 0, valid until the user's
// password or role first changes.
func TestOttrTokenWithoutGeneration(t *testing.T) {
	db := openStore(t)
	ctx := t.Context()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	tk, err := api.NewTokens(ctx, api.TokenConfig{KeyPEM: pemKey, Users: db})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, &ottr.User{Username: "bob", Role: ottr.RolePrivileged, PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	// Exactly Ottr's claims, signed with the imported key.
	ottrTok, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"username": "bob", "role": "PRIVILEGED",
		"iat": time.Now().Unix(), "exp": time.Now().Add(30 * time.Minute).Unix()}).SignedString(key)
	if got, err := tk.Check(ctx, "Bearer "+ottrTok); err != nil || got.Username != "bob" {
		t.Fatalf("Ottr token, generation 0: %+v %v", got, err)
	}
	if _, err := db.UpdateUser(ctx, "bob", func(u *ottr.User) error { u.PasswordHash = "y"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := tk.Check(ctx, "Bearer "+ottrTok); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Errorf("Ottr token after a password change: %v", err)
	}
}
