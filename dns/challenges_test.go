package dns_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/internal/dnstest"
)

type fixture struct {
	db  ottr.TXTStore
	srv *ottrdns.Server
	res *dnstest.Resolver
	ch  *ottrdns.Challenges
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	db := openStore(t)
	srv := startServer(t, db)
	res := dnstest.Start(t)
	res.Delegate(zone, srv.Addr())
	ch := &ottrdns.Challenges{
		Zones:              map[string]ottr.DNSZone{zone: &ottrdns.StoreZone{Store: db}},
		Resolvers:          []string{res.Addr},
		Nameservers:        []string{srv.Addr()},
		PropagationTimeout: 2 * time.Second,
	}
	return &fixture{db: db, srv: srv, res: res, ch: ch}
}

func TestDelegate(t *testing.T) {
	f := newFixture(t)
	target := "_acme-challenge.fw01." + zone
	// Two hops: the production name points at a shared alias that points
	// into the delegate zone.
	f.res.CNAME("_acme-challenge.fw01.example.com", "_acme-challenge.fw01.alias.example.org")
	f.res.CNAME("_acme-challenge.fw01.alias.example.org", target)
	f.res.CNAME("_acme-challenge.vpn.example.com", target)

	d, err := f.ch.Delegate(t.Context(), "FW01.example.com.")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"_acme-challenge.fw01.example.com", "_acme-challenge.fw01.alias.example.org", target}
	if d.Name != "fw01.example.com" || d.Target != target || d.Zone != zone || !slices.Equal(d.Chain, want) {
		t.Errorf("Delegate = %+v", d)
	}
	if d, err := f.ch.Delegate(t.Context(), "*.vpn.example.com"); err != nil || d.Target != target {
		t.Errorf("wildcard: %+v %v", d, err)
	}
	// A name inside the delegate zone needs no CNAME.
	if d, err := f.ch.Delegate(t.Context(), "x."+zone); err != nil || d.Target != "_acme-challenge.x."+zone {
		t.Errorf("in-zone name: %+v %v", d, err)
	}
}

func TestDelegateFailures(t *testing.T) {
	f := newFixture(t)
	f.res.CNAME("_acme-challenge.foreign.example.com", "_acme-challenge.foreign.evil.example.org")
	f.res.CNAME("_acme-challenge.loop.example.com", "a.loop.example.com")
	f.res.CNAME("a.loop.example.com", "b.loop.example.com")
	f.res.CNAME("b.loop.example.com", "_acme-challenge.loop.example.com")
	for i := range 10 {
		f.res.CNAME(strings.Repeat("x", i)+"_acme-challenge.deep.example.com", strings.Repeat("x", i+1)+"_acme-challenge.deep.example.com")
	}
	cases := []struct {
		name string
		code string
		want []string
	}{
		{"missing.example.com", ottr.EINVALID, []string{"_acme-challenge.missing.example.com has no CNAME", zone, "CNAME _acme-challenge.missing." + zone}},
		{"foreign.example.com", ottr.EINVALID, []string{"ends outside the delegate zones", "_acme-challenge.foreign.example.com → _acme-challenge.foreign.evil.example.org", zone}},
		{"loop.example.com", ottr.EINVALID, []string{"CNAME loop", "_acme-challenge.loop.example.com → a.loop.example.com → b.loop.example.com → _acme-challenge.loop.example.com"}},
		{"deep.example.com", ottr.EINVALID, []string{"longer than 8 hops"}},
	}
	for _, tc := range cases {
		_, err := f.ch.Delegate(t.Context(), tc.name)
		if ottr.ErrorCode(err) != tc.code {
			t.Errorf("%s: err = %v, want %s", tc.name, err, tc.code)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, err, w)
			}
		}
	}

	down := &ottrdns.Challenges{Zones: f.ch.Zones, Resolvers: []string{"127.0.0.1:1"}, QueryTimeout: 200 * time.Millisecond}
	if _, err := down.Delegate(t.Context(), "fw01.example.com"); ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("resolver down: %v, want EUNAVAILABLE", err)
	}
}

func TestTXTSharedTargetAndPropagation(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	target := "_acme-challenge.fw01." + zone
	f.res.CNAME("_acme-challenge.fw01.example.com", target)
	f.res.CNAME("_acme-challenge.fw01-mgmt.example.com", target)
	d1, err := f.ch.Delegate(ctx, "fw01.example.com")
	if err != nil {
		t.Fatal(err)
	}
	d2, err := f.ch.Delegate(ctx, "fw01-mgmt.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ch.AddTXT(ctx, d1, "value-1"); err != nil {
		t.Fatal(err)
	}
	if err := f.ch.AddTXT(ctx, d2, "value-2"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := f.ch.WaitTXT(ctx, d1, []string{"value-1", "value-2"}); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > time.Second {
		t.Errorf("WaitTXT on a local zone took %v", el)
	}
	// Removing one name's value keeps the other's.
	if err := f.ch.RemoveTXT(ctx, d1, "value-1"); err != nil {
		t.Fatal(err)
	}
	vals, _, _ := f.db.LookupTXT(ctx, target, time.Now())
	if !slices.Equal(vals, []string{"value-2"}) {
		t.Errorf("after removing value-1: %v", vals)
	}
	// A value that never appears times out with what each server has.
	err = f.ch.WaitTXT(ctx, d1, []string{"value-2", "never"})
	if ottr.ErrorCode(err) != ottr.EUNAVAILABLE || !strings.Contains(err.Error(), "has 1 of 2 values") {
		t.Errorf("WaitTXT missing value: %v", err)
	}
	// A delegation into a zone Ottr does not write is refused.
	if err := f.ch.AddTXT(ctx, ottr.Delegation{Name: "x", Target: "_acme-challenge.x.other.test", Zone: "other.test"}, "v"); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("AddTXT foreign zone: %v", err)
	}
}

func TestRecords(t *testing.T) {
	got := ottrdns.Records("fw01.dc1.example.com", []string{"fw01.dc1.example.com", "vpn.example.com", "FW01.dc1.example.com."}, "acme.example.net")
	want := []ottrdns.Record{
		{Name: "_acme-challenge.fw01.dc1.example.com", Type: "CNAME", Target: "_acme-challenge.fw01.dc1.acme.example.net"},
		{Name: "_acme-challenge.vpn.example.com", Type: "CNAME", Target: "_acme-challenge.fw01.dc1.acme.example.net"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("Records = %+v", got)
	}
	for _, tc := range []struct{ cn, want string }{
		{"panos01.example.com", "_acme-challenge.panos01.z.test"},
		{"host.example.co.uk", "_acme-challenge.host.z.test"},
		{"example.com", "_acme-challenge.example.z.test"},
	} {
		if got := ottrdns.SuggestTarget(tc.cn, tc.cn, "z.test"); got != tc.want {
			t.Errorf("SuggestTarget(%s) = %s, want %s", tc.cn, got, tc.want)
		}
	}
}

// Without configured nameservers, propagation is checked on the servers the
// zone's NS records name, found through the resolvers.
func TestWaitTXTFindsNameserversThroughNS(t *testing.T) {
	f := newFixture(t)
	_, port, _ := strings.Cut(f.srv.Addr(), ":")
	ch := &ottrdns.Challenges{
		Zones: f.ch.Zones, Resolvers: []string{f.res.Addr}, NameserverPort: port,
		PropagationTimeout: 2 * time.Second,
	}
	target := "_acme-challenge.ns-lookup." + zone
	f.res.CNAME("_acme-challenge.ns-lookup.example.com", target)
	d, err := ch.Delegate(t.Context(), "ns-lookup.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if err := ch.AddTXT(t.Context(), d, "v"); err != nil {
		t.Fatal(err)
	}
	if err := ch.WaitTXT(t.Context(), d, []string{"v"}); err != nil {
		t.Fatalf("WaitTXT via NS lookup: %v", err)
	}
	// A zone whose NS have no address cannot be checked: say so.
	bare := &ottrdns.Challenges{Zones: f.ch.Zones, Resolvers: []string{f.res.Addr}, PropagationTimeout: time.Second}
	f.res.Delegate("other.test", "127.0.0.1:1")
	err = bare.WaitTXT(t.Context(), ottr.Delegation{Name: "x", Target: "_acme-challenge.x.other.test", Zone: "other.test"}, []string{"v"})
	if ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("zone without reachable NS: %v", err)
	}
}

// A delegate "zone" kept as a plain subdomain of a zone its server holds
// has no SOA of its own; its server still answers with the AA flag and is
// accepted for propagation checks.
func TestWaitTXTAcceptsSubdomainOfServedZone(t *testing.T) {
	db := openStore(t)
	parent := &ottrdns.Server{Zones: []string{"example.test"}, Store: db}
	if err := parent.Listen(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(parent.Close)
	ch := &ottrdns.Challenges{
		Zones:              map[string]ottr.DNSZone{zone: &ottrdns.StoreZone{Store: db}},
		Resolvers:          []string{"127.0.0.1:1"},
		Nameservers:        []string{parent.Addr()},
		PropagationTimeout: 2 * time.Second,
	}
	d := ottr.Delegation{Name: "fw04.example.com", Target: "_acme-challenge.fw04." + zone, Zone: zone}
	if err := ch.AddTXT(t.Context(), d, "v"); err != nil {
		t.Fatal(err)
	}
	if err := ch.WaitTXT(t.Context(), d, []string{"v"}); err != nil {
		t.Fatalf("WaitTXT on a subdomain's server: %v", err)
	}
}
