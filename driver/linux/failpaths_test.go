package linux_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/linux"
	"github.com/ottr-dev/ottr/driver/served"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/faultbin"
)

// faulty is a host (real sshd and nginx) with pre and post hooks that
// fail while their fail-* marker exists.
type faulty struct {
	*host
	t  *testing.T
	ca *testpki.CA
}

func startFaulty(t *testing.T) *faulty {
	t.Helper()
	h := startHost(t)
	f := &faulty{host: h, t: t, ca: testpki.NewCA("Test CA")}
	for _, hook := range []string{"pre", "post"} {
		os.WriteFile(filepath.Join(h.Dir, hook), []byte("#!/bin/sh\n[ -e "+filepath.Join(h.Dir, "fail-"+hook)+
			" ] && { echo '"+hook+" hook failed' >&2; exit 1; }\nexit 0\n"), 0o755)
	}
	return f
}

// driver opens a new driver, as each attempt of a rotation (in whatever
// process) does.
func (f *faulty) driver() *linux.Driver {
	f.t.Helper()
	c := f.config(webAsset())
	c.PreHook, c.PostHook = filepath.Join(f.Dir, "pre"), filepath.Join(f.Dir, "post")
	d, err := linux.New(c)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { d.Close() })
	return d
}

func (f *faulty) fail(marker string, faults ...faultbin.Fault) {
	f.t.Helper()
	if err := f.Fail(faults...); err != nil {
		f.t.Fatal(err)
	}
	if marker != "" {
		os.WriteFile(filepath.Join(f.Dir, marker), nil, 0o600)
	}
}

func (f *faulty) heal() {
	f.t.Helper()
	f.fail("")
	os.Remove(filepath.Join(f.Dir, "fail-pre"))
	os.Remove(filepath.Join(f.Dir, "fail-post"))
}

// check asserts what the host holds and serves: key and chain on disk are
// a pair that nginx -t accepts (the next reload keeps the site up), nginx
// serves that same certificate, it is want, and no temp file is left.
func (f *faulty) check(what string, want *x509.Certificate) {
	f.t.Helper()
	crt, _ := os.ReadFile(f.CertPath)
	key, _ := os.ReadFile(f.KeyPath)
	if _, err := tls.X509KeyPair(crt, key); err != nil {
		f.t.Errorf("%s: key and certificate on disk are not a pair: %v", what, err)
	}
	onDisk, err := ottr.ParseChain(crt)
	if err != nil || !onDisk[0].Equal(want) {
		f.t.Errorf("%s: the certificate on disk is not serial %x (%v)", what, want.SerialNumber, err)
	}
	if out, err := exec.Command("nginx", "-t", "-c", f.NginxConf).CombinedOutput(); err != nil {
		f.t.Errorf("%s: nginx -t refuses what is on disk, so the next reload takes the site down: %v\n%s", what, err, out)
	}
	// A reload finishes asynchronously: wait until the workers agree.
	deadline, streak := time.Now().Add(10*time.Second), 0
	for streak < 3 {
		cur, err := served.Chain(f.t.Context(), f.HTTPSAddr, "web.example.com")
		if err == nil && cur[0].Equal(want) {
			streak++
			continue
		}
		streak = 0
		if time.Now().After(deadline) {
			f.t.Errorf("%s: nginx serves %v (%v), want serial %x", what, cur, err, want.SerialNumber)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if temps, _ := filepath.Glob(filepath.Join(filepath.Dir(f.CertPath), "*.ottr-*")); len(temps) > 0 {
		f.t.Errorf("%s: temp files left: %v", what, temps)
	}
}

func (f *faulty) served() []*x509.Certificate {
	f.t.Helper()
	cur, err := served.Chain(f.t.Context(), f.HTTPSAddr, "web.example.com")
	if err != nil {
		f.t.Fatal(err)
	}
	return cur
}

func (f *faulty) issue(d *linux.Driver) []*x509.Certificate {
	f.t.Helper()
	csr, err := d.CSR(f.t.Context(), ottr.CSRRequest{CommonName: "web.example.com", DNSNames: []string{"web.example.com", "www.example.com"}})
	if err != nil {
		f.t.Fatalf("CSR: %v", err)
	}
	return f.ca.Sign(csr, time.Hour)
}

// A failure at each point of Install, on a real host, leaves nginx
// serving the pair it served, the same pair on disk (nginx -t passes) and
// no temp file, with the new key still pending; the install retried by a
// new driver goes through, and a new driver restores the previous pair.
// The reviewer's case — a failing pre hook left the new key beside the
// old certificate — is the first. (Every failure point of the script is
// also covered, without sshd, by hostscript's tests.)
func TestInstallFailuresLeaveTheHostAsItWas(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	old := f.served()
	chain := f.issue(f.driver())
	for _, tc := range []struct {
		name   string
		marker string
		faults []faultbin.Fault
		want   string
	}{
		{name: "pre hook fails", marker: "fail-pre", want: "pre hook failed"},
		{name: "upload fails mid-way", faults: []faultbin.Fault{{Command: "cat", Partial: 200, Message: "cat: write error: No space left on device"}}, want: "No space left"},
		{name: "replacing the chain fails after the key", faults: []faultbin.Fault{{Command: "mv", Match: "server.crt.ottr-new"}}, want: "Input/output error"},
		{name: "reload fails", faults: []faultbin.Fault{{Command: "nginx", Match: "reload", Message: "nginx: [emerg] cannot load certificate"}}, want: "cannot load certificate"},
		{name: "post hook fails", marker: "fail-post", want: "post hook failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			f.fail(tc.marker, tc.faults...)
			defer f.heal()
			err := f.driver().Install(t.Context(), chain)
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			f.check("after the failure", old[0])
			if _, err := os.Stat(f.KeyPath + ".pending"); err != nil {
				t.Errorf("the new key is gone, so a retry cannot install: %v", err)
			}
		})
	}
	f.t = t
	if err := f.driver().Install(t.Context(), chain); err != nil {
		t.Fatalf("retry by a new driver: %v", err)
	}
	f.check("after the retry", chain[0])
	if err := f.driver().Restore(t.Context(), old); err != nil {
		t.Fatalf("Restore by a new driver: %v", err)
	}
	f.check("after Restore", old[0])
}

// A failure at each point of Restore leaves the host serving the pair it
// served, consistent on disk; a retried Restore by a new driver brings
// the previous pair back, and a repeated one changes nothing.
func TestRestoreFailuresLeaveTheHostAsItWas(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	old := f.served()
	d := f.driver()
	chain := f.issue(d)
	if err := d.Install(t.Context(), chain); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		marker string
		faults []faultbin.Fault
		want   string
	}{
		{name: "pre hook fails", marker: "fail-pre", want: "pre hook failed"},
		{name: "replacing the chain fails after the key", faults: []faultbin.Fault{{Command: "mv", Match: "server.crt.ottr-new"}}, want: "Input/output error"},
		{name: "reload fails", faults: []faultbin.Fault{{Command: "nginx", Match: "reload", Message: "nginx: [emerg] cannot load certificate"}}, want: "cannot load certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.t = t
			f.fail(tc.marker, tc.faults...)
			defer f.heal()
			if err := f.driver().Restore(t.Context(), old); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Restore: %v, want an error naming %q", err, tc.want)
			}
			f.check("after the failure", chain[0])
		})
	}
	f.t = t
	for range 2 {
		if err := f.driver().Restore(t.Context(), old); err != nil {
			t.Fatalf("Restore by a new driver: %v", err)
		}
		f.check("after Restore", old[0])
	}
}

// A CSR that fails on the host leaves the pair in place and no temp file.
func TestCSRFailureLeavesTheHostAsItWas(t *testing.T) {
	t.Parallel()
	f := startFaulty(t)
	old := f.served()
	f.fail("", faultbin.Fault{Command: "openssl", Match: "req", Message: "openssl: unable to write private key"})
	if _, err := f.driver().CSR(t.Context(), ottr.CSRRequest{CommonName: "web.example.com"}); err == nil {
		t.Fatal("CSR succeeded though openssl failed")
	}
	f.check("after a failed CSR", old[0])
	if _, err := os.Stat(f.KeyPath + ".pending"); err == nil {
		t.Error("a pending key was left")
	}
}
