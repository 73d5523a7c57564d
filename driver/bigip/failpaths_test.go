package bigip_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/bigip"
	"github.com/ottr-dev/ottr/internal/testpki"
	simbigip "github.com/ottr-dev/ottr/sim/bigip"
)

// checkBigIP asserts the virtual server serves want (the device checks
// each profile's key matches its certificate, so that is a pair), both
// profiles bind want's objects, the running configuration is the saved
// one, and no uploaded file is left in the REST areas.
func checkBigIP(t *testing.T, dev *simbigip.Device, what string, want []byte, b simbigip.Profile) {
	t.Helper()
	cur, err := newDriver(t, dev, nil).Current(t.Context())
	if err != nil || string(cur[0].Raw) != string(want) {
		t.Errorf("%s: the virtual server serves %v (%v), not the expected certificate", what, cur, err)
	}
	for _, p := range []string{"clientssl-www", "clientssl-api"} {
		if got := dev.Profile(p); got != b {
			t.Errorf("%s: profile %s binds %+v, want %+v", what, p, got, b)
		}
	}
	if _, _, saved := dev.State(); !saved {
		t.Errorf("%s: the running configuration is not the saved one", what)
	}
	if up := dev.Uploads(); len(up) > 0 {
		t.Errorf("%s: files left on the device: %v", what, up)
	}
}

// A failure at each point of Install leaves the BIG-IP serving its
// certificate, both profiles as they were and saved, and no uploaded file;
// a new driver's retry installs onto the key made earlier, and a new
// driver restores the previous binding, through a failing save too,
// repeatably.
func TestFailuresLeaveTheBigIPAsItWas(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	dev.AddProfile("clientssl-api")
	open := func() *bigip.Driver {
		c := config(dev, lbAsset(), nil)
		c.Profiles = []string{"/Common/clientssl-www", "/Common/clientssl-api"}
		d, err := bigip.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	oldBinding := dev.Profile("clientssl-www")
	csr, err := open().CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", DNSNames: []string{"www.example.com", "example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	chain := ca.Sign(csr, time.Hour)
	for _, tc := range []struct {
		name   string
		faults simbigip.Faults
		want   string
	}{
		{"connection dropped during upload", simbigip.Faults{DropUpload: true}, "BIG-IP"},
		{"certificate install refused", simbigip.Faults{ErrorPath: "/mgmt/tm/sys/crypto/cert", Message: "01070712:3: Caught configuration exception (0), disk full."}, "disk full"},
		{"second profile refused after the first", simbigip.Faults{ErrorPath: "/mgmt/tm/ltm/profile/client-ssl/~Common~clientssl-api", ErrorMethod: http.MethodPatch,
			Message: "01070734:3: Configuration error: profile locked"}, "profile locked"},
		{"save fails", simbigip.Faults{ErrorPath: "/mgmt/tm/sys/config", Message: "01070711:3: Caught error saving the configuration"}, "saving the configuration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev.SetFaults(tc.faults)
			err := open().Install(t.Context(), chain)
			dev.SetFaults(simbigip.Faults{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			checkBigIP(t, dev, "after the failure", old[0].Raw, oldBinding)
		})
	}
	if err := open().Install(t.Context(), chain); err != nil {
		t.Fatalf("retry by a new driver: %v", err)
	}
	newBinding := dev.Profile("clientssl-www")
	if !strings.HasPrefix(newBinding.Cert, "/Common/ottr-") {
		t.Fatalf("bound %+v after the retry", newBinding)
	}
	checkBigIP(t, dev, "after the retry", chain[0].Raw, newBinding)

	dev.SetFaults(simbigip.Faults{ErrorPath: "/mgmt/tm/sys/config", Message: "01070711:3: Caught error saving the configuration"})
	if err := open().Restore(t.Context(), old); err == nil {
		t.Fatal("Restore succeeded though the save failed")
	}
	dev.SetFaults(simbigip.Faults{})
	checkBigIP(t, dev, "after a failed Restore", chain[0].Raw, newBinding)
	for range 2 {
		if err := open().Restore(t.Context(), old); err != nil {
			t.Fatalf("Restore by a new driver: %v", err)
		}
		checkBigIP(t, dev, "after Restore", old[0].Raw, oldBinding)
	}
}
