package lighthouse_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/driver/lighthouse"
	"github.com/ottr-dev/ottr/internal/rotatetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	simlh "github.com/ottr-dev/ottr/sim/lighthouse"
)

const (
	user = "root"
	pass = "Console.Passw0rd"
)

func consoleAsset(sans ...string) *ottr.Asset {
	if len(sans) == 0 {
		sans = []string{"console01.example.com"}
	}
	return &ottr.Asset{SystemName: "console01.example.com", CommonName: "console01.example.com", SubjectAlternativeName: sans,
		HostPlatform: "lighthouse", OSVersion: "21.Q2.0", CertificateAuthority: "pebble"}
}

func start(t *testing.T) *simlh.Device {
	t.Helper()
	dev, err := simlh.Start(user, pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

func newDriver(t *testing.T, dev *simlh.Device, a *ottr.Asset, offDevice bool, cred ottr.Credential) *lighthouse.Driver {
	t.Helper()
	if cred == nil {
		cred = ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}
	}
	d, err := lighthouse.New(lighthouse.Config{Address: dev.Addr, Asset: a, Credential: cred, KeyOffDevice: offDevice})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConformance(t *testing.T) {
	t.Parallel()
	t.Run("key on the device, common name only", func(t *testing.T) {
		var dev *simlh.Device
		drivertest.Run(t, drivertest.Harness{
			New: func(t *testing.T) ottr.Driver {
				dev = start(t)
				return newDriver(t, dev, consoleAsset(), false, nil)
			},
			CommonName: "console01.example.com",
			KeyTypes:   []string{"rsa2048"},
			Break:      func(*testing.T) { dev.Close() },
		})
	})
	t.Run("key off the device, every name", func(t *testing.T) {
		var dev *simlh.Device
		sans := []string{"console01.example.com", "oob.example.com"}
		drivertest.Run(t, drivertest.Harness{
			New: func(t *testing.T) ottr.Driver {
				dev = start(t)
				return newDriver(t, dev, consoleAsset(sans...), true, nil)
			},
			CommonName: "console01.example.com",
			SANs:       sans,
			KeyTypes:   []string{"p256", "rsa2048"},
			Break:      func(*testing.T) { dev.Close() },
		})
	})
}

// TestPebbleRotation rotates a Lighthouse whose certificate needs two
// names, so the key is made in Ottr (key_off_device) and sent with the
// certificate.
func TestPebbleRotation(t *testing.T) {
	t.Parallel()
	dev := start(t)
	env := rotatetest.New(t, "console01.example.com", "oob.example.com")
	open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
		return lighthouse.New(lighthouse.Config{Address: dev.Addr, Asset: a, KeyOffDevice: true,
			Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}})
	}
	a := consoleAsset("console01.example.com", "oob.example.com")
	rot, err := env.Rotate(t, a, dev.Addr, open)
	if err != nil || rot.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
	}
	cur, _ := newDriver(t, dev, a, true, nil).Current(t.Context())
	if cur[0].SerialNumber.Text(16) != rot.NewSerial || len(cur[0].DNSNames) != 2 {
		t.Errorf("serves %x %v, recorded %s", cur[0].SerialNumber, cur[0].DNSNames, rot.NewSerial)
	}
	if !strings.Contains(rotatetest.Log(rot), "key_off_device") {
		t.Errorf("the log does not say where the key was made:\n%s", rotatetest.Log(rot))
	}
}

// TestSubjectOnlyRequest: the Lighthouse's own request names the host in
// the subject only. Ottr orders it (RFC 8555 allows that, and Ottr's users
// got such certificates from Let's Encrypt), but a CA that insists on the
// SAN extension, as Pebble does, refuses it: the rotation fails at the
// order with the CA's reason and the device keeps its certificate.
func TestSubjectOnlyRequest(t *testing.T) {
	t.Parallel()
	dev := start(t)
	env := rotatetest.New(t, "console01.example.com")
	d := newDriver(t, dev, consoleAsset(), false, nil)
	before, _ := d.Current(t.Context())
	open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
		return lighthouse.New(lighthouse.Config{Address: dev.Addr, Asset: a, Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}})
	}
	rot, err := env.Rotate(t, consoleAsset(), dev.Addr, open)
	log := rotatetest.Log(rot)
	if err == nil || rot.State != ottr.StateFailed || rot.Step != ottr.StepOrder || !strings.Contains(rot.Error, "different number of DNSnames") ||
		!strings.Contains(log, "the Lighthouse made an RSA 2048 key") {
		t.Fatalf("rotation %s at %s: %v\n%s", rot.State, rot.Step, err, log)
	}
	if cur, _ := d.Current(t.Context()); !cur[0].Equal(before[0]) {
		t.Error("the device's certificate changed")
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	t.Run("more names than the device can request", func(t *testing.T) {
		dev := start(t)
		d := newDriver(t, dev, consoleAsset("console01.example.com", "oob.example.com"), false, nil)
		_, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com", DNSNames: []string{"console01.example.com", "oob.example.com"}})
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "oob.example.com") || !strings.Contains(err.Error(), "key_off_device") {
			t.Errorf("multi-name asset: %v", err)
		}
		if dev.Puts() != 0 {
			t.Error("the device was changed before refusing")
		}
	})
	t.Run("bad credentials are permanent", func(t *testing.T) {
		dev := start(t)
		d := newDriver(t, dev, consoleAsset(), false, ottr.Credential{"username": ottr.Secret(user), "password": "nope"})
		_, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com"})
		if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !ottr.IsPermanent(err) || !strings.Contains(err.Error(), "Invalid login credentials") {
			t.Errorf("wrong password: %v", err)
		}
	})
	t.Run("a failed push is transient and changes nothing", func(t *testing.T) {
		dev := start(t)
		d := newDriver(t, dev, consoleAsset(), false, nil)
		before, _ := d.Current(t.Context())
		csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		chain := ca.Sign(csr, time.Hour)
		dev.SetFaults(simlh.Faults{PushFail: true})
		if err := d.Install(t.Context(), chain); err == nil || ottr.IsPermanent(err) || !strings.Contains(err.Error(), "Push command failed") {
			t.Fatalf("push failure: %v", err)
		}
		if cur, _ := d.Current(t.Context()); !cur[0].Equal(before[0]) {
			t.Error("the certificate changed although the push failed")
		}
		dev.SetFaults(simlh.Faults{RestartFor: 300 * time.Millisecond})
		if err := d.Install(t.Context(), chain); err != nil {
			t.Errorf("install through a slow restart: %v", err)
		}
	})
	t.Run("a certificate for another key is refused", func(t *testing.T) {
		dev := start(t)
		d := newDriver(t, dev, consoleAsset(), false, nil)
		if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com"}); err != nil {
			t.Fatal(err)
		}
		other, _ := testpki.CSR("console01.example.com")
		err := d.Install(t.Context(), ca.Sign(other, time.Hour))
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "does not match") {
			t.Errorf("foreign key: %v", err)
		}
	})
}

func TestFailedRotations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		faults simlh.Faults
		want   string
	}{
		{"refused login", simlh.Faults{BadCredentials: true}, "Invalid login credentials"},
		{"push fails", simlh.Faults{PushFail: true}, "Push command failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev := start(t)
			d := newDriver(t, dev, consoleAsset(), true, nil)
			before, _ := d.Current(t.Context())
			dev.SetFaults(tc.faults)
			env := rotatetest.New(t, "console01.example.com")
			open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
				return lighthouse.New(lighthouse.Config{Address: dev.Addr, Asset: a, KeyOffDevice: true,
					Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}})
			}
			env.Failed(t, consoleAsset(), dev.Addr, open, tc.want, before[0], func() (*x509.Certificate, error) {
				cur, err := d.Current(t.Context())
				if err != nil {
					return nil, err
				}
				return cur[0], nil
			})
		})
	}
}
