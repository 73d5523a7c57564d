package redfish_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/redfish"
	"github.com/ottr-dev/ottr/internal/rotatetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	simredfish "github.com/ottr-dev/ottr/sim/redfish"
)

func opener(dev *simredfish.Device) func(context.Context, *ottr.Asset) (ottr.Driver, error) {
	return func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
		c := config(dev)
		c.Asset = a
		return redfish.New(c)
	}
}

// TestPebbleRotation runs whole rotations against simulated BMCs: key and
// request on the BMC, Pebble through DNS-01, install (ReplaceCertificate
// and a reset on iDRAC, a task on XCC, POST to the collection on
// Supermicro), verify by TLS handshake against Pebble's roots, record.
func TestPebbleRotation(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	for _, profile := range []string{"idrac", "xcc", "supermicro"} {
		t.Run(profile, func(t *testing.T) {
			dev, old := preloaded(t, profile, ca)
			env := rotatetest.New(t, "bmc01.example.com", "ipmi01.example.com")
			a := bmcAsset()
			rot, err := env.Rotate(t, a, dev.Addr, opener(dev))
			if err != nil || rot.State != ottr.StateSucceeded {
				t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
			}
			d := newDriver(t, config(dev))
			chain, _ := d.Current(t.Context())
			now := chain[0]
			if now.Equal(old[0]) || now.SerialNumber.Text(16) != rot.NewSerial {
				t.Fatalf("the BMC serves %x, the rotation recorded %s", now.SerialNumber, rot.NewSerial)
			}
			inter := x509.NewCertPool()
			for _, c := range chain[1:] {
				inter.AddCert(c)
			}
			if _, err := now.Verify(x509.VerifyOptions{Roots: env.Roots, Intermediates: inter, DNSName: "ipmi01.example.com"}); err != nil {
				t.Errorf("the served certificate does not verify against Pebble: %v", err)
			}
			stored, _ := env.DB.GetAsset(t.Context(), a.SystemName)
			if stored.CertificateExpiration == nil || !stored.CertificateExpiration.Equal(now.NotAfter) {
				t.Errorf("asset expiry %v, served %v", stored.CertificateExpiration, now.NotAfter)
			}
			log := rotatetest.Log(rot)
			for _, want := range []string{"generated a key and request", "serves serial"} {
				if !strings.Contains(log, want) {
					t.Errorf("log lacks %q:\n%s", want, log)
				}
			}
			if strings.Contains(log, pass) {
				t.Error("the password reached the rotation's log")
			}
			if profile == "idrac" && !strings.Contains(log, "reset the manager") {
				t.Errorf("no reset on iDRAC:\n%s", log)
			}
			if dev.Sessions() != 0 {
				t.Errorf("%d sessions left open", dev.Sessions())
			}
			for _, c := range dev.Calls() {
				if strings.Contains(c, pass) {
					t.Error("the password reached a request line")
				}
			}
		})
	}
}

// TestFailedRotations: whole rotations against a faulty BMC end failed
// with the BMC's reason on the rotation and the asset, and the BMC still
// serves its previous certificate.
func TestFailedRotations(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	for _, tc := range []struct {
		profile, name string
		faults        simredfish.Faults
		want          string
	}{
		{"openbmc", "bad credentials", simredfish.Faults{BadCredentials: true}, "ResourceAtUriUnauthorized"},
		{"openbmc", "device error body", simredfish.Faults{ErrorOn: "ReplaceCertificate", Message: "Certificate store is busy"}, "Certificate store is busy"},
		{"idrac", "connection dropped during the upload", simredfish.Faults{DropUpload: true}, "ReplaceCertificate"},
		{"supermicro", "the BMC lost the request's key", simredfish.Faults{LoseKey: true}, "does not match the private key"},
		{"xcc", "install task fails", simredfish.Faults{TaskFail: "Failed to import the certificate"}, "Failed to import the certificate"},
	} {
		t.Run(tc.profile+"/"+tc.name, func(t *testing.T) {
			dev, old := preloaded(t, tc.profile, ca)
			dev.SetFaults(tc.faults)
			env := rotatetest.New(t, "bmc01.example.com", "ipmi01.example.com")
			d := newDriver(t, config(dev))
			env.Failed(t, bmcAsset(), dev.Addr, opener(dev), tc.want, old[0], func() (*x509.Certificate, error) {
				cur, err := d.Current(t.Context())
				if err != nil {
					return nil, err
				}
				return cur[0], nil
			})
		})
	}
}
