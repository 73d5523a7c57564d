package netscaler_test

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
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/driver/netscaler"
	"github.com/ottr-dev/ottr/internal/rotatetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	simns "github.com/ottr-dev/ottr/sim/netscaler"
)

const (
	user = "ottr-api"
	pass = "Nitro.Passw0rd"
)

func lbAsset() *ottr.Asset {
	return &ottr.Asset{SystemName: "adc01.example.com", CommonName: "www.example.com",
		SubjectAlternativeName: []string{"www.example.com", "example.com"}, HostPlatform: "netscaler", OSVersion: "14.1",
		CertificateAuthority: "pebble"}
}

func start(t *testing.T) *simns.Device {
	t.Helper()
	dev, err := simns.Start(user, pass, "vs_www", "vs_api")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

func config(dev *simns.Device, a *ottr.Asset, cred ottr.Credential) netscaler.Config {
	if cred == nil {
		cred = ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}
	}
	return netscaler.Config{Address: dev.Addr, VServers: []string{"vs_www", "vs_api"}, Serve: dev.VServer("vs_www"),
		Subject: ottr.Subject{Country: "US", State: "California", Organization: "Example Inc"}, Asset: a, Credential: cred}
}

func newDriver(t *testing.T, dev *simns.Device, cred ottr.Credential) *netscaler.Driver {
	t.Helper()
	d, err := netscaler.New(config(dev, lbAsset(), cred))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestConformance(t *testing.T) {
	t.Parallel()
	var dev *simns.Device
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
	_, err := netscaler.New(netscaler.Config{Asset: lbAsset(), Address: "nope", VServers: []string{"vs 1", "bad/name", "bad/name"},
		Prefix: "much-too-long-", KeyType: "rsa1024", Partition: "p1", Subject: ottr.Subject{Country: "USA"}})
	want := []string{"address", "vservers[1]", "vservers[2]", "prefix", "key_type", "subject.country", "partition", "serve", "credential"}
	if got := problemFields(err); !slices.Equal(got, want) {
		t.Errorf("problems %v, want %v (%v)", got, want, err)
	}
	if got := problemFields(netscaler.Config{}.Check()); !slices.Equal(got, []string{"vservers"}) {
		t.Errorf("empty settings: %v", got)
	}
}

func problemFields(v any) []string {
	var probs []ottr.Problem
	switch x := v.(type) {
	case error:
		probs = ottr.ErrorProblems(x)
	case []ottr.Problem:
		probs = x
	}
	var out []string
	for _, p := range probs {
		out = append(out, p.Field)
	}
	return out
}

// preloaded is a NetScaler in service with a company certificate bound to
// both virtual servers.
func preloaded(t *testing.T, ca *testpki.CA) (*simns.Device, []*x509.Certificate) {
	t.Helper()
	dev := start(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "www.example.com"}, DNSNames: []string{"www.example.com"}}, key)
	csr, _ := x509.ParseCertificateRequest(der)
	chain := ca.Sign(csr, 30*24*time.Hour)
	if err := dev.Preload("corp-www", key, chain); err != nil {
		t.Fatal(err)
	}
	return dev, chain
}

func install(t *testing.T, d *netscaler.Driver, ca *testpki.CA) ([]*x509.Certificate, error) {
	t.Helper()
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", DNSNames: []string{"www.example.com", "example.com"}})
	if err != nil {
		t.Fatalf("CSR: %v", err)
	}
	chain := ca.Sign(csr, 24*time.Hour)
	return chain, d.Install(t.Context(), chain)
}

// noKeyRead asserts no key file was ever asked for through the API.
func noKeyRead(t *testing.T, dev *simns.Device) {
	t.Helper()
	for _, r := range dev.Requests() {
		if strings.HasPrefix(r, "GET ") && strings.Contains(r, "systemfile") && strings.Contains(r, ".key") {
			t.Errorf("the driver read a key file: %s", r)
		}
	}
}

func TestPebbleRotation(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	env := rotatetest.New(t, "www.example.com", "example.com")
	a := lbAsset()
	open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) { return netscaler.New(config(dev, a, nil)) }
	rot, err := env.Rotate(t, a, dev.VServer("vs_www"), open)
	if err != nil || rot.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
	}
	cur, err := newDriver(t, dev, nil).Current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if cur[0].Equal(old[0]) || cur[0].SerialNumber.Text(16) != rot.NewSerial {
		t.Fatalf("vs_www serves %x, rotation recorded %s", cur[0].SerialNumber, rot.NewSerial)
	}
	inter := x509.NewCertPool()
	for _, c := range cur[1:] {
		inter.AddCert(c)
	}
	if _, err := cur[0].Verify(x509.VerifyOptions{Roots: env.Roots, Intermediates: inter, DNSName: "example.com"}); err != nil {
		t.Errorf("served chain does not verify against Pebble: %v", err)
	}
	bound := dev.Bound("vs_www")
	if !strings.HasPrefix(bound, "ottr-") || dev.Bound("vs_api") != bound || !dev.Saved() {
		t.Errorf("bound %q and %q, saved %v", bound, dev.Bound("vs_api"), dev.Saved())
	}
	pairs := dev.CertKeys()
	if pairs[bound].Link == "" || pairs["corp-www"].Leaf == nil || pairs["ns-server-certificate"].Leaf == nil {
		t.Errorf("pairs after the rotation: %v", pairs)
	}
	if slices.ContainsFunc(dev.Files(), func(f string) bool { return strings.HasSuffix(f, ".csr") }) {
		t.Errorf("requests left on the appliance: %v", dev.Files())
	}
	log := rotatetest.Log(rot)
	for _, want := range []string{"the NetScaler made key ottr-", "configuration saved", "serves serial", "SSL virtual server vs_api now uses"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	noKeyRead(t, dev)
	if dev.Sessions() != 0 {
		t.Errorf("%d NITRO sessions left open", dev.Sessions())
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	t.Run("bad credentials are permanent", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		d := newDriver(t, dev, ottr.Credential{"username": ottr.Secret(user), "password": "Wr0ng.Secret"})
		_, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com"})
		if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !ottr.IsPermanent(err) || !strings.Contains(err.Error(), "Invalid username or password (errorcode 354)") ||
			strings.Contains(err.Error(), "Wr0ng.Secret") {
			t.Errorf("wrong password: %v", err)
		}
	})
	t.Run("an expired session is renewed", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		d := newDriver(t, dev, nil)
		csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", DNSNames: []string{"www.example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		dev.ExpireSessions()
		if err := d.Install(t.Context(), ca.Sign(csr, time.Hour)); err != nil {
			t.Errorf("install after the session expired: %v", err)
		}
	})
	t.Run("a request without every name or field is refused", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		dev.SetFaults(simns.Faults{DropSANs: true})
		d := newDriver(t, dev, nil)
		_, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", DNSNames: []string{"www.example.com", "example.com"}})
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "leaves out www.example.com; example.com") {
			t.Errorf("dropped SANs: %v", err)
		}
		if slices.ContainsFunc(dev.Files(), func(f string) bool { return strings.HasPrefix(f, "ottr-") }) {
			t.Errorf("key or request left behind: %v", dev.Files())
		}
		c := config(dev, lbAsset(), nil)
		c.Subject = ottr.Subject{Country: "US"}
		d2, _ := netscaler.New(c)
		_, err = d2.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", Subject: ottr.Subject{State: "Ohio"}})
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "set subject.organization") {
			t.Errorf("no organization: %v", err)
		}
	})
	t.Run("a certificate for another key is refused", func(t *testing.T) {
		dev, old := preloaded(t, ca)
		d := newDriver(t, dev, nil)
		if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", DNSNames: []string{"www.example.com"}}); err != nil {
			t.Fatal(err)
		}
		elsewhere, _ := testpki.CSR("www.example.com", "www.example.com")
		err := d.Install(t.Context(), ca.Sign(elsewhere, time.Hour))
		if ottr.ErrorCode(err) != ottr.EINVALID || !ottr.IsPermanent(err) || !strings.Contains(err.Error(), "no key on the appliance matches") {
			t.Errorf("wrong key: %v", err)
		}
		if dev.Bound("vs_www") != "corp-www" || !dev.Saved() {
			t.Error("the refused certificate changed the appliance")
		}
		if cur, _ := d.Current(t.Context()); !cur[0].Equal(old[0]) {
			t.Error("the old certificate is no longer served")
		}
	})
	for _, tc := range []struct {
		name   string
		faults simns.Faults
		want   string
	}{
		{"pair refused", simns.Faults{ErrorOn: "sslcertkey", ErrorMethod: "POST", Errorcode: 1536, Message: "Invalid certificate"}, "Invalid certificate (errorcode 1536)"},
		{"binding refused", simns.Faults{ErrorOn: "sslvserver_sslcertkey_binding", ErrorMethod: "PUT", Errorcode: 3604, Message: "No usable ciphers configured on the SSL vserver/service"}, "No usable ciphers"},
		{"save fails", simns.Faults{ErrorOn: "nsconfig", Errorcode: 293, Message: "Configuration could not be saved"}, "could not be saved"},
		{"connection dropped during upload", simns.Faults{DropUpload: true}, "NetScaler"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, old := preloaded(t, ca)
			d := newDriver(t, dev, nil)
			csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "www.example.com", DNSNames: []string{"www.example.com"}})
			if err != nil {
				t.Fatal(err)
			}
			dev.SetFaults(tc.faults)
			chain := ca.Sign(csr, time.Hour)
			err = d.Install(t.Context(), chain)
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			dev.SetFaults(simns.Faults{})
			if cur, _ := d.Current(t.Context()); len(cur) == 0 || !cur[0].Equal(old[0]) {
				t.Error("the virtual server no longer serves the old certificate")
			}
			if err := d.Install(t.Context(), chain); err != nil {
				t.Errorf("retry after recovery: %v", err)
			}
		})
	}
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
	var ours []string
	for n, p := range dev.CertKeys() {
		if strings.HasPrefix(n, "ottr-") && !strings.HasPrefix(n, "ottr-ca-") && p.Key != "" {
			ours = append(ours, n)
		}
	}
	if len(ours) != 2 || dev.CertKeys()["corp-www"].Leaf == nil {
		t.Errorf("after three rotations: %v", ours)
	}
	var keys int
	for _, f := range dev.Files() {
		if strings.HasPrefix(f, "ottr-") && strings.HasSuffix(f, ".key") {
			keys++
		}
	}
	if keys != 2 {
		t.Errorf("keys left: %v", dev.Files())
	}
	if err := d.Restore(t.Context(), chains[1]); err != nil {
		t.Fatal(err)
	}
	if cur, _ := d.Current(t.Context()); !cur[0].Equal(chains[1][0]) || !dev.Saved() {
		t.Error("Restore did not bring back the previous certificate, saved")
	}
	if err := d.Restore(t.Context(), old); err != nil {
		t.Errorf("Restore to the original: %v", err)
	}
	if dev.Bound("vs_api") != "corp-www" {
		t.Errorf("vs_api binds %q after restoring the original", dev.Bound("vs_api"))
	}
	if err := d.Restore(t.Context(), chains[0]); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("Restore to a pruned certificate: %v", err)
	}
	noKeyRead(t, dev)
}

// Another asset's pairs on the same appliance (another common name) are
// never pruned.
func TestPruneKeepsOtherAssets(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, _ := preloaded(t, ca)
	api := lbAsset()
	api.SystemName, api.CommonName, api.SubjectAlternativeName = "adc01-api", "api.example.com", []string{"api.example.com"}
	c := config(dev, api, nil)
	c.VServers, c.Serve = []string{"vs_api"}, dev.VServer("vs_api")
	other, err := netscaler.New(c)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := other.CSR(t.Context(), ottr.CSRRequest{CommonName: "api.example.com", DNSNames: []string{"api.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Install(t.Context(), ca.Sign(csr, time.Hour)); err != nil {
		t.Fatal(err)
	}
	apiPair := dev.Bound("vs_api")
	c = config(dev, lbAsset(), nil)
	c.VServers = []string{"vs_www"}
	d, _ := netscaler.New(c)
	for range 3 {
		if _, err := install(t, d, ca); err != nil {
			t.Fatal(err)
		}
	}
	if _, ok := dev.CertKeys()[apiPair]; !ok || dev.Bound("vs_api") != apiPair {
		t.Errorf("the other asset's pair %s was pruned", apiPair)
	}
}
