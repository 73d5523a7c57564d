package api_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/internal/storetest"
	"github.com/ottr-dev/ottr/store"
)

func openStore(t *testing.T) *store.DB { return storetest.Open(t) }

func TestTokens(t *testing.T) {
	db := openStore(t)
	ctx := t.Context()
	now := time.Now()
	clock := func() time.Time { return now }
	u := &ottr.User{Username: "alice", Role: ottr.RolePrivileged, PasswordHash: "x"}
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	tk, err := api.NewTokens(ctx, api.TokenConfig{Secrets: db, Users: db, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tk.Issue(u)
	if err != nil {
		t.Fatal(err)
	}
	// Ottr's claims.
	var c api.Claims
	jwt.NewParser().ParseUnverified(tok, &c)
	if c.Username != "alice" || c.Role != ottr.RolePrivileged || c.ExpiresAt.Sub(c.IssuedAt.Time) != 30*time.Minute {
		t.Errorf("claims %+v", c)
	}
	for _, form := range []string{"Bearer " + tok, "bearer  " + tok, "BEARER " + tok} {
		got, err := tk.Check(ctx, form)
		if err != nil || got.Username != "alice" {
			t.Errorf("Check(%.12s…): %v", form, err)
		}
	}
	// Ottr refused a header without the scheme (its
	// test_authentication_no_bearer_header asserts 401), and so do we.
	for _, form := range []string{tok, "Token " + tok, "Bearer" + tok, "Bearer", ""} {
		if got, err := tk.Check(ctx, form); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
			t.Errorf("Check(%.12s…) = %+v, %v; want EUNAUTHORIZED", form, got, err)
		}
	}
	// The signing key was generated once and is kept sealed: a second
	// instance (another replica) accepts the same token.
	tk2, _ := api.NewTokens(ctx, api.TokenConfig{Secrets: db, Users: db, Now: clock})
	if _, err := tk2.Check(ctx, "Bearer "+tok); err != nil {
		t.Errorf("second instance: %v", err)
	}
	// Demotion is seen at once: the token from before it is revoked.
	db.UpdateUser(ctx, "alice", func(u *ottr.User) error { u.Role = ottr.RoleDeveloper; return nil })
	if got, err := tk.Check(ctx, "Bearer "+tok); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Errorf("token from before a demotion: %+v %v, want EUNAUTHORIZED", got, err)
	}
	// Deletion too.
	db.DeleteUser(ctx, "alice")
	if _, err := tk.Check(ctx, "Bearer "+tok); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Errorf("deleted user: %v", err)
	}
	db.CreateUser(ctx, &ottr.User{Username: "alice", Role: ottr.RoleAdmin, PasswordHash: "x"})

	// Expired.
	later := func() time.Time { return now.Add(31 * time.Minute) }
	old, _ := api.NewTokens(ctx, api.TokenConfig{Secrets: db, Users: db, Now: later})
	if _, err := old.Check(ctx, "Bearer "+tok); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: %v", err)
	}
	// alg "none", HS256 with the public key as secret, another RSA key, garbage.
	none, _ := jwt.NewWithClaims(jwt.SigningMethodNone, api.Claims{Username: "alice", Role: ottr.RoleAdmin,
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}).SignedString(jwt.UnsafeAllowNoneSignatureType)
	hs, _ := jwt.NewWithClaims(jwt.SigningMethodHS256, api.Claims{Username: "alice", Role: ottr.RoleAdmin,
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}).SignedString([]byte("secret"))
	other, _ := rsa.GenerateKey(rand.Reader, 2048)
	forged, _ := jwt.NewWithClaims(jwt.SigningMethodRS256, api.Claims{Username: "alice", Role: ottr.RoleAdmin,
		RegisteredClaims: jwt.RegisteredClaims{ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))}}).SignedString(other)
	for name, bad := range map[string]string{"none": none, "HS256": hs, "other key": forged, "garbage": "a.b.c", "empty": "Bearer "} {
		if !strings.HasPrefix(bad, "Bearer ") {
			bad = "Bearer " + bad
		}
		if _, err := tk.Check(ctx, bad); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
			t.Errorf("%s: %v", name, err)
		}
	}

	// An existing deployment's PEM key keeps its tokens valid.
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(other)})
	imported, err := api.NewTokens(ctx, api.TokenConfig{KeyPEM: pemKey, Users: db, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := imported.Check(ctx, "Bearer "+forged); err != nil || got.Role != ottr.RoleAdmin {
		t.Errorf("token of the imported key: %v", err)
	}
	if _, err := api.NewTokens(ctx, api.TokenConfig{KeyPEM: []byte("nope"), Users: db}); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("bad PEM: %v", err)
	}
}
