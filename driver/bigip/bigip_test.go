package bigip_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/bigip"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/internal/rotatetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	simbigip "github.com/ottr-dev/ottr/sim/bigip"
)

const (
	user = "ottr"
	pass = "Bigip.Passw0rd"
)

func lbAsset() *ottr.Asset {
	return &ottr.Asset{SystemName: "lb01.example.com", CommonName: "www.example.com",
		SubjectAlternativeName: []string{"www.example.com", "example.com"}, HostPlatform: "f5", OSVersion: "14.1.0",
		CertificateAuthority: "pebble"}
}

func start(t *testing.T) *simbigip.Device {
	t.Helper()
	dev, err := simbigip.Start(user, pass, "clientssl-www")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

func config(dev *simbigip.Device, a *ottr.Asset, cred ottr.Credential) bigip.Config {
	if cred == nil {
		cred = ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}
	}
	return bigip.Config{Address: dev.Addr, Serve: dev.VirtualAddr, Profiles: []string{"/Common/clientssl-www"}, Asset: a, Credential: cred}
}

func newDriver(t *testing.T, dev *simbigip.Device, cred ottr.Credential) *bigip.Driver {
	t.Helper()
	d, err := bigip.New(config(dev, lbAsset(), cred))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConformance(t *testing.T) {
	t.Parallel()
	var dev *simbigip.Device
	drivertest.Run(t, drivertest.Harness{
		New: func(t *testing.T) ottr.Driver {
			dev = start(t)
			return newDriver(t, dev, nil)
		},
		CommonName: "www.example.com",
		SANs:       []string{"www.example.com", "example.com"},
		KeyTypes:   []string{"p256", "p384", "rsa2048"},
		Break:      func(*testing.T) { dev.Close() },
	})
}

func TestConfigErrors(t *testing.T) {
	t.Parallel()
	_, err := bigip.New(bigip.Config{Asset: lbAsset(), Address: "nope", Profiles: []string{"clientssl"}})
	for _, f := range []string{"address", "profiles[0]", "serve", "credential"} {
		if !strings.Contains(strings.Join(problemFields(err), " "), f) {
			t.Errorf("no problem for %s: %v", f, ottr.ErrorProblems(err))
		}
	}
}

func problemFields(err error) []string {
	var out []string
	for _, p := range ottr.ErrorProblems(err) {
		out = append(out, p.Field)
	}
	return out
}

// preloaded is a BIG-IP in service with a company certificate bound.
func preloaded(t *testing.T, ca *testpki.CA) (*simbigip.Device, []*x509.Certificate) {
	t.Helper()
	dev := start(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "www.example.com"}, DNSNames: []string{"www.example.com"}}, key)
	csr, _ := x509.ParseCertificateRequest(der)
	chain := ca.Sign(csr, 30*24*time.Hour)
	dev.Preload("corp-www", key, chain)
	return dev, chain
}

func TestPebbleRotation(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	env := rotatetest.New(t, "www.example.com", "example.com")
	a := lbAsset()
	open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) { return bigip.New(config(dev, a, nil)) }
	rot, err := env.Rotate(t, a, dev.VirtualAddr, open)
	if err != nil || rot.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
	}
	d := newDriver(t, dev, nil)
	cur, _ := d.Current(t.Context())
	inter := x509.NewCertPool()
	for _, c := range cur[1:] {
		inter.AddCert(c)
	}
	if cur[0].Equal(old[0]) || cur[0].SerialNumber.Text(16) != rot.NewSerial {
		t.Fatalf("virtual server serves %x, rotation recorded %s", cur[0].SerialNumber, rot.NewSerial)
	}
	if _, err := cur[0].Verify(x509.VerifyOptions{Roots: env.Roots, Intermediates: inter, DNSName: "example.com"}); err != nil {
		t.Errorf("served chain does not verify against Pebble: %v", err)
	}
	certs, bound, saved := dev.State()
	if !strings.HasPrefix(bound.Cert, "/Common/ottr-") || !strings.HasSuffix(bound.Chain, "-chain.crt") || !saved {
		t.Errorf("binding %+v saved %v", bound, saved)
	}
	if !slices.Contains(certs, "/Common/corp-www.crt") || !slices.Contains(certs, "/Common/default.crt") {
		t.Errorf("certificates Ottr did not make are gone: %v", certs)
	}
	log := rotatetest.Log(rot)
	for _, want := range []string{"made key /Common/ottr-", "configuration saved", "serves serial"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	for _, p := range dev.Paths() {
		if strings.Contains(p, "util/bash") {
			t.Errorf("used the advanced shell: %s", p)
		}
	}
}

func install(t *testing.T, d *bigip.Driver, ca *testpki.CA) ([]*x509.Certificate, error) {
	t.Helper()
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", DNSNames: []string{"www.example.com", "example.com"}})
	if err != nil {
		t.Fatalf("CSR: %v", err)
	}
	chain := ca.Sign(csr, 24*time.Hour)
	return chain, d.Install(t.Context(), chain)
}

func TestFaults(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	t.Run("bad credentials are permanent", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		d := newDriver(t, dev, ottr.Credential{"username": ottr.Secret(user), "password": "wrong"})
		_, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com"})
		if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !ottr.IsPermanent(err) || !strings.Contains(err.Error(), "Authentication failed") || strings.Contains(err.Error(), "Uri:") {
			t.Errorf("wrong password: %v", err)
		}
	})
	t.Run("an expired token is renewed", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		dev.SetFaults(simbigip.Faults{TokenLifetime: 50 * time.Millisecond})
		d := newDriver(t, dev, nil)
		csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", DNSNames: []string{"www.example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
		if err := d.Install(t.Context(), ca.Sign(csr, time.Hour)); err != nil {
			t.Errorf("install after the token expired: %v", err)
		}
	})
	for _, tc := range []struct {
		name   string
		faults simbigip.Faults
		want   string
	}{
		{"device restarting", simbigip.Faults{Restarting: true}, "restarting"},
		{"install refused", simbigip.Faults{ErrorPath: "/mgmt/tm/sys/crypto/cert", Message: "01070712:3: Caught configuration exception (0), disk full."}, "disk full"},
		{"profile refused", simbigip.Faults{ErrorPath: "/mgmt/tm/ltm/profile", Message: "01070734:3: Configuration error: profile locked"}, "profile locked"},
		{"connection dropped during upload", simbigip.Faults{DropUpload: true}, "BIG-IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, old := preloaded(t, ca)
			d := newDriver(t, dev, nil)
			csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", DNSNames: []string{"www.example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			dev.SetFaults(tc.faults)
			err = d.Install(t.Context(), ca.Sign(csr, time.Hour))
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			if cur, _ := d.Current(t.Context()); len(cur) == 0 || !cur[0].Equal(old[0]) {
				t.Error("the virtual server no longer serves the old certificate")
			}
			dev.SetFaults(simbigip.Faults{})
			if err := d.Install(t.Context(), ca.Sign(csr, time.Hour)); err != nil {
				t.Errorf("retry after recovery: %v", err)
			}
		})
	}
	t.Run("a request without every name is refused", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		dev.SetFaults(simbigip.Faults{DropSANs: true})
		d := newDriver(t, dev, nil)
		_, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", DNSNames: []string{"www.example.com", "example.com"}})
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "example.com") {
			t.Errorf("dropped SANs: %v", err)
		}
	})
}

func TestPruneAndRestore(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	d := newDriver(t, dev, nil)
	var chains [][]*x509.Certificate
	for range 3 {
		c, err := install(t, d, ca)
		if err != nil {
			t.Fatal(err)
		}
		chains = append(chains, c)
	}
	certs, _, _ := dev.State()
	ours := 0
	for _, c := range certs {
		if strings.HasPrefix(c, "/Common/ottr-") && !strings.HasSuffix(c, "-chain.crt") {
			ours++
		}
	}
	if ours != 2 || !slices.Contains(certs, "/Common/corp-www.crt") {
		t.Errorf("after three rotations: %v", certs)
	}
	if err := d.Restore(t.Context(), chains[1]); err != nil {
		t.Fatal(err)
	}
	if cur, _ := d.Current(t.Context()); !cur[0].Equal(chains[1][0]) {
		t.Error("Restore did not bring back the previous certificate")
	}
	if err := d.Restore(t.Context(), old); err != nil {
		t.Errorf("Restore to the original: %v", err)
	}
	if err := d.Restore(t.Context(), chains[0]); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("Restore to a pruned certificate: %v", err)
	}
}

func TestFailedRotations(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	for _, tc := range []struct {
		name   string
		faults simbigip.Faults
		want   string
	}{
		{"bad credentials", simbigip.Faults{BadCredentials: true}, "Authentication failed"},
		{"device restarting", simbigip.Faults{Restarting: true}, "restarting"},
		{"profile refused", simbigip.Faults{ErrorPath: "/mgmt/tm/ltm/profile", Message: "01070734:3: Configuration error: profile locked"}, "profile locked"},
		{"request without every name", simbigip.Faults{DropSANs: true}, "leaves out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, old := preloaded(t, ca)
			env := rotatetest.New(t, "www.example.com", "example.com")
			open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
				dev.SetFaults(tc.faults) // after preflight read what is served
				return bigip.New(config(dev, a, nil))
			}
			env.Failed(t, lbAsset(), dev.VirtualAddr, open, tc.want, old[0], func() (*x509.Certificate, error) {
				dev.SetFaults(simbigip.Faults{})
				cur, err := newDriver(t, dev, nil).Current(t.Context())
				if err != nil {
					return nil, err
				}
				return cur[0], nil
			})
		})
	}
}
