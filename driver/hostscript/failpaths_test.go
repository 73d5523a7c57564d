package hostscript_test

import (
	"bytes"
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/hostscript"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/faultbin"
)

// host is a directory laid out as a host the scripts rotate: tls/ holds
// the key and chain; the "service" is what the reload command last read
// (served.key, served.crt), as nginx holds what it read at its last
// reload; hooks and the reload fail while their fail-* marker exists; and
// faults/ is first on the scripts' PATH.
type host struct {
	t      *testing.T
	dir    string
	files  hostscript.Files
	faults string
	ca     *testpki.CA
}

func newHost(t *testing.T) *host {
	t.Helper()
	requireTools(t)
	dir := t.TempDir()
	h := &host{t: t, dir: dir, faults: filepath.Join(dir, "faults"), ca: testpki.NewCA("test CA")}
	os.MkdirAll(filepath.Join(dir, "tls"), 0o755)
	h.script("pre", `[ -e "$D/fail-pre" ] && { echo "pre hook: service would not stop" >&2; exit 1; }; exit 0`)
	h.script("post", `[ -e "$D/fail-post" ] && { echo "post hook: dependent service failed" >&2; exit 1; }; exit 0`)
	// Like systemctl reload nginx: a failing check loads nothing.
	h.script("reload", `[ -e "$D/fail-reload" ] && { echo "nginx: [emerg] reload refused" >&2; exit 1; }
/bin/cp "$D/tls/web.key" "$D/served.key" && /bin/cp "$D/tls/web.crt" "$D/served.crt"`)
	h.files = hostscript.Files{KeyPath: filepath.Join(dir, "tls", "web.key"), CertPath: filepath.Join(dir, "tls", "web.crt"),
		PreHook: filepath.Join(dir, "pre"), PostHook: filepath.Join(dir, "post"), Reload: []string{filepath.Join(dir, "reload")}}
	if probs := h.files.Check("web.example.com"); len(probs) > 0 {
		t.Fatal(probs)
	}
	// In service: an old pair, read by the service.
	csr, key := testpki.CSR("web.example.com", "web.example.com")
	kp, _ := testpki.MarshalKey(key)
	os.WriteFile(h.files.KeyPath, kp, 0o600)
	os.WriteFile(h.files.CertPath, ottr.EncodeChain(h.ca.Sign(csr, time.Hour)), 0o644)
	h.reloaded()
	return h
}

func (h *host) script(name, body string) {
	os.WriteFile(filepath.Join(h.dir, name), []byte("#!/bin/sh\nD="+hostscript.Quote(h.dir)+"\n"+body+"\n"), 0o755)
}

func (h *host) reloaded() {
	for src, dst := range map[string]string{h.files.KeyPath: "served.key", h.files.CertPath: "served.crt"} {
		b, _ := os.ReadFile(src)
		os.WriteFile(filepath.Join(h.dir, dst), b, 0o600)
	}
}

// run runs a script as a driver does on the host, with the faults' shims
// first on PATH.
func (h *host) run(script string, stdin []byte) (string, error) {
	cmd := exec.CommandContext(h.t.Context(), "sh", "-c", script)
	cmd.Dir = h.dir
	cmd.Env = append(os.Environ(), "PATH="+faultbin.PATH(h.faults, os.Getenv("PATH")))
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Stdout = &stderr
	err := cmd.Run()
	return stderr.String(), err
}

func (h *host) csr() *x509.CertificateRequest {
	h.t.Helper()
	script, err := h.files.CSR(ottr.CSRRequest{CommonName: "web.example.com", DNSNames: []string{"web.example.com"}})
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.CommandContext(h.t.Context(), "sh", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+faultbin.PATH(h.faults, os.Getenv("PATH")))
	out, err := cmd.Output()
	if err != nil {
		h.t.Fatalf("csr: %v", err)
	}
	csr, err := ottr.ParseCSR(out)
	if err != nil {
		h.t.Fatal(err)
	}
	return csr
}

func (h *host) install(chain []*x509.Certificate) (string, error) {
	return h.run(h.files.Install("cat", chain), ottr.EncodeChain(chain))
}

func (h *host) restore(chain []*x509.Certificate) (string, error) {
	return h.run(h.files.Restore("cat", chain), ottr.EncodeChain(chain))
}

func (h *host) fail(marker string, faults ...faultbin.Fault) {
	h.t.Helper()
	if err := faultbin.Set(h.faults, faults...); err != nil {
		h.t.Fatal(err)
	}
	if marker != "" {
		os.WriteFile(filepath.Join(h.dir, marker), nil, 0o600)
	}
}

func (h *host) heal() {
	h.t.Helper()
	if err := faultbin.Set(h.faults); err != nil {
		h.t.Fatal(err)
	}
	for _, m := range []string{"fail-pre", "fail-post", "fail-reload"} {
		os.Remove(filepath.Join(h.dir, m))
	}
}

func (h *host) read(name string) []byte {
	b, _ := os.ReadFile(name)
	return b
}

// leaf is the first certificate of a PEM file ("" if none).
func leaf(b []byte) *x509.Certificate {
	chain, err := ottr.ParseChain(b)
	if err != nil || len(chain) == 0 {
		return nil
	}
	return chain[0]
}

// matches says whether a PEM key file holds the key of a PEM chain's leaf,
// as a TLS server loading them checks.
func matches(keyPEM, chainPEM []byte) bool {
	_, err := tls.X509KeyPair(chainPEM, keyPEM)
	return err == nil
}

// check asserts the host is consistent: key and chain on disk are a pair
// and the service holds the same pair; no temp file is left; and the leaf
// on disk and in service is want.
func (h *host) check(what string, want *x509.Certificate) {
	h.t.Helper()
	key, crt := h.read(h.files.KeyPath), h.read(h.files.CertPath)
	if !matches(key, crt) {
		h.t.Errorf("%s: the key on disk is not the certificate's", what)
	}
	if !bytes.Equal(key, h.read(filepath.Join(h.dir, "served.key"))) || !bytes.Equal(crt, h.read(filepath.Join(h.dir, "served.crt"))) {
		h.t.Errorf("%s: the service holds another pair than the disk", what)
	}
	if l := leaf(crt); l == nil || !l.Equal(want) {
		h.t.Errorf("%s: serves %v, want serial %x", what, l, want.SerialNumber)
	}
	if temps, _ := filepath.Glob(filepath.Join(h.dir, "tls", "*.ottr-*")); len(temps) > 0 {
		h.t.Errorf("%s: temp files left: %v", what, temps)
	}
}

// Every failure point of Install leaves the pair that was in place, on
// disk and in service, and no temp file; the new key stays pending, so the
// same install goes through once the fault is gone, and Restore then
// brings the old pair back.
func TestInstallFailurePoints(t *testing.T) {
	for _, tc := range []struct {
		name   string
		marker string
		faults []faultbin.Fault
		owner  string
		print  string // how the chain reaches the script; default cat
		want   string
	}{
		{name: "chain cut short on the way", print: "head -c 300", want: "incomplete"},
		{name: "writing the chain fails", faults: []faultbin.Fault{{Command: "cat", Partial: 300, Message: "cat: write error: No space left on device"}}, want: "No space left"},
		{name: "copying the new key fails", faults: []faultbin.Fault{{Command: "cp", Match: "web.key.ottr-new"}}, want: "Input/output error"},
		{name: "pre hook fails", marker: "fail-pre", want: "service would not stop"},
		{name: "chmod fails", faults: []faultbin.Fault{{Command: "chmod", Match: "ottr-new", Message: "chmod: Read-only file system"}}, want: "Read-only"},
		{name: "chown fails", owner: "no-such-user-ottr", want: "no-such-user-ottr"},
		{name: "keeping the previous pair fails half-way", faults: []faultbin.Fault{{Command: "mv", Match: "web.crt.ottr-prev"}}, want: "Input/output error"},
		{name: "copying the pair aside fails", faults: []faultbin.Fault{{Command: "cp", Match: "web.crt.ottr-old"}}, want: "Input/output error"},
		{name: "replacing the key fails", faults: []faultbin.Fault{{Command: "mv", Match: "web.key.ottr-new"}}, want: "Input/output error"},
		{name: "replacing the chain fails after the key", faults: []faultbin.Fault{{Command: "mv", Match: "web.crt.ottr-new", Message: "mv: No space left on device"}}, want: "No space left"},
		{name: "reload fails", marker: "fail-reload", want: "reload refused"},
		{name: "post hook fails", marker: "fail-post", want: "dependent service failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHost(t)
			old := leaf(h.read(h.files.CertPath))
			chain := h.ca.Sign(h.csr(), time.Hour)
			h.files.Owner = tc.owner
			h.fail(tc.marker, tc.faults...)
			print := cmp.Or(tc.print, "cat")
			out, err := h.run(h.files.Install(print, chain), ottr.EncodeChain(chain))
			if err == nil || !strings.Contains(out, tc.want) {
				t.Fatalf("install: %v, output %q, want %q", err, out, tc.want)
			}
			h.check("after the failure", old)
			if _, err := os.Stat(h.files.KeyPath + ".pending"); err != nil {
				t.Errorf("the new key is gone: a retry cannot install: %v", err)
			}

			h.heal()
			h.files.Owner = ""
			if out, err := h.install(chain); err != nil {
				t.Fatalf("retry: %v\n%s", err, out)
			}
			h.check("after the retry", chain[0])
			if !matches(h.read(h.files.KeyPath+".prev"), h.read(h.files.CertPath+".prev")) || !leaf(h.read(h.files.CertPath+".prev")).Equal(old) {
				t.Error("the previous pair is not kept for Restore")
			}
			if _, err := os.Stat(h.files.KeyPath + ".pending"); err == nil {
				t.Error("the pending key is left after its certificate was installed")
			}
			oldChain, _ := ottr.ParseChain(h.read(h.files.CertPath + ".prev"))
			if out, err := h.restore(oldChain); err != nil {
				t.Fatalf("restore: %v\n%s", err, out)
			}
			h.check("after restore", old)
		})
	}
}

// A key that matches nothing is refused with 65 and changes nothing.
func TestInstallForeignChain(t *testing.T) {
	h := newHost(t)
	old := leaf(h.read(h.files.CertPath))
	h.csr()
	other, _ := testpki.CSR("web.example.com", "web.example.com")
	out, err := h.install(h.ca.Sign(other, time.Hour))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 65 || !strings.Contains(out, "no key on the host matches") {
		t.Fatalf("foreign chain: %v %q", err, out)
	}
	h.check("after refusing", old)
}

// A repeated install of what is in place succeeds and changes nothing, and
// a failure then keeps it in place.
func TestInstallRepeated(t *testing.T) {
	h := newHost(t)
	chain := h.ca.Sign(h.csr(), time.Hour)
	if out, err := h.install(chain); err != nil {
		t.Fatal(err, out)
	}
	prev := h.read(h.files.CertPath + ".prev")
	if out, err := h.install(chain); err != nil {
		t.Fatal(err, out)
	}
	h.check("repeated", chain[0])
	if !bytes.Equal(prev, h.read(h.files.CertPath+".prev")) {
		t.Error("a repeated install replaced the kept previous pair with the new one")
	}
	h.fail("fail-reload")
	if _, err := h.install(chain); err == nil {
		t.Fatal("reload failure not reported")
	}
	h.check("repeated, reload failing", chain[0])
}

// Every failure point of Restore leaves the pair that was in place; a
// retried Restore goes through, and a repeated one changes nothing.
func TestRestoreFailurePoints(t *testing.T) {
	for _, tc := range []struct {
		name   string
		marker string
		faults []faultbin.Fault
		want   string
	}{
		{name: "pre hook fails", marker: "fail-pre", want: "service would not stop"},
		{name: "copying the kept key fails", faults: []faultbin.Fault{{Command: "cp", Match: "web.key.prev"}}, want: "Input/output error"},
		{name: "replacing the chain fails after the key", faults: []faultbin.Fault{{Command: "mv", Match: "web.crt.ottr-new"}}, want: "Input/output error"},
		{name: "reload fails", marker: "fail-reload", want: "reload refused"},
		{name: "post hook fails", marker: "fail-post", want: "dependent service failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHost(t)
			oldChain, _ := ottr.ParseChain(h.read(h.files.CertPath))
			chain := h.ca.Sign(h.csr(), time.Hour)
			if out, err := h.install(chain); err != nil {
				t.Fatal(err, out)
			}
			h.fail(tc.marker, tc.faults...)
			out, err := h.restore(oldChain)
			if err == nil || !strings.Contains(out, tc.want) {
				t.Fatalf("restore: %v, output %q, want %q", err, out, tc.want)
			}
			h.check("after the failure", chain[0])
			h.heal()
			for i := range 2 {
				if out, err := h.restore(oldChain); err != nil {
					t.Fatalf("restore %d: %v\n%s", i+1, err, out)
				}
				h.check(fmt.Sprintf("after restore %d", i+1), oldChain[0])
			}
		})
	}
	t.Run("nothing kept", func(t *testing.T) {
		h := newHost(t)
		other := h.ca.Sign(h.csr(), time.Hour) // never installed
		out, err := h.restore(other)
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 65 || !strings.Contains(out, "does not keep the previous certificate") {
			t.Fatalf("restore of a chain never kept: %v %q", err, out)
		}
	})
}

// A failing CSR leaves no half-made key and no temp file, and the pair in
// place untouched.
func TestCSRFailure(t *testing.T) {
	h := newHost(t)
	old := leaf(h.read(h.files.CertPath))
	h.fail("", faultbin.Fault{Command: "mv", Match: "pending"})
	script, _ := h.files.CSR(ottr.CSRRequest{CommonName: "web.example.com"})
	if _, err := h.run(script, nil); err == nil {
		t.Fatal("CSR succeeded though the key could not be put in place")
	}
	h.check("after a failed CSR", old)
	if _, err := os.Stat(h.files.KeyPath + ".pending"); err == nil {
		t.Error("a pending key was left")
	}
}
