package panos_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/panos"
	"github.com/ottr-dev/ottr/internal/testpki"
)

// ottrSubject is what Ottr's state machine handed its panos containers.
var ottrSubject = ottr.Subject{Country: "US", State: "California", Locality: "San Francisco",
	Organization: "Example Inc", OrganizationalUnit: "Security"}

// A firewall Ottr rotated: its otter_panos_<date> certificate bound
// through Ottr's "otter" profile to the management interface and to a
// GlobalProtect portal and gateway, and an older Ottr certificate an
// administrator pointed another portal's profile at. Rotations by the
// driver's defaults move "otter" (no profile of their own), so the portal
// and gateway serve the new certificate too; Ottr's replaced certificate
// is pruned once Restore no longer needs it, and one a profile still names
// never is.
func TestRotatesWhatOttrLeft(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev := start(t)
	older, ottrs := leaf(t, ca, "fw01.example.com"), leaf(t, ca, "fw01.example.com")
	dev.Preload("otter_panos_2025_06_01", "partner-portal", older.key, older.chain)
	dev.Preload("otter_panos_2025_09_01", "otter", ottrs.key, ottrs.chain) // binds the management interface last
	var gpAddrs []string
	for _, gp := range [][3]string{{"portal", "corp-portal", "otter"}, {"gateway", "corp-gw", "otter"}, {"portal", "partner", "partner-portal"}} {
		addr, err := dev.AddGlobalProtect(gp[0], gp[1], gp[2])
		if err != nil {
			t.Fatal(err)
		}
		gpAddrs = append(gpAddrs, addr)
	}
	d := newDriver(t, dev, fwAsset(), nil)
	req := ottr.CSRRequest{CommonName: "fw01.example.com", DNSNames: []string{"fw01.example.com", "vpn.example.com"}, Subject: ottrSubject}

	rotate := func() string {
		t.Helper()
		csr, err := d.CSR(t.Context(), req)
		if err != nil {
			t.Fatalf("CSR: %v", err)
		}
		chain := ca.Sign(csr, 24*time.Hour)
		if err := d.Install(t.Context(), chain); err != nil {
			t.Fatalf("Install: %v", err)
		}
		cert, _, _, ok := dev.RunningProfile("otter")
		if !ok || !served(t, d).Equal(chain[0]) {
			t.Fatalf("profile otter names %q; the management interface serves %x, want %x", cert, served(t, d).SerialNumber, chain[0].SerialNumber)
		}
		for i, kind := range []string{"portal", "gateway"} {
			if got := leafAt(t, gpAddrs[i]); !got.Equal(chain[0]) {
				t.Errorf("the GlobalProtect %s on Ottr's profile serves %x, want %x", kind, got.SerialNumber, chain[0].SerialNumber)
			}
		}
		if got := leafAt(t, gpAddrs[2]); !got.Equal(older.chain[0]) {
			t.Errorf("the partner portal, on a profile of its own, serves %x, want its certificate %x", got.SerialNumber, older.chain[0].SerialNumber)
		}
		return cert
	}

	first := rotate()
	certs, mgmtCert := dev.Running()
	if first != "otter_panos_"+time.Now().UTC().Format("2006_01_02") || mgmtCert != first {
		t.Errorf("first rotation bound %q (management %q), want Ottr's name for today", first, mgmtCert)
	}
	if _, _, _, ok := dev.RunningProfile("ottr"); ok {
		t.Error("the rotation made a profile of its own instead of moving Ottr's")
	}
	if certs["otter_panos_2025_09_01"] == nil {
		t.Error("the certificate Restore needs was deleted by the install that replaced it")
	}

	second := rotate()
	certs, _ = dev.Running()
	if second == first || !strings.HasPrefix(second, "otter_panos_") {
		t.Errorf("second rotation bound %q", second)
	}
	if certs["otter_panos_2025_09_01"] != nil {
		t.Errorf("Ottr's replaced certificate was not pruned: %v", keys(certs))
	}
	if certs[first] == nil {
		t.Errorf("the certificate the second rotation replaced is gone: %v", keys(certs))
	}
	if p, _, _, _ := dev.RunningProfile("partner-portal"); p != "otter_panos_2025_06_01" || certs[p] == nil {
		t.Errorf("the partner portal's profile names %q; certificates %v", p, keys(certs))
	}
}

// leafAt is the certificate a TLS server presents.
func leafAt(t *testing.T, addr string) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading what is served
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// The firewall makes the key Ottr's recipe asked for (RSA 2048) unless
// told otherwise, with the subject fields in its request; the email, which
// Ottr never sent a firewall, stays out of it.
func TestRequestSubjectAndKey(t *testing.T) {
	t.Parallel()
	dev := start(t)
	d := newDriver(t, dev, fwAsset(), nil)
	subj := ottrSubject
	subj.Email = "pki@example.com"
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fw01.example.com", DNSNames: []string{"vpn.example.com"}, Subject: subj})
	if err != nil {
		t.Fatal(err)
	}
	s := csr.Subject
	if s.CommonName != "fw01.example.com" || !slices.Equal(s.Country, []string{"US"}) || !slices.Equal(s.Province, []string{"California"}) ||
		!slices.Equal(s.Locality, []string{"San Francisco"}) || !slices.Equal(s.Organization, []string{"Example Inc"}) ||
		!slices.Equal(s.OrganizationalUnit, []string{"Security"}) {
		t.Errorf("subject %v", s)
	}
	if len(csr.EmailAddresses) != 0 || strings.Contains(s.String(), "pki@example.com") {
		t.Errorf("the email reached the request: %v %v", csr.EmailAddresses, s)
	}
	if k, ok := csr.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
		t.Errorf("default key %T, want RSA 2048 as Ottr made", csr.PublicKey)
	}
	for kt, check := range map[string]func(any) bool{
		"p384":    func(k any) bool { e, ok := k.(*ecdsa.PublicKey); return ok && e.Curve == elliptic.P384() },
		"rsa3072": func(k any) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 3072 },
	} {
		csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fw01.example.com", KeyType: kt})
		if err != nil || !check(csr.PublicKey) {
			t.Errorf("%s: %v, key %T", kt, err, csr.PublicKey)
		}
	}
	if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fw01.example.com", KeyType: "ed25519"}); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "ed25519") {
		t.Errorf("ed25519: %v", err)
	}
	if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "fw01.example.com", Subject: ottr.Subject{Country: "USA"}}); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "subject.country") {
		t.Errorf("a three-letter country: %v", err)
	}
}

// Our own names stay available as settings: profile "ottr" and
// certificate_prefix "ottr-" rotate as before, and prune still recognises
// Ottr's certificates.
func TestOwnNamesAsSettings(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev := start(t)
	ottrs := leaf(t, ca, "fw01.example.com")
	dev.Preload("otter_panos_2025_09_01", "ottr", ottrs.key, ottrs.chain)
	d, err := panos.New(panos.Config{Address: dev.Addr, Asset: fwAsset(), Profile: "ottr", CertificatePrefix: "ottr-", CommitPoll: 5 * time.Millisecond,
		Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := install(t, d, ca); err != nil {
			t.Fatal(err)
		}
	}
	certs, bound := dev.Running()
	if cert, _, _, _ := dev.RunningProfile("ottr"); cert != bound || !strings.HasPrefix(bound, "ottr-") {
		t.Errorf("profile ottr names %q, management %q", cert, bound)
	}
	if certs["otter_panos_2025_09_01"] != nil || len(certs) != 2 {
		t.Errorf("certificates after two rotations: %v", keys(certs))
	}
	for _, bad := range []string{"a-very-long-prefix-", "ot'ter"} {
		probs := panos.Config{CertificatePrefix: bad}.Check()
		if len(probs) != 1 || probs[0].Field != "certificate_prefix" {
			t.Errorf("prefix %q: %v", bad, probs)
		}
	}
}
