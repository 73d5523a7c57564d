package junos_test

import (
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/junos"
	"github.com/ottr-dev/ottr/internal/testpki"
	simjunos "github.com/ottr-dev/ottr/sim/junos"
)

const webLine = "set system services web-management https pki-local-certificate "

// checkJunos asserts J-Web serves want (a local certificate is loaded
// onto its own key pair, so that is a pair), the committed configuration
// binds id, no change is pending in the candidate, and, unless the last
// session dropped (only the next one can clean up), nothing is left in
// /var/tmp.
func checkJunos(t *testing.T, dev *simjunos.Device, kh, what string, want *x509.Certificate, id string, tmpClean bool) {
	t.Helper()
	cur, err := newDriver(t, dev, kh).Current(t.Context())
	if err != nil || !cur[0].Equal(want) {
		t.Errorf("%s: J-Web serves %v (%v), want serial %x", what, cur, err, want.SerialNumber)
	}
	lines, _ := dev.Committed()
	if !slices.Contains(lines, webLine+id) {
		t.Errorf("%s: committed %v, want J-Web on %s", what, lines, id)
	}
	if cand := dev.Candidate(); !slices.Equal(cand, lines) {
		t.Errorf("%s: changes pending in the candidate: %v", what, cand)
	}
	if files := dev.Files(); tmpClean && len(files) > 0 {
		t.Errorf("%s: files left in /var/tmp: %v", what, files)
	}
}

// A failure at each point of Install leaves J-Web serving its certificate,
// committed and with nothing pending; a link lost mid-way leaves files
// the next session deletes. Each retry goes on from where the last one
// got (the leaf loaded), a new driver's retry installs, and a new driver
// restores, through a failing commit too, repeatably.
func TestFailuresLeaveTheDeviceAsItWas(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, kh := start(t)
	csr, key := testpki.CSR("srx1.example.com", "srx1.example.com")
	old := ca.Sign(csr, 30*24*time.Hour)
	dev.Preload("corp-web", key, old)
	req, err := newDriver(t, dev, kh).CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	chain := ca.Sign(req, time.Hour)
	for _, tc := range []struct {
		name     string
		faults   simjunos.Faults
		want     string
		tmpClean bool
	}{
		{"link lost while putting a file", simjunos.Faults{DropFilePut: true}, "file-put", true},
		{"configuration locked by another session", simjunos.Faults{LockedBy: "admin2"}, "locked by", true},
		{"CA profile commit fails", simjunos.Faults{CommitError: "security pki ca-profile: commit check failed"}, "commit check failed", true},
		{"link lost after loading the certificate", simjunos.Faults{DropAfter: "local-certificate load"}, "netconf", false},
		{"J-Web commit fails", simjunos.Faults{CommitError: "web-management: https is not enabled"}, "https is not enabled", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev.SetFaults(tc.faults)
			err := newDriver(t, dev, kh).Install(t.Context(), chain)
			dev.SetFaults(simjunos.Faults{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			checkJunos(t, dev, kh, "after the failure", old[0], "corp-web", tc.tmpClean)
		})
	}
	if err := newDriver(t, dev, kh).Install(t.Context(), chain); err != nil {
		t.Fatalf("retry by a new driver: %v", err)
	}
	lines, _ := dev.Committed()
	id := ""
	for _, l := range lines {
		if after, ok := strings.CutPrefix(l, webLine); ok {
			id = after
		}
	}
	if !strings.HasPrefix(id, "ottr-") {
		t.Fatalf("J-Web on %q after the retry", id)
	}
	checkJunos(t, dev, kh, "after the retry", chain[0], id, true)

	dev.SetFaults(simjunos.Faults{CommitError: "web-management: https is not enabled"})
	if err := newDriver(t, dev, kh).Restore(t.Context(), old); err == nil {
		t.Fatal("Restore succeeded though the commit failed")
	}
	dev.SetFaults(simjunos.Faults{})
	checkJunos(t, dev, kh, "after a failed Restore", chain[0], id, true)
	for range 2 {
		if err := newDriver(t, dev, kh).Restore(t.Context(), old); err != nil {
			t.Fatalf("Restore by a new driver: %v", err)
		}
		checkJunos(t, dev, kh, "after Restore", old[0], "corp-web", true)
	}
}

// A key made off the device and put in /var/tmp with its certificate is
// deleted by the next session when the link was lost before the load
// finished; the retry in another process, without the key, is refused
// saying why, and J-Web keeps its certificate.
func TestOffDeviceKeyLeftByALostLinkIsDeleted(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, kh := start(t)
	sans := []string{"srx1.example.com", "vpn.example.com"}
	open := func() *junos.Driver {
		a := srxAsset()
		a.SubjectAlternativeName = sans
		c := config(dev, kh, a, nil)
		c.KeyOffDevice = true
		d, err := junos.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	before, _ := open().Current(t.Context())
	d := open()
	req, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com", DNSNames: sans})
	if err != nil {
		t.Fatal(err)
	}
	chain := ca.Sign(req, time.Hour)
	dev.SetFaults(simjunos.Faults{DropAfter: "ca-certificate load"})
	if err := d.Install(t.Context(), chain); err == nil {
		t.Fatal("Install succeeded though the link was lost")
	}
	dev.SetFaults(simjunos.Faults{})
	if !slices.ContainsFunc(dev.Files(), func(f string) bool { return strings.HasSuffix(f, ".key") }) {
		t.Fatalf("the lost link left no key file to clean up (files %v): the test does not test", dev.Files())
	}
	err = open().Install(t.Context(), chain)
	if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "no key pair made by Ottr") {
		t.Errorf("retry without the key: %v", err)
	}
	if files := dev.Files(); len(files) > 0 {
		t.Errorf("files left in /var/tmp after the next session: %v", files)
	}
	if cur, _ := open().Current(t.Context()); !cur[0].Equal(before[0]) {
		t.Error("J-Web no longer serves its certificate")
	}
}
