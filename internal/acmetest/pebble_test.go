package acmetest_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/dnstest"
	"github.com/ottr-dev/ottr/internal/storetest"
)

// Issued lists exactly the certificates Pebble signed, by the serial the
// client sees.
func TestIssued(t *testing.T) {
	const zone = "acme.example.net"
	db := storetest.Open(t)
	srv, res := dnstest.StartZone(t, db, zone)
	p, err := acmetest.Start(acmetest.Options{Resolver: res.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if got := p.Issued(); len(got) != 0 {
		t.Fatalf("Issued() = %v before any order", got)
	}
	ch := &ottrdns.Challenges{Zones: map[string]ottr.DNSZone{zone: &ottrdns.StoreZone{Store: db}},
		Resolvers: []string{res.Addr}, Nameservers: []string{srv.Addr()}, PropagationTimeout: 10 * time.Second}
	is := &acme.Issuer{CAs: map[string]acme.CA{"pebble": {Directory: p.Directory, DirectoryCA: p.TLSRootPEM}}, Secrets: db, DNS: ch}
	var want []string
	for i := range 3 {
		name := fmt.Sprintf("host%d.example.com", i)
		res.CNAME("_acme-challenge."+name, ottrdns.SuggestTarget(name, "", zone))
		key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}}, key)
		if err != nil {
			t.Fatal(err)
		}
		csr, _ := x509.ParseCertificateRequest(der)
		chain, err := is.Issue(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr, Names: []string{name}})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, fmt.Sprintf("%x", chain[0].SerialNumber))
	}
	if got := p.Issued(); !slices.Equal(got, want) {
		t.Errorf("Issued() = %v, want the leaves' serials %v", got, want)
	}
}
