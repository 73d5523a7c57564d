package junos_test

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/driver/junos"
	"github.com/ottr-dev/ottr/internal/rotatetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	simjunos "github.com/ottr-dev/ottr/sim/junos"
	"golang.org/x/crypto/ssh/knownhosts"
)

const (
	user = "ottr"
	pass = "Junos.Passw0rd"
)

func srxAsset() *ottr.Asset {
	return &ottr.Asset{SystemName: "srx1.example.com", CommonName: "srx1.example.com", SubjectAlternativeName: []string{"srx1.example.com"},
		HostPlatform: "junos", OSVersion: "18.2", CertificateAuthority: "pebble", CertificateValidation: true}
}

func start(t *testing.T) (*simjunos.Device, string) {
	t.Helper()
	dev, err := simjunos.Start(user, pass)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	kh := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(kh, []byte(knownhosts.Line([]string{knownhosts.Normalize(dev.Addr)}, dev.HostKey)+"\n"), 0o600)
	return dev, kh
}

func config(dev *simjunos.Device, kh string, a *ottr.Asset, cred ottr.Credential) junos.Config {
	if cred == nil {
		cred = ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}
	}
	return junos.Config{Address: dev.Addr, Serve: dev.WebAddr, KnownHosts: kh, Asset: a, Credential: cred}
}

func newDriver(t *testing.T, dev *simjunos.Device, kh string) *junos.Driver {
	t.Helper()
	d, err := junos.New(config(dev, kh, srxAsset(), nil))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConformance(t *testing.T) {
	t.Parallel()
	var dev *simjunos.Device
	drivertest.Run(t, drivertest.Harness{
		New: func(t *testing.T) ottr.Driver {
			var kh string
			dev, kh = start(t)
			return newDriver(t, dev, kh)
		},
		CommonName: "srx1.example.com",
		SANs:       []string{"srx1.example.com"},
		KeyTypes:   []string{"p256", "p384", "rsa2048"},
		Break:      func(*testing.T) { dev.Close() },
	})
}

// TestKeyOffDevice: a certificate with more names than a Junos request can
// carry, with the key made in Ottr and loaded with the certificate.
func TestKeyOffDevice(t *testing.T) {
	t.Parallel()
	sans := []string{"srx1.example.com", "vpn.example.com"}
	asset := func() *ottr.Asset { a := srxAsset(); a.SubjectAlternativeName = sans; return a }
	var dev *simjunos.Device
	drivertest.Run(t, drivertest.Harness{
		New: func(t *testing.T) ottr.Driver {
			var kh string
			dev, kh = start(t)
			c := config(dev, kh, asset(), nil)
			c.KeyOffDevice = true
			d, err := junos.New(c)
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		CommonName: "srx1.example.com",
		SANs:       sans,
		Break:      func(*testing.T) { dev.Close() },
	})
	t.Run("Pebble", func(t *testing.T) {
		dev, kh := start(t)
		env := rotatetest.New(t, sans...)
		open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
			c := config(dev, kh, a, nil)
			c.KeyOffDevice = true
			return junos.New(c)
		}
		rot, err := env.Rotate(t, asset(), dev.WebAddr, open)
		if err != nil || rot.State != ottr.StateSucceeded {
			t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
		}
		cur, _ := newDriver(t, dev, kh).Current(t.Context())
		if len(cur[0].DNSNames) != 2 || !strings.Contains(rotatetest.Log(rot), "key_off_device") {
			t.Errorf("served %v\n%s", cur[0].DNSNames, rotatetest.Log(rot))
		}
		for _, r := range dev.RPCs() {
			if strings.HasPrefix(r, "file delete /var/tmp/ottr-") && strings.HasSuffix(r, ".key") {
				return // the key file was removed after loading
			}
		}
		t.Errorf("the uploaded key file was not deleted: %v", dev.RPCs())
	})
}

func TestPebbleRotation(t *testing.T) {
	t.Parallel()
	dev, kh := start(t)
	ca := testpki.NewCA("Corp CA")
	csr, key := testpki.CSR("srx1.example.com", "srx1.example.com")
	old := ca.Sign(csr, 30*24*time.Hour)
	dev.Preload("corp-web", key, old)
	env := rotatetest.New(t, "srx1.example.com")
	open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) { return junos.New(config(dev, kh, a, nil)) }
	rot, err := env.Rotate(t, srxAsset(), dev.WebAddr, open)
	if err != nil || rot.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
	}
	cur, _ := newDriver(t, dev, kh).Current(t.Context())
	if cur[0].SerialNumber.Text(16) != rot.NewSerial || len(cur) < 2 {
		t.Fatalf("J-Web serves %x (%d certs), recorded %s", cur[0].SerialNumber, len(cur), rot.NewSerial)
	}
	inter := x509.NewCertPool()
	for _, c := range cur[1:] {
		inter.AddCert(c)
	}
	if _, err := cur[0].Verify(x509.VerifyOptions{Roots: env.Roots, Intermediates: inter, DNSName: "srx1.example.com"}); err != nil {
		t.Errorf("served chain: %v", err)
	}
	lines, ids := dev.Committed()
	if !slices.Contains(ids, "corp-web") {
		t.Errorf("the certificate Ottr did not make is gone: %v", ids)
	}
	bound := ""
	for _, l := range lines {
		if strings.HasPrefix(l, "set system services web-management https pki-local-certificate ") {
			bound = strings.Fields(l)[6]
		}
	}
	if !strings.HasPrefix(bound, "ottr-") {
		t.Errorf("web-management uses %q", bound)
	}
	for _, r := range dev.RPCs() {
		if strings.Contains(r, pass) {
			t.Error("the password reached an RPC")
		}
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	preloaded := func(t *testing.T) (*simjunos.Device, string, []*x509.Certificate) {
		dev, kh := start(t)
		csr, key := testpki.CSR("srx1.example.com", "srx1.example.com")
		old := ca.Sign(csr, 30*24*time.Hour)
		dev.Preload("corp-web", key, old)
		return dev, kh, old
	}
	t.Run("more names than a request can carry", func(t *testing.T) {
		dev, kh := start(t)
		_, err := newDriver(t, dev, kh).CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com", DNSNames: []string{"srx1.example.com", "vpn.example.com"}})
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "vpn.example.com") || len(dev.RPCs()) != 0 {
			t.Errorf("multi-name: %v (rpcs %v)", err, dev.RPCs())
		}
	})
	t.Run("refused login and unknown host key are permanent", func(t *testing.T) {
		dev, kh := start(t)
		d, _ := junos.New(config(dev, kh, srxAsset(), ottr.Credential{"username": ottr.Secret(user), "password": "nope"}))
		if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com"}); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
			t.Errorf("wrong password: %v", err)
		}
		d, _ = junos.New(config(dev, filepath.Join(t.TempDir(), "empty"), srxAsset(), nil))
		if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com"}); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !strings.Contains(err.Error(), "trust_on_first_use") {
			t.Errorf("unknown host key: %v", err)
		}
	})
	for _, tc := range []struct {
		name   string
		faults simjunos.Faults
		want   string
	}{
		{"commit fails", simjunos.Faults{CommitError: "web-management: https is not enabled"}, "https is not enabled"},
		{"connection dropped during file-put", simjunos.Faults{DropFilePut: true}, "netconf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, kh, old := preloaded(t)
			d := newDriver(t, dev, kh)
			csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com"})
			if err != nil {
				t.Fatal(err)
			}
			chain := ca.Sign(csr, time.Hour)
			dev.SetFaults(tc.faults)
			err = d.Install(t.Context(), chain)
			if err == nil || ottr.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			if cur, _ := d.Current(t.Context()); !cur[0].Equal(old[0]) {
				t.Error("J-Web no longer serves the old certificate")
			}
			dev.SetFaults(simjunos.Faults{})
			if err := d.Install(t.Context(), chain); err != nil {
				t.Errorf("retry after recovery: %v", err)
			}
		})
	}
	t.Run("slow commit", func(t *testing.T) {
		dev, kh, _ := preloaded(t)
		dev.SetFaults(simjunos.Faults{CommitDelay: 300 * time.Millisecond})
		d := newDriver(t, dev, kh)
		csr, _ := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com"})
		if err := d.Install(t.Context(), ca.Sign(csr, time.Hour)); err != nil {
			t.Error(err)
		}
	})
	t.Run("an older key pair is the one signed", func(t *testing.T) {
		// Two requests made, the first one signed: the newest key pair is
		// tried first and Junos refuses the certificate for it with an
		// rpc-error, after which the older one takes it.
		dev, kh, _ := preloaded(t)
		d := newDriver(t, dev, kh)
		first, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com"})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // key pair ids sort by the second they were made
		if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com"}); err != nil {
			t.Fatal(err)
		}
		chain := ca.Sign(first, time.Hour)
		if err := d.Install(t.Context(), chain); err != nil {
			t.Fatalf("Install onto the older key pair: %v", err)
		}
		if cur, _ := d.Current(t.Context()); !cur[0].Equal(chain[0]) {
			t.Errorf("J-Web serves %x, want %x", cur[0].SerialNumber, chain[0].SerialNumber)
		}
	})
	t.Run("prune without CA profiles", func(t *testing.T) {
		// Chains with no intermediates make no CA profile, so pruning
		// deletes a profile that is not there: Junos loads the rest with a
		// "statement not found" warning, which is no failure.
		dev, kh, _ := preloaded(t)
		d := newDriver(t, dev, kh)
		var log []string
		ctx := ottr.WithStepLog(t.Context(), func(l string) { log = append(log, l) })
		for range 3 {
			csr, err := d.CSR(ctx, ottr.CSRRequest{CommonName: "srx1.example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Install(ctx, ca.Sign(csr, time.Hour)[:1]); err != nil {
				t.Fatal(err)
			}
		}
		for _, l := range log {
			if strings.HasPrefix(l, "warn:") {
				t.Errorf("logged %q", l)
			}
		}
		_, ids := dev.Committed()
		ours := 0
		for _, id := range ids {
			if strings.HasPrefix(id, "ottr-") {
				ours++
			}
		}
		if ours != 2 {
			t.Errorf("after three rotations, key pairs %v (the oldest of ours should be cleared)", ids)
		}
	})
	t.Run("prune and restore", func(t *testing.T) {
		dev, kh, old := preloaded(t)
		d := newDriver(t, dev, kh)
		var chains [][]*x509.Certificate
		for range 3 {
			csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com"})
			if err != nil {
				t.Fatal(err)
			}
			c := ca.Sign(csr, time.Hour)
			if err := d.Install(t.Context(), c); err != nil {
				t.Fatal(err)
			}
			chains = append(chains, c)
		}
		_, ids := dev.Committed()
		ours := 0
		for _, id := range ids {
			if strings.HasPrefix(id, "ottr-") {
				ours++
			}
		}
		if ours != 2 || !slices.Contains(ids, "corp-web") {
			t.Errorf("after three rotations: %v", ids)
		}
		if err := d.Restore(t.Context(), chains[1]); err != nil {
			t.Fatal(err)
		}
		if err := d.Restore(t.Context(), old); err != nil {
			t.Errorf("restore to the original: %v", err)
		}
		if err := d.Restore(t.Context(), chains[0]); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("restore to a cleared certificate: %v", err)
		}
	})
}

func TestFailedRotations(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	for _, tc := range []struct {
		name   string
		faults simjunos.Faults
		want   string
	}{
		{"refused login", simjunos.Faults{BadCredentials: true}, "authentication refused"},
		{"commit fails", simjunos.Faults{CommitError: "web-management: https is not enabled"}, "https is not enabled"},
		{"connection dropped during file-put", simjunos.Faults{DropFilePut: true}, "file-put"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, kh := start(t)
			csr, key := testpki.CSR("srx1.example.com", "srx1.example.com")
			old := ca.Sign(csr, 30*24*time.Hour)
			dev.Preload("corp-web", key, old)
			dev.SetFaults(tc.faults)
			env := rotatetest.New(t, "srx1.example.com")
			open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) { return junos.New(config(dev, kh, a, nil)) }
			env.Failed(t, srxAsset(), dev.WebAddr, open, tc.want, old[0], func() (*x509.Certificate, error) {
				cur, err := newDriver(t, dev, kh).Current(t.Context())
				if err != nil {
					return nil, err
				}
				return cur[0], nil
			})
		})
	}
}
