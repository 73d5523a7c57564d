package fortigate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/fortigate"
	"github.com/ottr-dev/ottr/internal/testpki"
	simfortigate "github.com/ottr-dev/ottr/sim/fortigate"
)

// bothBound is the configuration binding the administration port and the
// SSL-VPN portal.
func bothBound(dev *simfortigate.Device) fortigate.Config {
	c := config(dev)
	c.Bind = []string{fortigate.BindAdmin, fortigate.BindSSLVPN}
	c.ServeTimeout = 300 * time.Millisecond
	return c
}

// checkFortiGate asserts what both ports present and what the settings
// name: a local certificate holds its key, so what is served is a pair.
func checkFortiGate(t *testing.T, dev *simfortigate.Device, what string, want []byte, entry string) {
	t.Helper()
	for _, addr := range []string{dev.Addr, dev.VPNAddr} {
		if now := leafAt(t, addr); string(now.Raw) != string(want) {
			t.Errorf("%s: %s presents serial %x, not the expected certificate", what, addr, now.SerialNumber)
		}
	}
	if admin, vpn := dev.Bindings(); admin != entry || vpn != entry {
		t.Errorf("%s: admin-server-cert %q, servercert %q, want %q", what, admin, vpn, entry)
	}
}

// A failure at each step of Install leaves both ports presenting the
// certificate they had, with the settings naming it; a new driver's retry
// installs onto the key made earlier, and a new driver restores the
// previous certificate, through a failing binding too, repeatably.
func TestFailuresLeaveTheFortiGateAsItWas(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	csr, err := open(t, bothBound(dev)).CSR(t.Context(), fgReq)
	if err != nil {
		t.Fatal(err)
	}
	chain := ca.Sign(csr, time.Hour)
	for _, tc := range []struct {
		name   string
		faults simfortigate.Faults
		want   string
	}{
		{"listing the certificates fails", simfortigate.Faults{ErrorOn: "GET /api/v2/cmdb/vpn.certificate/local", Code: -1}, "error -1"},
		{"reading the bindings fails", simfortigate.Faults{ErrorOn: "GET /api/v2/cmdb/system/global", Code: -1}, "GET cmdb/system/global"},
		{"import refused", simfortigate.Faults{ErrorOn: "local/import", Code: -4, CLIError: "Maximum number of entries has been reached."}, "Maximum number"},
		{"connection dropped during import", simfortigate.Faults{DropImport: true}, "local/import"},
		{"admin binding refused", simfortigate.Faults{ErrorOn: "PUT /api/v2/cmdb/system/global", Code: -651, CLIError: "node_check_object fail!"}, "node_check_object"},
		{"SSL-VPN binding refused after the admin one", simfortigate.Faults{ErrorOn: "PUT /api/v2/cmdb/vpn.ssl/settings", Code: -651,
			CLIError: "SSL-VPN settings are locked by another administrator"}, "locked by another administrator"},
		{"the new certificate is not presented in time", simfortigate.Faults{RestartFor: time.Hour}, "the administration port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev.SetFaults(tc.faults)
			defer dev.SetFaults(simfortigate.Faults{})
			err := open(t, bothBound(dev)).Install(t.Context(), chain)
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			dev.SetFaults(simfortigate.Faults{})
			checkFortiGate(t, dev, "after the failure", old[0].Raw, "corp-gui")
		})
	}
	if err := open(t, bothBound(dev)).Install(t.Context(), chain); err != nil {
		t.Fatalf("retry by a new driver: %v", err)
	}
	target, _ := dev.Bindings()
	if !strings.HasPrefix(target, "ottr-") {
		t.Fatalf("bound %q after the retry", target)
	}
	checkFortiGate(t, dev, "after the retry", chain[0].Raw, target)

	dev.SetFaults(simfortigate.Faults{ErrorOn: "PUT /api/v2/cmdb/vpn.ssl/settings", Code: -651, CLIError: "SSL-VPN settings are being edited"})
	if err := open(t, bothBound(dev)).Restore(t.Context(), old); err == nil || !strings.Contains(err.Error(), "being edited") {
		t.Fatalf("Restore with a refused binding: %v", err)
	}
	dev.SetFaults(simfortigate.Faults{})
	checkFortiGate(t, dev, "after a failed Restore", chain[0].Raw, target)
	for range 2 {
		if err := open(t, bothBound(dev)).Restore(t.Context(), old); err != nil {
			t.Fatalf("Restore by a new driver: %v", err)
		}
		checkFortiGate(t, dev, "after Restore", old[0].Raw, "corp-gui")
	}
	if certs := dev.Certificates(); certs[target].Chain == nil {
		t.Error("Restore deleted the certificate it moved away from")
	}
}
