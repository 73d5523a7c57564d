package api_test

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/internal/testtool"
	"github.com/ottr-dev/ottr/store"
)

// ottrMinted is a password hash and a token made by Ottr's own code path
// (testdata/ottr_mint.py, with Python's bcrypt and PyJWT).
type ottrMinted struct{ Hash, Token string }

func mintOttr(t *testing.T, keyPEM []byte, username, role, password string, cost ...string) ottrMinted {
	t.Helper()
	py := testtool.NeedPython(t, "bcrypt", "python3-bcrypt")
	testtool.NeedPython(t, "jwt", "python3-jwt")
	keyFile := filepath.Join(t.TempDir(), "private_key.pem")
	if err := os.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.CommandContext(t.Context(), py, append([]string{"testdata/ottr_mint.py", keyFile, username, role, password}, cost...)...).Output()
	if err != nil {
		t.Fatalf("ottr_mint.py: %v", err)
	}
	var m ottrMinted
	if err := json.Unmarshal(out, &m); err != nil || !strings.HasPrefix(m.Hash, "$2b$") || strings.Count(m.Token, ".") != 2 {
		t.Fatalf("ottr_mint.py gave %q (%v)", out, err)
	}
	return m
}

// TestOttrUsersAndTokensCarryOver: a user moved over from Ottr with the
// bcrypt hash Ottr stored logs in with their password; the login replaces
// the hash with Argon2id without revoking their tokens, so the token Ottr
// issued them (signed with Ottr's key, which the server was given) keeps
// working beside ours.
func TestOttrUsersAndTokensCarryOver(t *testing.T) {
	keyPEM := rbacKeys()[0]
	m := mintOttr(t, keyPEM, "Alice", "PRIVILEGED", "Passw0rd!") // Ottr's cost, 14
	if !strings.HasPrefix(m.Hash, "$2b$14$") {
		t.Fatalf("hash %.7s…, want Ottr's $2b$14$", m.Hash)
	}
	db := openStore(t)
	ctx := t.Context()
	// Ottr's timestamp column: the user was made before Ottr issued the token.
	created := time.Now().Add(-24 * time.Hour).UTC().Truncate(time.Second)
	if err := db.CreateUser(ctx, &ottr.User{Username: "Alice", Role: ottr.RolePrivileged, PasswordHash: m.Hash, Created: created}); err != nil {
		t.Fatal(err)
	}
	tk, err := api.NewTokens(ctx, api.TokenConfig{KeyPEM: keyPEM, Users: db})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServerWith(t, db, tk)
	search := func(auth string) int {
		code, _, _ := request(t, srv, "GET", "/api/v1/search?system_name=example.com", "", auth)
		return code
	}
	if code := search("Bearer " + m.Token); code != 200 {
		t.Fatalf("Ottr-issued token: %d, want 200", code)
	}
	// Ottr's test_api_authorization.py: no "Bearer ", or an empty header, is 401.
	for _, auth := range []string{m.Token, " "} {
		if code := search(auth); code != 401 {
			t.Errorf("Authorization %.10q: %d, want 401", auth, code)
		}
	}

	if code, _, _ := call(t, srv, "POST", "/user/v1/authenticate", `{"username":"alice","password":"Passw0rd?"}`); code != 401 {
		t.Errorf("wrong password against Ottr's hash: %d, want 401", code)
	}
	if u, _ := db.GetUser(ctx, "alice"); u.PasswordHash != m.Hash {
		t.Errorf("a failed login changed the hash")
	}
	code, body, _ := call(t, srv, "POST", "/user/v1/authenticate", `{"username":"alice","password":"Passw0rd!"}`)
	var out struct{ Token string }
	if json.Unmarshal([]byte(body), &out); code != 200 || !strings.HasPrefix(out.Token, "Bearer ") {
		t.Fatalf("login with Ottr's hash: %d %s", code, body)
	}
	u, err := db.GetUser(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u.PasswordHash, "$argon2id$") || !api.VerifyPassword(u.PasswordHash, "Passw0rd!") {
		t.Errorf("hash after the first login: %.20q, want an Argon2id hash of the same password", u.PasswordHash)
	}
	if u.TokenGeneration != 0 || !u.Created.Equal(created) {
		t.Errorf("after the upgrade: generation %d, created %v; want 0 and %v", u.TokenGeneration, u.Created, created)
	}
	if code := search("Bearer " + m.Token); code != 200 {
		t.Errorf("Ottr-issued token after the hash upgrade: %d, want 200", code)
	}
	if code := search(out.Token); code != 200 {
		t.Errorf("our token: %d, want 200", code)
	}
	if code, _, _ := call(t, srv, "POST", "/user/v1/authenticate", `{"username":"alice","password":"Passw0rd!"}`); code != 200 {
		t.Errorf("second login, on the Argon2id hash: %d", code)
	}
	// A real password change still revokes every earlier token, Ottr's too.
	if code, body, _ := call(t, srv, "PUT", "/user/v1/authenticate", `{"username":"alice","password":"Passw0rd!","updated_password":"N3w.Passw0rd"}`); code != 204 {
		t.Fatalf("password change: %d %s", code, body)
	}
	if code := search("Bearer " + m.Token); code != 401 {
		t.Errorf("Ottr-issued token after a password change: %d, want 401", code)
	}
}

// TestOttrBcryptLongPassword: bcrypt reads 72 bytes of a password; Ottr's
// hashes of longer ones verify as Python's bcrypt verified them.
func TestOttrBcryptLongPassword(t *testing.T) {
	long := strings.Repeat("Aa1.", 20) // 80 bytes
	m := mintOttr(t, rbacKeys()[0], "bob", "DEVELOPER", long, "4")
	if !api.VerifyPassword(m.Hash, long) || !api.VerifyPassword(m.Hash, long[:72]+"zzz") {
		t.Error("Ottr's hash of an 80-byte password refused it (bcrypt reads 72 bytes)")
	}
	if api.VerifyPassword(m.Hash, long[:71]) || api.VerifyPassword(m.Hash, "") {
		t.Error("Ottr's hash accepted a different password")
	}
}

func newServerWith(t *testing.T, db *store.DB, tk *api.Tokens) *httptest.Server {
	t.Helper()
	srv := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, Audit: db, Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	return srv
}

// TestOttrAuthorizationCases are Ottr's api/backend/tests/
// test_api_authorization.py cases, each a 401: a token without exp,
// without username, expired, signed with another key, without the Bearer
// scheme, and an empty header.
func TestOttrAuthorizationCases(t *testing.T) {
	keys := rbacKeys()
	key, _ := jwt.ParseRSAPrivateKeyFromPEM(keys[0])
	other, _ := jwt.ParseRSAPrivateKeyFromPEM(keys[1])
	db := openStore(t)
	if err := db.CreateUser(t.Context(), &ottr.User{Username: "admin", Role: ottr.RoleAdmin, PasswordHash: "x", Created: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	tk, err := api.NewTokens(t.Context(), api.TokenConfig{KeyPEM: keys[0], Users: db})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServerWith(t, db, tk)
	now := time.Now()
	sign := func(k any, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	good := sign(key, jwt.MapClaims{"username": "admin", "role": "ADMIN", "iat": now.Unix(), "exp": now.Add(30 * time.Minute).Unix()})
	if code, body, _ := request(t, srv, "GET", "/api/v1/search?system_name=example.com", "", "Bearer "+good); code != 200 {
		t.Fatalf("Ottr's ADMIN token: %d %s", code, body)
	}
	for name, auth := range map[string]string{
		"no expiration":       "Bearer " + sign(key, jwt.MapClaims{"username": "admin", "role": "ADMIN", "iat": now.Unix()}),
		"no username":         "Bearer " + sign(key, jwt.MapClaims{"role": "ADMIN", "iat": now.Unix(), "exp": now.Add(30 * time.Minute).Unix()}),
		"expired":             "Bearer " + sign(key, jwt.MapClaims{"username": "admin", "role": "ADMIN", "iat": now.Add(-time.Hour).Unix(), "exp": now.Add(-30 * time.Minute).Unix()}),
		"invalid private key": "Bearer " + sign(other, jwt.MapClaims{"username": "admin", "role": "ADMIN", "iat": now.Unix(), "exp": now.Add(30 * time.Minute).Unix()}),
		"no bearer header":    good,
		"empty header":        "",
	} {
		code, body, h := request(t, srv, "GET", "/api/v1/search?system_name=example.com", "", auth)
		if code != 401 || !strings.Contains(h.Get("Content-Type"), "problem+json") {
			t.Errorf("%s: %d %s, want 401 problem+json", name, code, body)
		}
	}
}
