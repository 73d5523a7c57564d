package acme_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"math/big"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	"github.com/ottr-dev/ottr/internal/acmetest"
)

// A renewal names the certificate it replaces (ARI). A CA that cannot link
// the order to that certificate must not stop the renewal: Pebble answers
// serverInternal when it cannot find the certificate, which is every
// certificate whose serial DER writes with a leading zero (its lookup keeps
// the zero), and one it never issued. The renewal is ordered once more
// without "replaces".
func TestRenewalOutlivesARefusedReplaces(t *testing.T) {
	e := newEnv(t, acmetest.Options{})
	cn := "fw01.example.com"
	e.delegate(cn)
	is := e.issuer(map[string]acme.CA{"pebble": e.ca()})
	issue := func(replaces *x509.Certificate) (*x509.Certificate, error) {
		csr, _ := newCSR(t, cn, cn)
		chain, err := is.Issue(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr, Names: []string{cn}, Replaces: replaces})
		if err != nil {
			return nil, err
		}
		return chain[0], nil
	}
	fallbacks := func() int { return strings.Count(e.log.String(), "replaces refused") }

	first, err := issue(nil)
	if err != nil {
		t.Fatal(err)
	}
	// A certificate the CA links: no fallback.
	if _, err := issue(first); err != nil {
		t.Fatalf("renewing serial %x: %v", first.SerialNumber, err)
	}
	if n := fallbacks(); n != 0 {
		t.Fatalf("fell back %d times renewing a certificate the CA issued:\n%s", n, e.log)
	}

	// The same issuer's key identifier, a serial with its top bit set the
	// CA has no order for.
	serial, _ := new(big.Int).SetString("ba81d273983dd3", 16)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	parent := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: first.Issuer, SubjectKeyId: first.AuthorityKeyId,
		NotBefore: first.NotBefore, NotAfter: first.NotAfter, BasicConstraintsValid: true, IsCA: true}
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{SerialNumber: serial, Subject: first.Subject,
		DNSNames: []string{cn}, NotBefore: first.NotBefore, NotAfter: first.NotAfter}, parent, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	unknown, _ := x509.ParseCertificate(der)
	renewed, err := issue(unknown)
	if err != nil {
		t.Fatalf("renewing serial %x: %v", serial, err)
	}
	if renewed.SerialNumber.Cmp(serial) == 0 || !strings.EqualFold(renewed.DNSNames[0], cn) {
		t.Errorf("renewal returned serial %x for %v", renewed.SerialNumber, renewed.DNSNames)
	}
	if n := fallbacks(); n != 1 {
		t.Errorf("fell back %d times renewing serial %x, want once:\n%s", n, serial, e.log)
	}
}
