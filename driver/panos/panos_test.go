package panos_test

import (
	"context"
	"crypto"
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
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/driver/panos"
	"github.com/ottr-dev/ottr/internal/rotatetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	simpanos "github.com/ottr-dev/ottr/sim/panos"
)

const (
	user = "ottr-api"
	pass = "Firewall.Passw0rd"
)

func fwAsset() *ottr.Asset {
	return &ottr.Asset{SystemName: "fw01.example.com", CommonName: "fw01.example.com",
		SubjectAlternativeName: []string{"fw01.example.com", "vpn.example.com"}, HostPlatform: "panos", OSVersion: "10.2.4",
		CertificateAuthority: "pebble", CertificateValidation: false}
}

func start(t *testing.T) *simpanos.Device {
	t.Helper()
	dev, err := simpanos.Start(user, pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

func newDriver(t *testing.T, dev *simpanos.Device, a *ottr.Asset, cred ottr.Credential) *panos.Driver {
	t.Helper()
	if cred == nil {
		cred = ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}
	}
	d, err := panos.New(panos.Config{Address: dev.Addr, Asset: a, Credential: cred, CommitPoll: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConformance(t *testing.T) {
	t.Parallel()
	var dev *simpanos.Device
	drivertest.Run(t, drivertest.Harness{
		New: func(t *testing.T) ottr.Driver {
			dev = start(t)
			return newDriver(t, dev, fwAsset(), nil)
		},
		CommonName: "fw01.example.com",
		SANs:       []string{"fw01.example.com", "vpn.example.com"},
		KeyTypes:   []string{"p256", "p384", "rsa2048"},
		Break:      func(*testing.T) { dev.Close() },
	})
}

// preloaded is a firewall in service: a certificate from the company CA
// bound to the management interface through Ottr's "otter" profile, and one
// certificate Ottr did not make.
func preloaded(t *testing.T, ca *testpki.CA) (*simpanos.Device, []*x509.Certificate) {
	t.Helper()
	dev := start(t)
	old := leaf(t, ca, "fw01.example.com")
	dev.Preload("corp-mgmt-2025", "otter", old.key, old.chain)
	return dev, old.chain
}

type keyed struct {
	key   crypto.Signer
	chain []*x509.Certificate
}

func leaf(t *testing.T, ca *testpki.CA, cn string) keyed {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}}, key)
	csr, _ := x509.ParseCertificateRequest(der)
	return keyed{key, ca.Sign(csr, 30*24*time.Hour)}
}

func served(t *testing.T, d *panos.Driver) *x509.Certificate {
	t.Helper()
	cur, err := d.Current(t.Context())
	if err != nil || len(cur) == 0 {
		t.Fatalf("Current: %v", err)
	}
	return cur[0]
}

// TestPebbleRotation runs a whole rotation against the simulated
// firewall: key and CSR on the device, Pebble through DNS-01, import,
// profile, commit, verify by TLS handshake, record.
func TestPebbleRotation(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	env := rotatetest.New(t, "fw01.example.com", "vpn.example.com")
	a := fwAsset()
	open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
		return panos.New(panos.Config{Address: dev.Addr, Asset: a, CommitPoll: 5 * time.Millisecond,
			Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}})
	}
	rot, err := env.Rotate(t, a, dev.Addr, open)
	if err != nil || rot.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
	}
	d := newDriver(t, dev, a, nil)
	chain, _ := d.Current(t.Context())
	now := chain[0]
	if now.Equal(old[0]) || now.SerialNumber.Text(16) != rot.NewSerial {
		t.Fatalf("the firewall serves %x, rotation recorded %s", now.SerialNumber, rot.NewSerial)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	if _, err := now.Verify(x509.VerifyOptions{Roots: env.Roots, Intermediates: inter, DNSName: "vpn.example.com"}); err != nil {
		t.Errorf("served certificate does not verify against Pebble: %v", err)
	}
	certs, bound := dev.Running()
	if !strings.HasPrefix(bound, "otter_panos_") || certs[bound].Algorithm != "RSA" { // Ottr's name and key
		t.Errorf("bound %q (%+v)", bound, certs[bound])
	}
	if certs["corp-mgmt-2025"] == nil {
		t.Error("the certificate Ottr did not make was deleted")
	}
	stored, _ := env.DB.GetAsset(t.Context(), a.SystemName)
	if stored.CertificateExpiration == nil || !stored.CertificateExpiration.Equal(now.NotAfter) {
		t.Errorf("asset expiry %v, served %v", stored.CertificateExpiration, now.NotAfter)
	}
	log := rotatetest.Log(rot)
	for _, want := range []string{"generated key and request", "commit job", "serves serial"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	calls := dev.Calls()
	if !slices.Contains(calls, "keygen") || !slices.Contains(calls, "import") || !slices.Contains(calls, "commit") {
		t.Errorf("calls: %v", calls)
	}
	for _, c := range calls {
		if strings.Contains(c, pass) {
			t.Error("the password reached a call log")
		}
	}
}

// install has the firewall make a CSR and installs a CA-signed chain for
// it, returning the chain.
func install(t *testing.T, d *panos.Driver, ca *testpki.CA) ([]*x509.Certificate, error) {
	t.Helper()
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fw01.example.com", DNSNames: []string{"fw01.example.com", "vpn.example.com"}})
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
		d := newDriver(t, dev, fwAsset(), ottr.Credential{"username": ottr.Secret(user), "password": "wrong"})
		_, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fw01.example.com"})
		if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !ottr.IsPermanent(err) || !strings.Contains(err.Error(), "Invalid Credential") || strings.Contains(err.Error(), "wrong") {
			t.Errorf("wrong password: %v", err)
		}
		dev.SetFaults(simpanos.Faults{BadCredentials: true})
		d = newDriver(t, dev, fwAsset(), ottr.Credential{"api_key": "LUFRPT1abc="})
		if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fw01.example.com"}); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
			t.Errorf("revoked key: %v", err)
		}
	})

	for _, tc := range []struct {
		name   string
		faults simpanos.Faults
		want   string
	}{
		{"error body with HTTP 200 on import", simpanos.Faults{ErrorOn: "import", Message: "Import failed: disk full"}, "disk full"},
		{"commit fails validation", simpanos.Faults{CommitFail: "ssl-tls-service-profile -> ottr: unsupported curve"}, "unsupported curve"},
		{"connection dropped during import", simpanos.Faults{DropImport: true}, "PAN-OS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, old := preloaded(t, ca)
			d := newDriver(t, dev, fwAsset(), nil)
			csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fw01.example.com", DNSNames: []string{"fw01.example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			dev.SetFaults(tc.faults)
			err = d.Install(t.Context(), ca.Sign(csr, time.Hour))
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			// The firewall still serves the certificate it had, and the
			// running configuration still binds it.
			if now := served(t, d); !now.Equal(old[0]) {
				t.Errorf("serves %x after the failure, want the old %x", now.SerialNumber, old[0].SerialNumber)
			}
			if _, bound := dev.Running(); bound != "corp-mgmt-2025" {
				t.Errorf("running binding %q", bound)
			}
			// Once the device recovers, the same install goes through.
			dev.SetFaults(simpanos.Faults{})
			if err := d.Install(t.Context(), ca.Sign(csr, time.Hour)); err != nil {
				t.Errorf("retry after recovery: %v", err)
			}
		})
	}

	t.Run("a failed commit leaves the candidate as running", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		d := newDriver(t, dev, fwAsset(), nil)
		dev.SetFaults(simpanos.Faults{CommitFail: "no"})
		if _, err := install(t, d, ca); err == nil {
			t.Fatal("commit failure not reported")
		}
		dev.SetFaults(simpanos.Faults{})
		// Another administrator's commit must not push the half-done change.
		certs, _ := dev.Running()
		if len(certs) != 1 {
			t.Errorf("running config gained %d certificates", len(certs)-1)
		}
	})

	t.Run("slow commit is waited for", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		dev.SetFaults(simpanos.Faults{CommitPolls: 6})
		d := newDriver(t, dev, fwAsset(), nil)
		chain, err := install(t, d, ca)
		if err != nil {
			t.Fatal(err)
		}
		if !served(t, d).Equal(chain[0]) {
			t.Error("not served after a slow commit")
		}
	})

	t.Run("a request without every name is refused", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		dev.SetFaults(simpanos.Faults{DropSANs: true})
		d := newDriver(t, dev, fwAsset(), nil)
		_, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fw01.example.com", DNSNames: []string{"fw01.example.com", "vpn.example.com"}})
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "vpn.example.com") {
			t.Errorf("dropped SAN: %v", err)
		}
		certs, _ := dev.Running()
		dev.SetFaults(simpanos.Faults{})
		if _, err := install(t, d, ca); err != nil { // and the half-made entry is gone
			t.Fatal(err)
		}
		after, _ := dev.Running()
		if len(after) != len(certs)+1 {
			t.Errorf("%d certificates after, want %d", len(after), len(certs)+1)
		}
	})

	t.Run("a chain for a key the firewall lacks is refused", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		d := newDriver(t, dev, fwAsset(), nil)
		if err := d.Install(t.Context(), leaf(t, ca, "fw01.example.com").chain); ottr.ErrorCode(err) != ottr.EINVALID {
			t.Errorf("foreign key: %v", err)
		}
	})
}

// TestPruneAndRestore: old certificates Ottr made are deleted, the one it
// replaced is kept for Restore, and others are never touched.
func TestPruneAndRestore(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	d := newDriver(t, dev, fwAsset(), nil)
	var chains [][]*x509.Certificate
	for range 3 {
		c, err := install(t, d, ca)
		if err != nil {
			t.Fatal(err)
		}
		chains = append(chains, c)
	}
	certs, bound := dev.Running()
	var ours []string
	for n := range certs {
		if strings.HasPrefix(n, "otter_panos_") {
			ours = append(ours, n)
		}
	}
	if len(ours) != 2 || certs["corp-mgmt-2025"] == nil {
		t.Errorf("after three rotations: %v (bound %s)", keys(certs), bound)
	}
	if err := d.Restore(t.Context(), chains[1]); err != nil {
		t.Fatal(err)
	}
	if !served(t, d).Equal(chains[1][0]) {
		t.Error("Restore did not bring back the previous certificate")
	}
	if err := d.Restore(t.Context(), old); err == nil {
		// corp-mgmt-2025 is still there: restoring to it works too.
		if !served(t, d).Equal(old[0]) {
			t.Error("Restore to the original certificate")
		}
	} else {
		t.Errorf("Restore to the original: %v", err)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestFailedRotations runs whole rotations against a faulty firewall: each
// ends failed with the device's reason recorded on the rotation and the
// asset, and the firewall still serves its previous certificate.
func TestFailedRotations(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	for _, tc := range []struct {
		name   string
		faults simpanos.Faults
		want   string
	}{
		{"bad credentials", simpanos.Faults{BadCredentials: true}, "Invalid Credential"},
		{"error body with HTTP 200", simpanos.Faults{ErrorOn: "import", Message: "Import failed: disk full"}, "disk full"},
		{"commit FAIL", simpanos.Faults{CommitFail: "ssl-tls-service-profile -> ottr: unsupported curve"}, "unsupported curve"},
		{"connection dropped during import", simpanos.Faults{DropImport: true}, "import"},
		{"request without every name", simpanos.Faults{DropSANs: true}, "leaves out vpn.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, old := preloaded(t, ca)
			dev.SetFaults(tc.faults)
			env := rotatetest.New(t, "fw01.example.com", "vpn.example.com")
			open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
				return panos.New(panos.Config{Address: dev.Addr, Asset: a, CommitPoll: 5 * time.Millisecond,
					Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}})
			}
			rot, _ := env.Rotate(t, fwAsset(), dev.Addr, open)
			if rot.State != ottr.StateFailed || !strings.Contains(rot.Error, tc.want) {
				t.Fatalf("rotation %s: %q, want the reason %q\n%s", rot.State, rot.Error, tc.want, rotatetest.Log(rot))
			}
			a, _ := env.DB.GetAsset(t.Context(), "fw01.example.com")
			if a.LastRotation == nil || a.LastRotation.Status != string(ottr.StateFailed) || !strings.Contains(a.LastRotation.Error, tc.want) {
				t.Errorf("asset's last rotation: %+v", a.LastRotation)
			}
			dev.SetFaults(simpanos.Faults{})
			if now := served(t, newDriver(t, dev, fwAsset(), nil)); !now.Equal(old[0]) {
				t.Errorf("the firewall serves %x, want its previous %x", now.SerialNumber, old[0].SerialNumber)
			}
		})
	}
}

// A rotation repoints the profile's certificate and leaves the rest of
// the profile as the administrator set it: a profile tightened to TLS 1.3
// stays at TLS 1.3.
func TestKeepsProfileSettings(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, _ := preloaded(t, ca)
	dev.Protocols("otter", "tls1-3", "max")
	d := newDriver(t, dev, fwAsset(), nil)
	chain, err := install(t, d, ca)
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	cert, min, max, ok := dev.RunningProfile("otter")
	if !ok || !strings.HasPrefix(cert, "otter_panos_") || min != "tls1-3" || max != "max" {
		t.Errorf("profile after the rotation: certificate %q, TLS %s to %s", cert, min, max)
	}
	if !served(t, d).Equal(chain[0]) {
		t.Error("the new certificate is not served")
	}
	// A profile Ottr creates gets TLS 1.2 as its floor.
	fresh := start(t)
	d = newDriver(t, fresh, fwAsset(), nil)
	if _, err := install(t, d, ca); err != nil {
		t.Fatalf("Install on a fresh firewall: %v", err)
	}
	if _, min, max, ok := fresh.RunningProfile("otter"); !ok || min != "tls1-2" || max != "max" {
		t.Errorf("created profile: TLS %s to %s (exists %v)", min, max, ok)
	}
}
