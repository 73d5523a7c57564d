package lighthouse_test

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	simlh "github.com/ottr-dev/ottr/sim/lighthouse"
)

// serves asserts the Lighthouse serves want: the handshake proves the
// served key is the certificate's.
func serves(t *testing.T, dev *simlh.Device, what string, want *x509.Certificate) {
	t.Helper()
	cur, err := newDriver(t, dev, consoleAsset(), false, nil).Current(t.Context())
	if err != nil || !cur[0].Equal(want) {
		t.Errorf("%s: serves %v (%v), want serial %x", what, cur, err, want.SerialNumber)
	}
}

// A failure at each point of CSR and Install leaves the Lighthouse serving
// its certificate with its key, and the key made on the device waiting:
// a new driver's retry (another process) installs it. There is no
// Restore: one slot, and the replaced key cannot be read back.
func TestFailuresLeaveTheLighthouseAsItWas(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev := start(t)
	open := func() ottr.Driver { return newDriver(t, dev, consoleAsset(), false, nil) }
	old, err := open().Current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	req := ottr.CSRRequest{CommonName: "console01.example.com"}
	for _, tc := range []struct {
		name   string
		faults simlh.Faults
		want   string
	}{
		{"login refused", simlh.Faults{BadCredentials: true}, "Invalid login credentials"},
		{"request refused", simlh.Faults{PushFail: true}, "Push command failed"},
		{"request download fails", simlh.Faults{FailCSRDownload: true}, "Failed to read"},
	} {
		t.Run("CSR: "+tc.name, func(t *testing.T) {
			dev.SetFaults(tc.faults)
			_, err := open().(ottr.CSRMaker).CSR(t.Context(), req)
			dev.SetFaults(simlh.Faults{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("CSR: %v, want an error naming %q", err, tc.want)
			}
			serves(t, dev, "after the failure", old[0])
		})
	}
	csr, err := open().(ottr.CSRMaker).CSR(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	chain := ca.Sign(csr, time.Hour)
	other, _ := testpki.CSR("console01.example.com")
	for _, tc := range []struct {
		name      string
		faults    simlh.Faults
		chain     []*x509.Certificate
		want      string
		permanent bool
	}{
		{"login refused", simlh.Faults{BadCredentials: true}, chain, "Invalid login credentials", true},
		{"push fails", simlh.Faults{PushFail: true}, chain, "Push command failed", false},
		{"a certificate for another key", simlh.Faults{}, ca.Sign(other, time.Hour), "does not match", true},
	} {
		t.Run("Install: "+tc.name, func(t *testing.T) {
			dev.SetFaults(tc.faults)
			err := open().Install(t.Context(), tc.chain)
			dev.SetFaults(simlh.Faults{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) != tc.permanent {
				t.Fatalf("Install: %v, want an error naming %q (permanent %v)", err, tc.want, tc.permanent)
			}
			serves(t, dev, "after the failure", old[0])
			if !dev.Pending() {
				t.Error("the key made on the device is gone, so a retry cannot install")
			}
		})
	}
	dev.SetFaults(simlh.Faults{RestartFor: 300 * time.Millisecond})
	if err := open().Install(t.Context(), chain); err != nil {
		t.Fatalf("retry by a new driver: %v", err)
	}
	serves(t, dev, "after the retry", chain[0])
	if err := open().Install(t.Context(), chain); err != nil {
		t.Errorf("repeated install: %v", err)
	}
	if _, ok := open().(ottr.Restorer); ok {
		t.Error("the driver claims to restore; doc.go says why it cannot")
	}
}
