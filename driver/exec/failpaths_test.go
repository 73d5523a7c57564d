package exec_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/exec"
	"github.com/ottr-dev/ottr/driver/served"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/faultbin"
	"github.com/ottr-dev/ottr/sim/tlsdir"
)

// checkDevice asserts the template device serves want with its own key
// (tlsdir presents served.pem, key and chain, on every handshake, so a
// key beside another key's certificate fails it) and that no temp file is
// left.
func checkDevice(t *testing.T, dev *tlsdir.Device, what string, want *x509.Certificate) {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(dev.Dir, "served.pem"))
	if _, err := tls.X509KeyPair(b, b); err != nil {
		t.Errorf("%s: served.pem is not a key with its certificate: %v", what, err)
	}
	if cur, err := served.Chain(t.Context(), dev.Addr, "dev1.example.com"); err != nil || !cur[0].Equal(want) {
		t.Errorf("%s: serves %v (%v), want serial %x", what, cur, err, want.SerialNumber)
	}
	if temps, _ := filepath.Glob(filepath.Join(dev.Dir, "*.ottr-*")); len(temps) > 0 {
		t.Errorf("%s: temp files left: %v", what, temps)
	}
}

// A failure at each point of the template's install leaves the device
// serving what it served, with no temp file; the retry by a new driver
// (another process) installs with the key made earlier, and a new driver
// rolls back, through a failing rollback too, repeatably.
func TestTemplateFailuresLeaveTheDeviceAsItWas(t *testing.T) {
	faults := filepath.Join(t.TempDir(), "faults")
	if err := faultbin.Set(faults); err != nil {
		t.Fatal(err)
	}
	// The scripts get the server's PATH: the shims go first on it.
	t.Setenv("PATH", faultbin.PATH(faults, os.Getenv("PATH")))
	dev := startDevice(t)
	open := func() *exec.Driver {
		d, err := exec.New(templateConfig(dev))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ca := testpki.NewCA("test")
	install := func() []*x509.Certificate {
		d := open()
		csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "dev1.example.com", DNSNames: asset().SubjectAlternativeName})
		if err != nil {
			t.Fatal(err)
		}
		chain := ca.Sign(csr, time.Hour)
		if err := d.Install(t.Context(), chain); err != nil {
			t.Fatal(err)
		}
		return chain
	}
	old := install()
	csr, err := open().CSR(t.Context(), ottr.CSRRequest{CommonName: "dev1.example.com", DNSNames: asset().SubjectAlternativeName})
	if err != nil {
		t.Fatal(err)
	}
	chain := ca.Sign(csr, time.Hour)
	for _, tc := range []struct {
		name  string
		fault faultbin.Fault
	}{
		{"building key and chain fails mid-way", faultbin.Fault{Command: "cat", Match: "chain.pem", Partial: 100, Message: "cat: write error: No space left on device"}},
		{"keeping the served certificate fails", faultbin.Fault{Command: "mv", Match: "served.prev.pem.ottr-new"}},
		{"swapping in fails", faultbin.Fault{Command: "mv", Match: "served.pem.ottr-new", Message: "mv: Read-only file system"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := faultbin.Set(faults, tc.fault); err != nil {
				t.Fatal(err)
			}
			defer faultbin.Set(faults)
			if err := open().Install(t.Context(), chain); err == nil || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v, want a transient error", err)
			}
			checkDevice(t, dev, "after the failure", old[0])
		})
	}
	if err := open().Install(t.Context(), chain); err != nil {
		t.Fatalf("retry by a new driver: %v", err)
	}
	checkDevice(t, dev, "after the retry", chain[0])

	faultbin.Set(faults, faultbin.Fault{Command: "mv", Match: "served.pem.ottr-new"})
	if err := open().Restore(t.Context(), old); err == nil {
		t.Fatal("rollback succeeded though its rename failed")
	}
	checkDevice(t, dev, "after a failed rollback", chain[0])
	faultbin.Set(faults)
	for range 2 {
		if err := open().Restore(t.Context(), old); err != nil {
			t.Fatalf("rollback by a new driver: %v", err)
		}
		checkDevice(t, dev, "after rollback", old[0])
	}
	never := ca.Sign(csr, time.Hour)
	if err := open().Restore(t.Context(), never); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "does not keep") {
		t.Errorf("rollback to a certificate never served: %v", err)
	}
	// Without a rollback script there is no restore, and it says so.
	c := templateConfig(dev)
	c.Rollback = nil
	d, _ := exec.New(c)
	if err := d.Restore(t.Context(), old); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "no rollback script") {
		t.Errorf("Restore without a rollback script: %v", err)
	}
}

// A cancelled install gives its script TERM, so its exit trap removes its
// temp files.
func TestCancelledInstallLeavesNoTempFile(t *testing.T) {
	dev := startDevice(t)
	dir := t.TempDir()
	script := filepath.Join(dir, "install.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
tmp="$DEVICE_DIR/served.pem.ottr-new-$$"
trap 'rm -f "$tmp"' EXIT
trap 'exit 143' TERM
echo half > "$tmp"
touch "$DEVICE_DIR/started"
sleep 30 & wait
`), 0o755)
	c := templateConfig(dev)
	c.Install = []string{script}
	d, err := exec.New(c)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for range 200 {
			if _, err := os.Stat(filepath.Join(dev.Dir, "started")); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
	}()
	ca := testpki.NewCA("test")
	csr, _ := testpki.CSR("dev1.example.com")
	start := time.Now()
	if err := d.Install(ctx, ca.Sign(csr, time.Hour)); err == nil {
		t.Fatal("a cancelled install succeeded")
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("the cancelled script ran on for %v", time.Since(start))
	}
	if temps, _ := filepath.Glob(filepath.Join(dev.Dir, "*.ottr-*")); len(temps) > 0 {
		t.Errorf("temp files left: %v", temps)
	}
}
