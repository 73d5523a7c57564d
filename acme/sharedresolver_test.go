package acme_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/bindtest"
	"github.com/ottr-dev/ottr/internal/dnstest"
	"github.com/ottr-dev/ottr/internal/storetest"
)

// An internal CA behind the corporate resolver validates through the same
// recursive resolver Ottr follows CNAME chains with. Here that resolver is
// a real BIND 9 that caches negative answers (for 90 s), authoritative for
// the production zone and forwarding the delegate zone to Ottr's DNS
// server. Had Ottr asked it for a challenge TXT before writing the value,
// the CA would be served the cached NXDOMAIN and the order would fail.
func TestIssueThroughResolverSharedWithCA(t *testing.T) {
	db := storetest.Open(t)
	srv := &ottrdns.Server{Zones: []string{zone}, Store: db}
	if err := srv.Listen(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cn := "fw01.example.com"
	sans := []string{cn, "vpn.example.com"}
	var records strings.Builder
	for _, n := range sans {
		fmt.Fprintf(&records, "_acme-challenge.%s. IN CNAME %s.\n", n, ottrdns.SuggestTarget(cn, n, zone))
	}
	host, port, _ := net.SplitHostPort(srv.Addr())
	bind := bindtest.Start(t, bindtest.Options{
		Recursion:   true,
		Cache:       true,
		Records:     map[string]string{"example.com": records.String()},
		ExtraConfig: fmt.Sprintf("zone %q { type forward; forward only; forwarders { %s port %s; }; };\n", zone, host, port),
	}, "example.com")
	rec := dnstest.StartRecorder(t, bind.Addr)
	p, err := acmetest.Start(acmetest.Options{Resolver: bind.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })

	is := &acme.Issuer{
		CAs:     map[string]acme.CA{"internal": {Directory: p.Directory, DirectoryCA: p.TLSRootPEM, TrustedRoots: p.RootPEM(), Email: "pki@example.com"}},
		Secrets: db,
		DNS: &ottrdns.Challenges{
			Zones:              map[string]ottr.DNSZone{zone: &ottrdns.StoreZone{Store: db}},
			Resolvers:          []string{rec.Addr},
			Nameservers:        []string{srv.Addr()},
			PropagationTimeout: 5 * time.Second,
		},
	}
	csr, _ := newCSR(t, cn, sans...)
	if _, err := is.Issue(t.Context(), ottr.IssueRequest{CA: "internal", CSR: csr, Names: sans}); err != nil {
		t.Fatalf("Issue through the shared resolver: %v\nOttr asked the resolver: %v", err, rec.Questions())
	}
	for _, q := range rec.Questions() {
		if typ, _, _ := strings.Cut(q, " "); typ != "CNAME" {
			t.Errorf("Ottr asked the shared resolver %s; following the chain needs CNAME queries only", q)
		}
	}
}
