package ssm_test

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
	"github.com/ottr-dev/ottr/driver/ssm"
	"github.com/ottr-dev/ottr/sim/faultbin"
)

// hooked gives h hooks and a reload that fail while their fail-* marker
// exists, and returns a function opening a new driver for it, as each
// attempt of a rotation (in whatever process) does.
func hooked(t *testing.T, h *host) func() *ssm.Driver {
	os.MkdirAll(filepath.Join(h.dir, "hooks"), 0o755)
	for _, name := range []string{"pre", "post", "reload"} {
		os.WriteFile(filepath.Join(h.dir, "hooks", name), []byte("#!/bin/sh\n[ -e "+filepath.Join(h.dir, "fail-"+name)+
			" ] && { echo '"+name+" failed' >&2; exit 1; }\nexit 0\n"), 0o755)
	}
	return func() *ssm.Driver {
		c := h.config(webAsset(), cred)
		c.Reload = []string{filepath.Join(h.dir, "hooks", "reload")}
		d, err := ssm.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
}

// check asserts the instance serves want, with its key, from the files in
// place (the simulated service reads them on every handshake, so a key
// beside another key's certificate fails the handshake), and that no temp
// file is left.
func check(t *testing.T, h *host, what string, want *x509.Certificate) {
	t.Helper()
	crt, _ := os.ReadFile(h.inst.CertPath)
	key, _ := os.ReadFile(h.inst.KeyPath)
	if _, err := tls.X509KeyPair(crt, key); err != nil {
		t.Errorf("%s: key and certificate in place are not a pair: %v", what, err)
	}
	if cur, err := served.Chain(t.Context(), h.inst.Addr, "web01.example.com"); err != nil || !cur[0].Equal(want) {
		t.Errorf("%s: serves %v (%v), want serial %x", what, cur, err, want.SerialNumber)
	}
	if temps, _ := filepath.Glob(filepath.Join(filepath.Dir(h.inst.CertPath), "*.ottr-*")); len(temps) > 0 {
		t.Errorf("%s: temp files left: %v", what, temps)
	}
}

// A failure at each point of Install through SSM leaves the instance
// serving the pair it served, with that pair in place and no temp file;
// a new driver's retry installs, and a new driver restores the previous
// pair, through a failing restore too. (Every failure point of the script
// is covered by hostscript's tests; here, what SSM carries back.)
func TestFailuresLeaveTheInstanceAsItWas(t *testing.T) {
	t.Parallel()
	h := startHost(t)
	open := hooked(t, h)
	old, err := open().Current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	csr, err := open().CSR(t.Context(), ottr.CSRRequest{CommonName: "web01.example.com", DNSNames: []string{"web01.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	chain := h.ca.Sign(csr, time.Hour)
	heal := func() {
		h.inst.Fail()
		for _, m := range []string{"pre", "post", "reload"} {
			os.Remove(filepath.Join(h.dir, "fail-"+m))
		}
	}
	for _, tc := range []struct {
		name   string
		marker string
		faults []faultbin.Fault
		want   string
	}{
		{name: "pre hook fails", marker: "fail-pre", want: "pre failed"},
		{name: "replacing the chain fails after the key", faults: []faultbin.Fault{{Command: "mv", Match: "web.crt.ottr-new", Message: "mv: No space left on device"}}, want: "No space left"},
		{name: "reload fails", marker: "fail-reload", want: "reload failed"},
		{name: "post hook fails", marker: "fail-post", want: "post failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer heal()
			if err := h.inst.Fail(tc.faults...); err != nil {
				t.Fatal(err)
			}
			if tc.marker != "" {
				os.WriteFile(filepath.Join(h.dir, tc.marker), nil, 0o600)
			}
			err := open().Install(t.Context(), chain)
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			check(t, h, "after the failure", old[0])
		})
	}
	if err := open().Install(t.Context(), chain); err != nil {
		t.Fatalf("retry by a new driver: %v", err)
	}
	check(t, h, "after the retry", chain[0])

	os.WriteFile(filepath.Join(h.dir, "fail-reload"), nil, 0o600)
	if err := open().Restore(t.Context(), old); err == nil || !strings.Contains(err.Error(), "reload failed") {
		t.Fatalf("Restore with a failing reload: %v", err)
	}
	check(t, h, "after a failed Restore", chain[0])
	heal()
	for range 2 {
		if err := open().Restore(t.Context(), old); err != nil {
			t.Fatalf("Restore by a new driver: %v", err)
		}
		check(t, h, "after Restore", old[0])
	}
}
