package hostscript_test

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/hostscript"
	"github.com/ottr-dev/ottr/internal/testpki"
)

// requireTools skips (or, under CI=true, fails) without sh and openssl,
// which the scripts run on hosts.
func requireTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"sh", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is required: %v", tool, err)
			}
			t.Skipf("%s not installed: %v", tool, err)
		}
	}
}

// sh runs script with /bin/sh in dir, as the drivers do on a host, and
// returns its stdout.
func sh(t *testing.T, dir, script string, stdin []byte) []byte {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "sh", "-c", script)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("script: %v\nstderr:\n%s\nscript:\n%s", err, stderr.String(), script)
	}
	return stdout.Bytes()
}

// files lists every file under dir, relative to it.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// Every value put into a host script is one shell word: paths, hooks and
// reload arguments full of shell syntax are used as the names they are,
// and nothing in them runs.
func TestScriptsQuoteEveryValue(t *testing.T) {
	requireTools(t)
	dir := t.TempDir()
	evil := "a b'c\"d $(touch pwned1) `touch pwned2`; touch pwned3 & $HOME \\ *"
	sub := filepath.Join(dir, "certs "+strings.ReplaceAll(evil, "a b", "dir"))
	hook := filepath.Join(dir, "hook "+evil)
	os.WriteFile(hook, []byte("#!/bin/sh\necho hook >> hook-ran\n"), 0o755)
	f := hostscript.Files{
		KeyPath:  filepath.Join(sub, "key "+evil+".key"),
		CertPath: filepath.Join(sub, "cert "+evil+".crt"),
		Reload:   []string{"touch", "reloaded " + evil},
		PreHook:  hook,
	}
	if probs := f.Check("web.example.com"); len(probs) > 0 {
		t.Fatalf("Check: %v", probs)
	}

	script, err := f.CSR(ottr.CSRRequest{CommonName: "web.example.com", DNSNames: []string{"web.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ottr.ParseCSR(sh(t, dir, script, nil))
	if err != nil {
		t.Fatal(err)
	}
	ca := testpki.NewCA("test")
	chain := ca.Sign(csr, time.Hour)
	sh(t, dir, f.Install("cat", chain), ottr.EncodeChain(chain))

	rel := func(p string) string { r, _ := filepath.Rel(dir, p); return r }
	want := []string{rel(f.CertPath), rel(f.KeyPath), "hook " + evil, "hook-ran", "reloaded " + evil}
	sort.Strings(want)
	if diff := cmp.Diff(want, files(t, dir)); diff != "" {
		t.Errorf("files after install (-want +got):\n%s", diff)
	}
	got, err := os.ReadFile(f.CertPath)
	if err != nil || !bytes.Equal(got, ottr.EncodeChain(chain)) {
		t.Errorf("chain at the cert path = %q, %v", got, err)
	}

	// A second install keeps the first pair for Restore, which puts it back.
	script, _ = f.CSR(ottr.CSRRequest{CommonName: "web.example.com"})
	csr2, err := ottr.ParseCSR(sh(t, dir, script, nil))
	if err != nil {
		t.Fatal(err)
	}
	chain2 := ca.Sign(csr2, time.Hour)
	sh(t, dir, f.Install("cat", chain2), ottr.EncodeChain(chain2))
	sh(t, dir, f.Restore("cat", chain), ottr.EncodeChain(chain))
	if got, _ := os.ReadFile(f.CertPath); !bytes.Equal(got, ottr.EncodeChain(chain)) {
		t.Error("Restore did not put the first chain back")
	}
	for _, p := range files(t, dir) {
		if strings.HasPrefix(filepath.Base(p), "pwned") {
			t.Errorf("a value ran as a command: %s exists", p)
		}
	}
}

// Check refuses paths a host script cannot use safely, naming the field.
func TestCheckRefusesUnsafeValues(t *testing.T) {
	f := hostscript.Files{
		CertPath: "etc/ssl/x.crt",
		KeyPath:  "/etc/ssl/x.key\n/tmp/other",
		PreHook:  "hooks/pre",
		PostHook: "/opt/hooks/post\x00",
		Owner:    "www\ndata",
		Group:    "ssl:cert",
		Reload:   []string{"systemctl", "reload\nnginx"},
		CertMode: "0644",
	}
	want := []ottr.Problem{
		{Field: "cert_path", Message: `"etc/ssl/x.crt" is not an absolute path`},
		{Field: "key_path", Message: `"/etc/ssl/x.key\n/tmp/other" contains a control character`},
		{Field: "pre_hook", Message: `"hooks/pre" is not an absolute path`},
		{Field: "post_hook", Message: `"/opt/hooks/post\x00" contains a control character`},
		{Field: "owner", Message: `"www\ndata" contains a control character`},
		{Field: "group", Message: `"ssl:cert" contains ':'`},
		{Field: "reload", Message: `"reload\nnginx" contains a control character`},
	}
	if diff := cmp.Diff(want, f.Check("web.example.com")); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
	f = hostscript.Files{CertPath: "/etc/ssl/../../root/x.crt"}
	want = []ottr.Problem{{Field: "cert_path", Message: `"/etc/ssl/../../root/x.crt" is not a clean path (it would be "/root/x.crt")`}}
	if diff := cmp.Diff(want, f.Check("web.example.com")); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}
}
