package netscaler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/netscaler"
	"github.com/ottr-dev/ottr/internal/testpki"
	simns "github.com/ottr-dev/ottr/sim/netscaler"
)

// checkADC asserts the first virtual server serves want (a pair is loaded
// only when its key matches, so that is a pair), both virtual servers bind
// pair, the running configuration is the saved one, and no certificate
// this driver uploaded is left on disk without a pair.
func checkADC(t *testing.T, dev *simns.Device, what string, want []byte, pair string) {
	t.Helper()
	cur, err := newDriver(t, dev, nil).Current(t.Context())
	if err != nil || string(cur[0].Raw) != string(want) {
		t.Errorf("%s: vs_www serves %v (%v), not the expected certificate", what, cur, err)
	}
	for _, vs := range []string{"vs_www", "vs_api"} {
		if got := dev.Bound(vs); got != pair {
			t.Errorf("%s: %s binds %q, want %q", what, vs, got, pair)
		}
	}
	if !dev.Saved() {
		t.Errorf("%s: the running configuration is not the saved one", what)
	}
	pairs := dev.CertKeys()
	for _, f := range dev.Files() {
		if base, ok := strings.CutSuffix(f, ".crt"); ok && strings.HasPrefix(f, "ottr-") {
			if _, used := pairs[base]; !used {
				t.Errorf("%s: %s left on the appliance without a pair", what, f)
			}
		}
	}
}

// A failure at each point of Install leaves the NetScaler serving its
// certificate, both virtual servers as they were and saved, and no
// uploaded certificate; a new driver's retry installs onto the key made
// earlier, and a new driver restores the previous pair, through a failing
// save too, repeatably.
func TestFailuresLeaveTheADCAsItWas(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	open := func() *netscaler.Driver {
		d, err := netscaler.New(config(dev, lbAsset(), nil))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	csr, err := open().CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", DNSNames: []string{"www.example.com", "example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	chain := ca.Sign(csr, time.Hour)
	for _, tc := range []struct {
		name   string
		faults simns.Faults
		want   string
	}{
		{"connection dropped during upload", simns.Faults{DropUpload: true}, "NetScaler"},
		{"pair refused", simns.Faults{ErrorOn: "sslcertkey", ErrorMethod: "POST", ErrorAction: "", Errorcode: 1567, Message: "Internal Error"}, "Internal Error"},
		{"link refused", simns.Faults{ErrorOn: "sslcertkey", ErrorAction: "link", Errorcode: 1548, Message: "Issuer certificate mismatch"}, "Issuer certificate mismatch"},
		{"second virtual server refused after the first", simns.Faults{ErrorOn: "sslvserver_sslcertkey_binding", ErrorMethod: "PUT", ErrorBody: `"vservername":"vs_api"`,
			Errorcode: 3604, Message: "No usable ciphers configured on the SSL vserver/service"}, "No usable ciphers"},
		{"save fails", simns.Faults{ErrorOn: "nsconfig", Errorcode: 293, Message: "Configuration could not be saved"}, "could not be saved"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev.SetFaults(tc.faults)
			err := open().Install(t.Context(), chain)
			dev.SetFaults(simns.Faults{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			checkADC(t, dev, "after the failure", old[0].Raw, "corp-www")
		})
	}
	if err := open().Install(t.Context(), chain); err != nil {
		t.Fatalf("retry by a new driver: %v", err)
	}
	pair := dev.Bound("vs_www")
	if !strings.HasPrefix(pair, "ottr-") {
		t.Fatalf("bound %q after the retry", pair)
	}
	checkADC(t, dev, "after the retry", chain[0].Raw, pair)

	dev.SetFaults(simns.Faults{ErrorOn: "nsconfig", Errorcode: 293, Message: "Configuration could not be saved"})
	if err := open().Restore(t.Context(), old); err == nil {
		t.Fatal("Restore succeeded though the save failed")
	}
	dev.SetFaults(simns.Faults{})
	checkADC(t, dev, "after a failed Restore", chain[0].Raw, pair)
	for range 2 {
		if err := open().Restore(t.Context(), old); err != nil {
			t.Fatalf("Restore by a new driver: %v", err)
		}
		checkADC(t, dev, "after Restore", old[0].Raw, "corp-www")
	}
	noKeyRead(t, dev)
}
