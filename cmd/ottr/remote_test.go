package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestCLIThroughServer bootstraps an ADMIN in the database, starts
// 'ottr serve', logs in, and drives asset, user, rotations and rotate
// commands through the API with no database named on the command line.
func TestCLIThroughServer(t *testing.T) {
	srv := newCLI(t)
	if _, stderr, err := srv.run("Adm1n.Passw0rd\n", "user", "create", "--username", "admin", "--role", "ADMIN", "--password-stdin"); err != nil {
		t.Fatalf("bootstrap: %v %s", err, stderr)
	}
	// A CA the server never reaches: no rotation gets that far here.
	url := serveUnreachableCA(t, srv)

	home := t.TempDir()
	env := map[string]string{"HOME": home}
	cl := func(stdin string, args ...string) (string, string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
		return out.String(), errb.String(), err
	}
	must := func(args ...string) string {
		t.Helper()
		out, stderr, err := cl("", args...)
		if err != nil {
			t.Fatalf("ottr %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		return out
	}

	// A named server without a token is refused, with what to do; it
	// never falls back to a local database.
	if _, stderr, err := cl("", "--server", url, "asset", "list"); exitCode(err) != 3 || !strings.Contains(stderr, "ottr login --server "+url) {
		t.Errorf("no token: exit %d %s", exitCode(err), stderr)
	}
	if _, stderr, err := cl("nope\n", "login", "--server", url, "-u", "admin", "--password-stdin"); exitCode(err) != 3 || !strings.Contains(stderr, "Authentication") && !strings.Contains(stderr, "password") {
		t.Errorf("wrong password: exit %d %s", exitCode(err), stderr)
	}
	if _, stderr, err := cl("Adm1n.Passw0rd\n", "login", "--server", url, "-u", "admin", "--password-stdin"); err != nil {
		t.Fatalf("login: %v %s", err, stderr)
	}
	sess := filepath.Join(home, ".config", "ottr", "session.json")
	st, err := os.Stat(sess)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("session file: %v %v", st, err)
	}
	if b, _ := os.ReadFile(sess); !strings.Contains(string(b), `"token": "Bearer ey`) || strings.Contains(string(b), "Passw0rd") {
		t.Errorf("session file holds %s", b)
	}

	// From here on no database or server is named: the session decides.
	must("asset", "add", "fw01.example.com", "--platform", "panos", "--os", "9.1.0", "--model", "PA-XXXX", "--ca", "lets_encrypt", "--ip", "10.0.0.1")
	var a ottr.Asset
	json.Unmarshal([]byte(must("asset", "get", "FW01.example.com", "-o", "json")), &a)
	if a.Origin != ottr.OriginAPI || a.IPAddress != "10.0.0.1" {
		t.Errorf("asset through the API: %+v", a)
	}
	// The server validates against its route table.
	if _, stderr, err := cl("", "asset", "add", "sw01.example.com", "--platform", "cisco", "--ca", "lets_encrypt"); exitCode(err) != 1 || !strings.Contains(stderr, "host_platform") {
		t.Errorf("unknown platform: exit %d %s", exitCode(err), stderr)
	}
	must("asset", "update", "fw01.example.com", "--ip", "10.0.0.2", "--certificate-validation", "False", "--label", "team=netops")
	json.Unmarshal([]byte(must("asset", "get", "fw01.example.com", "-o", "json")), &a)
	if a.IPAddress != "10.0.0.2" || bool(a.CertificateValidation) || a.Labels["team"] != "netops" {
		t.Errorf("update through the API: %+v", a)
	}
	if _, stderr, err := cl("", "asset", "update", "fw01.example.com", "--ca", "digicert"); exitCode(err) != 1 || !strings.Contains(stderr, "certificate_authority") {
		t.Errorf("CA change: exit %d %s", exitCode(err), stderr)
	}
	var list []ottr.Asset
	json.Unmarshal([]byte(must("asset", "list", "--host-platform", "panos", "-o", "json")), &list)
	if len(list) != 1 {
		t.Errorf("list: %+v", list)
	}
	if out := must("asset", "export", "--format", "csv"); !strings.Contains(out, "fw01.example.com") {
		t.Errorf("export: %s", out)
	}
	if _, stderr, err := cl("", "asset", "import", "testdata/otter-scan.json"); exitCode(err) != 2 || !strings.Contains(stderr, "--data-dir") {
		t.Errorf("import through a server: exit %d %s", exitCode(err), stderr)
	}
	if _, stderr, err := cl("Dev.Passw0rd1\n", "user", "add", "dev", "--role", "DEVELOPER"); err != nil {
		t.Fatalf("user add: %v %s", err, stderr)
	}
	var users []ottr.User
	json.Unmarshal([]byte(must("user", "list", "-o", "json")), &users)
	if len(users) != 2 {
		t.Errorf("users: %+v", users)
	}
	if out := must("rotations", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("rotations: %s", out)
	}
	// The server refuses to queue what cannot work, and says why.
	if _, stderr, err := cl("", "rotate", "fw01.example.com"); exitCode(err) != exitUnavailable || !strings.Contains(stderr, "_acme-challenge.fw01.example.com") {
		t.Errorf("rotate with the resolver down: exit %d %q", exitCode(err), stderr)
	}
	must("asset", "delete", "fw01.example.com")
	if _, _, err := cl("", "asset", "get", "fw01.example.com"); exitCode(err) != 4 {
		t.Errorf("get deleted: exit %d", exitCode(err))
	}
	// The server's database really holds what the API wrote; a named data
	// directory keeps a command local even with a session.
	if u := srv.ok("user", "list", "-o", "json"); !strings.Contains(u, `"dev"`) {
		t.Errorf("server database: %s", u)
	}
	if out := must("--data-dir", t.TempDir(), "user", "list", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("--data-dir went to the server: %s", out)
	}

	// A token the server no longer accepts: exit 3 and what to do.
	b, _ := os.ReadFile(sess)
	os.WriteFile(sess, bytes.Replace(b, []byte("Bearer ey"), []byte("Bearer xx"), 1), 0o600)
	if _, stderr, err := cl("", "asset", "list"); exitCode(err) != 3 || !strings.Contains(stderr, "log in again") {
		t.Errorf("bad token: exit %d %s", exitCode(err), stderr)
	}
	os.Chmod(sess, 0o644)
	if _, stderr, err := cl("", "asset", "list"); err == nil || !strings.Contains(stderr, "chmod 600") {
		t.Errorf("world-readable session: %v %s", err, stderr)
	}
	must("logout")
	if _, err := os.Stat(sess); !os.IsNotExist(err) {
		t.Errorf("logout left %s", sess)
	}
}
