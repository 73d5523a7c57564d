package fortigate_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"slices"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/fortigate"
	"github.com/ottr-dev/ottr/internal/testpki"
	simfortigate "github.com/ottr-dev/ottr/sim/fortigate"
)

// Old certificates this driver made are deleted, the one it replaced is
// kept for Restore, one something else uses is kept (FortiOS refuses, -23)
// and others' are never touched; Restore brings back each.
func TestPruneAndRestore(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	d := newDriver(t, dev)
	var chains [][]*x509.Certificate
	for i := range 4 {
		c, err := install(t, d, ca)
		if err != nil {
			t.Fatal(err)
		}
		chains = append(chains, c)
		if i == 0 {
			// An administrator points an SSL inspection profile at the
			// first certificate Ottr made.
			admin, _ := dev.Bindings()
			dev.AddReference(admin, simfortigate.Reference{Path: "firewall", Name: "ssl-ssh-profile", Attribute: "server-cert"})
		}
	}
	certs := dev.Certificates()
	o := ours(certs)
	holding := func(c *x509.Certificate) string {
		for n, e := range certs {
			if len(e.Chain) > 0 && e.Chain[0].Equal(c) {
				return n
			}
		}
		return ""
	}
	want := []string{holding(chains[0][0]), holding(chains[2][0]), holding(chains[3][0])}
	slices.Sort(want)
	if !slices.Equal(o, want) || certs["corp-gui"].Chain == nil || certs[simfortigate.FactoryGUI].Chain == nil {
		t.Errorf("after four rotations: ours %v, want %v (the referenced first, the replaced third, the current); all %v", o, want, names(certs))
	}
	if admin, vpn := dev.Bindings(); admin != holding(chains[3][0]) || vpn != "corp-gui" {
		t.Errorf("bindings %q, %q", admin, vpn)
	}
	for _, tc := range []struct {
		name  string
		chain []*x509.Certificate
	}{{"the replaced certificate", chains[2]}, {"the company's", old}, {"one in use elsewhere", chains[0]}} {
		if err := newDriver(t, dev).Restore(t.Context(), tc.chain); err != nil {
			t.Fatalf("Restore %s: %v", tc.name, err)
		}
		if now := leafAt(t, dev.Addr); !now.Equal(tc.chain[0]) {
			t.Errorf("Restore %s: serves %x", tc.name, now.SerialNumber)
		}
	}
	if err := newDriver(t, dev).Restore(t.Context(), chains[1]); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("Restore of a pruned certificate: %v", err)
	}
}

func names[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// A FortiGate still on its factory certificates: the first rotation binds
// Ottr's, and Restore brings the factory one back.
func TestFactoryFortiGate(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev := start(t)
	factory := leafAt(t, dev.Addr)
	d := newDriver(t, dev)
	chain, err := install(t, d, ca)
	if err != nil {
		t.Fatal(err)
	}
	if !leafAt(t, dev.Addr).Equal(chain[0]) {
		t.Fatal("not served")
	}
	if err := d.Restore(t.Context(), []*x509.Certificate{factory}); err != nil {
		t.Fatal(err)
	}
	if admin, _ := dev.Bindings(); admin != simfortigate.FactoryGUI || !leafAt(t, dev.Addr).Equal(factory) {
		t.Errorf("after Restore: %s", admin)
	}
}

// Bound to the SSL-VPN portal only, the driver moves servercert, leaves
// the administration port alone, and Current reads the portal, found on
// the port vpn.ssl settings names.
func TestSSLVPNOnly(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	c := config(dev)
	c.Bind = []string{fortigate.BindSSLVPN}
	d := open(t, c)
	chain, err := install(t, d, ca)
	if err != nil {
		t.Fatal(err)
	}
	admin, vpn := dev.Bindings()
	if admin != "corp-gui" || !strings.HasPrefix(vpn, "ottr-") {
		t.Errorf("bindings %q, %q", admin, vpn)
	}
	if !leafAt(t, dev.VPNAddr).Equal(chain[0]) || !leafAt(t, dev.Addr).Equal(old[0]) {
		t.Error("the portal or the administration port presents the wrong certificate")
	}
	cur, err := d.Current(t.Context())
	if err != nil || !cur[0].Equal(chain[0]) {
		t.Errorf("Current: %v", err)
	}
	// Both bound: the portal's address may also be given.
	c.Bind, c.SSLVPNAddress = []string{fortigate.BindAdmin, fortigate.BindSSLVPN}, dev.VPNAddr
	both, err := install(t, open(t, c), ca)
	if err != nil {
		t.Fatal(err)
	}
	if !leafAt(t, dev.VPNAddr).Equal(both[0]) || !leafAt(t, dev.Addr).Equal(both[0]) {
		t.Error("not both ports present the new certificate")
	}
}

// The FortiGate makes the key the GUI defaults to (RSA 2048) unless told
// otherwise, with the subject fields in its request, the email as
// emailAddress; key types FortiOS cannot make are refused before anything
// is asked of it.
func TestRequestSubjectAndKey(t *testing.T) {
	t.Parallel()
	dev := start(t)
	d := newDriver(t, dev)
	subj := ottr.Subject{Country: "us", State: "California", Locality: "San Francisco", Organization: "Example Inc",
		OrganizationalUnit: "Security", Email: "pki@example.com"}
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fgt01.example.com", DNSNames: []string{"vpn.example.com"}, Subject: subj})
	if err != nil {
		t.Fatal(err)
	}
	subj.Country = "US"
	if bad := subj.Missing(csr.Subject); len(bad) > 0 || csr.Subject.CommonName != "fgt01.example.com" {
		t.Errorf("subject %v: %v", csr.Subject, bad)
	}
	if !slices.Equal(csr.DNSNames, []string{"fgt01.example.com", "vpn.example.com"}) {
		t.Errorf("names %v", csr.DNSNames)
	}
	if k, ok := csr.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
		t.Errorf("default key %T, want RSA 2048", csr.PublicKey)
	}
	for kt, ok := range map[string]func(any) bool{
		"p384":    func(k any) bool { e, ok := k.(*ecdsa.PublicKey); return ok && e.Curve == elliptic.P384() },
		"rsa4096": func(k any) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 4096 },
	} {
		csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fgt01.example.com", KeyType: kt})
		if err != nil || !ok(csr.PublicKey) {
			t.Errorf("%s: %v, key %T", kt, err, csr.PublicKey)
		}
	}
	before := len(dev.Calls())
	for kt, want := range map[string]string{"rsa3072": "rsa3072", "ed25519": "ed25519"} {
		if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fgt01.example.com", KeyType: kt}); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v", kt, err)
		}
	}
	if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fgt01.example.com", Subject: ottr.Subject{Country: "USA"}}); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "subject.country") {
		t.Errorf("a three-letter country: %v", err)
	}
	if len(dev.Calls()) != before {
		t.Errorf("refused requests reached the FortiGate: %v", dev.Calls()[before:])
	}
}

// Settings are checked with the key each problem is under.
func TestSettingsCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		c     fortigate.Config
		field string
	}{
		{fortigate.Config{Address: "fgt01"}, "address"},
		{fortigate.Config{SSLVPNAddress: "vpn:"}, "ssl_vpn_address"},
		{fortigate.Config{VDOM: "root vdom"}, "vdom"},
		{fortigate.Config{Bind: []string{"gui"}}, "bind[0]"},
		{fortigate.Config{Bind: []string{"admin", "admin"}}, "bind[1]"},
		{fortigate.Config{Bind: []string{}}, "bind"},
		{fortigate.Config{Bind: []string{"admin"}, SSLVPNAddress: "vpn:10443"}, "ssl_vpn_address"},
		{fortigate.Config{CertificatePrefix: "a-very-long-prefix-"}, "certificate_prefix"},
		{fortigate.Config{CertificatePrefix: "ot'tr"}, "certificate_prefix"},
		{fortigate.Config{ServeTimeout: -1}, "serve_timeout"},
	} {
		probs := tc.c.Check()
		if len(probs) != 1 || probs[0].Field != tc.field {
			t.Errorf("%+v: %v, want one problem with %s", tc.c, probs, tc.field)
		}
	}
	if probs := (fortigate.Config{Address: "192.0.2.1:8443", VDOM: "branch-1", Bind: []string{"ssl-vpn", "admin"},
		SSLVPNAddress: "vpn.example.com:10443", CertificatePrefix: "otter_"}).Check(); len(probs) != 0 {
		t.Errorf("good settings: %v", probs)
	}
	_, err := fortigate.New(fortigate.Config{Asset: fgAsset(), Credential: ottr.Credential{"password": "x"}})
	if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "api_token") {
		t.Errorf("no token: %v", err)
	}
}
