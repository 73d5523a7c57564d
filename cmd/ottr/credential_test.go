package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

func TestCredentialCommands(t *testing.T) {
	c := newCLI(t)
	const pw = "Tr0ub4dor&3-horse"
	if _, stderr, err := c.run("username=api-admin\npassword="+pw+"\n", "credential", "set", "panos"); err != nil {
		t.Fatalf("set: %v %s", err, stderr)
	}
	file := filepath.Join(t.TempDir(), "ssh.json")
	os.WriteFile(file, []byte(`{"username":"ottr","private_key":"-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n"}`), 0o600)
	c.ok("credential", "set", "web01-ssh", "-f", file)

	out := c.ok("credential", "list", "-o", "json")
	var list []credentialInfo
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "panos" || strings.Join(list[0].Keys, ",") != "password,username" {
		t.Errorf("list = %+v", list)
	}
	table := c.ok("credential", "list")
	for _, leak := range []string{pw, "OPENSSH", "api-admin"} {
		if strings.Contains(out+table, leak) {
			t.Errorf("list shows a value (%s)", leak)
		}
	}
	// The value is sealed on disk.
	db, _ := os.ReadFile(filepath.Join(c.dataDir, "ottr.db"))
	wal, _ := os.ReadFile(filepath.Join(c.dataDir, "ottr.db-wal"))
	if strings.Contains(string(db)+string(wal), pw) {
		t.Error("password stored in clear text")
	}

	// Resolution: stored, env:, file:.
	a := &app{getenv: func(k string) string {
		if k == "OTTR_TEST_CRED" {
			return `{"token":"tok-123"}`
		}
		return c.env[k]
	}, stdout: os.Stdout, stderr: os.Stderr, quiet: true}
	a.flags = a.rootCmd().PersistentFlags()
	a.dataDir = c.dataDir
	_ = a.flags.Set("data-dir", c.dataDir)
	defer a.close()
	ctx := context.Background()
	if cr, err := a.credentials().Credential(ctx, "panos"); err != nil || cr.Get("password").Reveal() != pw {
		t.Errorf("stored: %v", err)
	}
	if cr, err := a.credentials().Credential(ctx, "env:OTTR_TEST_CRED"); err != nil || cr.Get("token").Reveal() != "tok-123" {
		t.Errorf("env: %v", err)
	}
	if cr, err := a.credentials().Credential(ctx, "file:"+file); err != nil || cr.Get("username").Reveal() != "ottr" {
		t.Errorf("file: %v", err)
	}
	// A credential resolved for a rotation is masked in what the rotation
	// stores: resolving registers its values with the context's Masker.
	m := ottr.NewMasker()
	mctx := ottr.WithMasker(ctx, m)
	for _, ref := range []string{"panos", "env:OTTR_TEST_CRED"} {
		if _, err := a.credentials().Credential(mctx, ref); err != nil {
			t.Fatal(err)
		}
	}
	if got := m.Mask("device said " + pw + " and tok-123"); got != "device said [REDACTED] and [REDACTED]" {
		t.Errorf("rotation masker after resolving: %q", got)
	}
	for _, ref := range []string{"env:UNSET_VAR", "file:/nonexistent", "nope", "../etc"} {
		if _, err := a.credentials().Credential(ctx, ref); err == nil {
			t.Errorf("%s resolved", ref)
		}
	}
	// Rotation errors reach every role: a configuration-only reference's
	// error says what is wrong but names no server file or variable.
	secretFile := filepath.Join(t.TempDir(), "secret-dir-name", "panos.cred")
	for _, ref := range []string{"env:OTTR_HIDDEN_VARIABLE", "file:" + secretFile, "file:" + filepath.Dir(file)} {
		_, err := a.credentials().Credential(ctx, ref)
		if err == nil {
			t.Fatalf("%s resolved", ref)
		}
		for _, leak := range []string{"OTTR_HIDDEN_VARIABLE", "secret-dir-name", filepath.Dir(file)} {
			if strings.Contains(err.Error(), leak) {
				t.Errorf("%s: error %q reveals %q", ref, err, leak)
			}
		}
	}

	c.ok("credential", "delete", "panos")
	if _, stderr, err := c.run("", "credential", "delete", "panos"); err == nil || !strings.Contains(stderr, "not found") {
		t.Errorf("second delete: %v %s", err, stderr)
	}
	// Values never come from argv; bad input names the problem, not the value.
	if _, stderr, err := c.run(`{"password": 12}`, "credential", "set", "bad"); err == nil || !strings.Contains(stderr, "password: must be a string") {
		t.Errorf("bad set: %v %s", err, stderr)
	}
	if _, stderr, err := c.run(`{"password": "`+pw, "credential", "set", "bad"); err == nil || strings.Contains(stderr, pw) {
		t.Errorf("broken JSON: %v %s", err, stderr)
	}
	if _, _, err := c.run("x=y", "credential", "set", "a/b"); exitCode(err) != 2 {
		t.Errorf("bad name: exit %d", exitCode(err))
	}
}
