package panos_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	simpanos "github.com/ottr-dev/ottr/sim/panos"
)

// checkFirewall asserts the firewall serves want (a certificate entry
// holds its key with it, so what is served is a pair) and that both the
// running and the candidate configuration bind entry, so no later commit
// pushes a half-done change.
func checkFirewall(t *testing.T, dev *simpanos.Device, what string, want []byte, entry string) {
	t.Helper()
	d := newDriver(t, dev, fwAsset(), nil)
	if now := served(t, d); string(now.Raw) != string(want) {
		t.Errorf("%s: serves serial %x, not the expected certificate", what, now.SerialNumber)
	}
	if _, bound := dev.Running(); bound != entry {
		t.Errorf("%s: the running configuration binds %q, want %q", what, bound, entry)
	}
	if cert, mgmt := dev.Candidate(); cert != entry || mgmt != "otter" {
		t.Errorf("%s: the candidate binds %q through %q, want %q through otter", what, cert, mgmt, entry)
	}
}

// A failure at each point of Install leaves the firewall serving its
// certificate with both configurations binding it; a new driver's retry
// installs onto the key made earlier, and a new driver restores the
// previous certificate, through a failing commit too, repeatably.
func TestFailuresLeaveTheFirewallAsItWas(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	csr, err := newDriver(t, dev, fwAsset(), nil).CSR(t.Context(), ottr.CSRRequest{CommonName: "fw01.example.com", DNSNames: []string{"fw01.example.com", "vpn.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	chain := ca.Sign(csr, time.Hour)
	for _, tc := range []struct {
		name   string
		faults simpanos.Faults
		want   string
	}{
		{"reading the configuration fails", simpanos.Faults{ErrorOn: "config", Message: "Configuration is locked"}, "locked"},
		{"import refused", simpanos.Faults{ErrorOn: "import", Message: "Import failed: disk full"}, "disk full"},
		{"connection dropped during import", simpanos.Faults{DropImport: true}, "PAN-OS"},
		{"management interface refused after the profile", simpanos.Faults{RefuseXPath: "deviceconfig/system", Message: "system is locked by admin2"}, "locked by admin2"},
		{"commit refused", simpanos.Faults{ErrorOn: "commit", Message: "Another commit is in progress"}, "Another commit"},
		{"commit job fails", simpanos.Faults{CommitFail: "ssl-tls-service-profile -> ottr: unsupported curve"}, "unsupported curve"},
		{"polling the commit fails", simpanos.Faults{ErrorOn: "op", Message: "Server error"}, "Server error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev.SetFaults(tc.faults)
			defer dev.SetFaults(simpanos.Faults{})
			err := newDriver(t, dev, fwAsset(), nil).Install(t.Context(), chain)
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			dev.SetFaults(simpanos.Faults{})
			checkFirewall(t, dev, "after the failure", old[0].Raw, "corp-mgmt-2025")
		})
	}
	if err := newDriver(t, dev, fwAsset(), nil).Install(t.Context(), chain); err != nil {
		t.Fatalf("retry by a new driver: %v", err)
	}
	_, target := dev.Running()
	if !strings.HasPrefix(target, "otter_panos_") {
		t.Fatalf("bound %q after the retry", target)
	}
	checkFirewall(t, dev, "after the retry", chain[0].Raw, target)

	dev.SetFaults(simpanos.Faults{CommitFail: "profile in use by a GlobalProtect portal being edited"})
	if err := newDriver(t, dev, fwAsset(), nil).Restore(t.Context(), old); err == nil || !strings.Contains(err.Error(), "being edited") {
		t.Fatalf("Restore with a failing commit: %v", err)
	}
	dev.SetFaults(simpanos.Faults{})
	checkFirewall(t, dev, "after a failed Restore", chain[0].Raw, target)
	for range 2 {
		if err := newDriver(t, dev, fwAsset(), nil).Restore(t.Context(), old); err != nil {
			t.Fatalf("Restore by a new driver: %v", err)
		}
		checkFirewall(t, dev, "after Restore", old[0].Raw, "corp-mgmt-2025")
	}
}

// On a firewall still on its factory certificate (no profile bound), a
// failed commit leaves the candidate without a management profile, as
// it was.
func TestFailedCommitOnAFactoryFirewall(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev := start(t)
	d := newDriver(t, dev, fwAsset(), nil)
	factory := served(t, d)
	dev.SetFaults(simpanos.Faults{CommitFail: "no"})
	if _, err := install(t, d, ca); err == nil {
		t.Fatal("commit failure not reported")
	}
	dev.SetFaults(simpanos.Faults{})
	if _, mgmt := dev.Candidate(); mgmt != "" {
		t.Errorf("the candidate gives the management interface profile %q", mgmt)
	}
	if now := served(t, d); !now.Equal(factory) {
		t.Error("the factory certificate is no longer served")
	}
}
