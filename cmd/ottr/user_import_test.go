package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/internal/testtool"
	"github.com/ottr-dev/ottr/store"
)

// ottrMint runs api/testdata/ottr_mint.py: a bcrypt hash and a login
// token made with the libraries and calls Ottr's API used.
func ottrMint(t *testing.T, keyFile, username, role, password, cost string) (hash, token string) {
	t.Helper()
	py := testtool.NeedPython(t, "bcrypt", "python3-bcrypt")
	testtool.NeedPython(t, "jwt", "python3-jwt")
	out, err := exec.CommandContext(t.Context(), py, "../../api/testdata/ottr_mint.py", keyFile, username, role, password, cost).Output()
	if err != nil {
		t.Fatalf("ottr_mint.py: %v", err)
	}
	var m struct{ Hash, Token string }
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m.Hash, m.Token
}

// TestUserImportFromOttr imports Ottr's user table as psql's json_agg
// gives it, with hashes and a token made as Ottr made them; the server,
// given Ottr's signing key by api.token_signing_key, accepts the token and
// each user's old password.
func TestUserImportFromOttr(t *testing.T) {
	dir := t.TempDir()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyFile := filepath.Join(dir, "otter-private_key.pem")
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600)
	aliceHash, aliceToken := ottrMint(t, keyFile, "Alice", "ADMIN", "Al1ce.Passw0rd", "14") // Ottr's cost
	bobHash, _ := ottrMint(t, keyFile, "bob", "DEVELOPER", "B0b!Passw0rd", "4")
	cfg := filepath.Join(dir, "ottr.yaml")
	os.WriteFile(cfg, []byte("api:\n  token_signing_key: "+keyFile+"\n"), 0o600)

	rows, _ := json.Marshal([]map[string]any{
		{"username": "Alice", "password": aliceHash, "role": "ADMIN", "timestamp": "2021-11-02T20:41:55.123456"},
		{"username": "bob", "password": bobHash, "role": "DEVELOPER", "timestamp": "2021-11-03 08:00:00"},
	})
	file := filepath.Join(dir, "ottr-users.json")
	os.WriteFile(file, rows, 0o600)
	c := newCLI(t)
	if _, errs, err := c.run("", "--config", cfg, "user", "import", file); err != nil {
		t.Fatalf("user import: %v\n%s", err, errs)
	}
	db, err := store.Open(t.Context(), store.Config{DataDir: c.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	for name, want := range map[string]ottr.User{
		"alice": {Role: ottr.RoleAdmin, PasswordHash: aliceHash, Created: time.Date(2021, 11, 2, 20, 41, 55, 123e6, time.UTC)},
		"bob":   {Role: ottr.RoleDeveloper, PasswordHash: bobHash, Created: time.Date(2021, 11, 3, 8, 0, 0, 0, time.UTC)},
	} {
		u, err := db.GetUser(t.Context(), name)
		if err != nil || u.Username != name || u.Role != want.Role || u.PasswordHash != want.PasswordHash || !u.Created.Equal(want.Created) {
			t.Errorf("imported %s: %+v %v; want role %s, Ottr's hash, created %v", name, u, err, want.Role, want.Created)
		}
	}

	// The server as 'ottr serve' sets it up from the configuration.
	conf, err := loadConfig(cfg, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	tc, err := conf.API.tokenConfig(db, db)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := api.NewTokens(t.Context(), tc)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer((&api.Server{Users: db, Assets: db, Tokens: tk, Audit: db, Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	do := func(method, path, body, auth string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do("GET", "/admin/v1/users", "", "Bearer "+aliceToken); code != 200 ||
		!strings.Contains(body, `{"username":"alice","role":"ADMIN","timestamp":"2021-11-02T20:41:55Z"}`) || !strings.Contains(body, `"username":"bob"`) {
		t.Errorf("Ottr-issued token, listing users: %d %s", code, body)
	}
	if code, _ := do("POST", "/user/v1/authenticate", `{"username":"bob","password":"B0b!Passw0rd"}`, ""); code != 200 {
		t.Errorf("bob's Ottr password: %d", code)
	}
	if u, _ := db.GetUser(t.Context(), "bob"); !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Errorf("bob's hash after login: %.10s…, want Argon2id", u.PasswordHash)
	}

	// Again: both exist now.
	_, errs, err := c.run("", "--config", cfg, "user", "import", file)
	if ottr.ErrorCode(err) != ottr.ECONFLICT || !strings.Contains(errs, "alice, bob") {
		t.Errorf("second import: %v\n%s", err, errs)
	}
	if _, errs, err := c.run("", "--config", cfg, "user", "import", file, "--skip-existing"); err != nil || !strings.Contains(errs, "imported 0 user(s)") {
		t.Errorf("--skip-existing: %v\n%s", err, errs)
	}
}

// TestUserImportFormatsAndBadRows: CSV and DynamoDB forms of the table
// import the same users; bad rows are named by position and column,
// nothing is imported, and no password or hash is shown.
func TestUserImportFormatsAndBadRows(t *testing.T) {
	hash := "$2b$04$" + strings.Repeat("A", 53) // the shape of a bcrypt hash
	hash2 := "$2b$14$" + strings.Repeat("B", 53)
	forms := map[string]string{
		"csv": "username,password,role,timestamp\ncarol," + hash + ",PRIVILEGED,2022-01-05 10:00:00.5\nDave," + hash2 + ",developer,\n",
		"dynamodb": fmt.Sprintf(`{"Items":[{"username":{"S":"carol"},"password":{"S":%q},"role":{"S":"PRIVILEGED"},"timestamp":{"S":"2022-01-05T10:00:00.5+00:00"}},
{"username":{"S":"Dave"},"password":{"S":%q},"role":{"S":"DEVELOPER"},"timestamp":{"NULL":true}}],"Count":2}`, hash, hash2),
		"jsonl": fmt.Sprintf("{\"Item\":{\"username\":{\"S\":\"carol\"},\"password\":{\"S\":%q},\"role\":{\"S\":\"PRIVILEGED\"},\"timestamp\":{\"S\":\"2022-01-05 10:00:00.5\"}}}\n{\"username\":\"Dave\",\"password\":%q,\"role\":\"DEVELOPER\",\"timestamp\":null}\n", hash, hash2),
	}
	for name, in := range forms {
		t.Run(name, func(t *testing.T) {
			c := newCLI(t)
			start := time.Now()
			if _, errs, err := c.run(in, "user", "import", "-"); err != nil {
				t.Fatalf("%v\n%s", err, errs)
			}
			db, err := store.Open(t.Context(), store.Config{DataDir: c.dataDir})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			carol, err1 := db.GetUser(t.Context(), "carol")
			dave, err2 := db.GetUser(t.Context(), "dave")
			if err1 != nil || err2 != nil || carol.Role != ottr.RolePrivileged || carol.PasswordHash != hash ||
				!carol.Created.Equal(time.Date(2022, 1, 5, 10, 0, 0, 5e8, time.UTC)) || dave.Role != ottr.RoleDeveloper || dave.PasswordHash != hash2 {
				t.Fatalf("imported %+v %+v (%v %v)", carol, dave, err1, err2)
			}
			// No timestamp: dated a token lifetime back, so Ottr's live tokens pass.
			if d := start.Sub(dave.Created); d < 29*time.Minute || d > 31*time.Minute {
				t.Errorf("dave, without a timestamp, created %v before the import; want 30m", d)
			}
		})
	}

	c := newCLI(t)
	bad := "username,password,role,timestamp\n" +
		"erin," + hash + ",ADMIN,2022-01-01 00:00:00\n" +
		"frank,S3cret.Passw0rd,ADMIN,2022-01-01 00:00:00\n" +
		"grace," + hash + ",ROOT,2022-01-01 00:00:00\n" +
		"ERIN," + hash + ",DEVELOPER,2022-01-01 00:00:00\n" +
		"heidi," + hash + ",DEVELOPER,yesterday\n" +
		"bad name," + hash + ",DEVELOPER,\n"
	_, errs, err := c.run(bad, "user", "import", "-")
	if ottr.ErrorCode(err) != ottr.EINVALID {
		t.Fatalf("bad rows: %v\n%s", err, errs)
	}
	for _, want := range []string{"line 3: password: is not a bcrypt hash", "line 4: role:", `line 5: username: "erin" appears again (first at line 2)`,
		`line 6: timestamp: "yesterday"`, `line 7: username: "bad name"`, "5 invalid row(s); nothing imported"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "S3cret") || strings.Contains(errs, "AAAA") {
		t.Errorf("stderr shows a password or hash:\n%s", errs)
	}
	if out := c.ok("user", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("a file with bad rows imported users: %s", out)
	}
	if _, errs, err := c.run(bad, "user", "import", "-", "--skip-invalid"); err != nil || !strings.Contains(errs, "imported 1 user(s)") {
		t.Errorf("--skip-invalid: %v\n%s", err, errs)
	}
	if _, errs, err := c.run("name,pw\nx,y\n", "user", "import", "-"); err == nil || !strings.Contains(errs, `no "username" column`) {
		t.Errorf("CSV without the columns: %v\n%s", err, errs)
	}
}

// TestTokenSigningKeyConfig: a key file that cannot sign is refused by
// 'ottr config check', naming the key and the file, not its content.
func TestTokenSigningKeyConfig(t *testing.T) {
	dir := t.TempDir()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	files := map[string][]byte{
		"public.pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}),
		"junk.pem":   []byte("not a key"),
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		os.WriteFile(path, content, 0o600)
		cfg := filepath.Join(dir, name+".yaml")
		os.WriteFile(cfg, []byte("api:\n  token_signing_key: "+path+"\n"), 0o600)
		c := newCLI(t)
		_, errs, err := c.run("", "--config", cfg, "config", "check")
		if exitCode(err) != 2 || !strings.Contains(errs, "api.token_signing_key") || !strings.Contains(errs, path) {
			t.Errorf("%s: exit %d\n%s", name, exitCode(err), errs)
		}
	}
	c := newCLI(t)
	_, errs, err := c.run("", "--config", writeConfig(t, "api:\n  token_signing_key: "+filepath.Join(dir, "absent.pem")+"\n"), "config", "check")
	if exitCode(err) != 2 || !strings.Contains(errs, "absent.pem: cannot read it") {
		t.Errorf("absent key file: exit %d\n%s", exitCode(err), errs)
	}
	good := filepath.Join(dir, "good.pem")
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(good, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	c.env["OTTR_API_TOKEN_SIGNING_KEY"] = good
	if out, errs, err := c.run("", "config", "check"); err != nil || !strings.Contains(out, "config OK") {
		t.Errorf("PKCS#8 key from OTTR_API_TOKEN_SIGNING_KEY: %v\n%s", err, errs)
	}
}
