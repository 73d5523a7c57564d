package dns_test

import (
	"bytes"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/ottr-dev/ottr"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/internal/storetest"
	"github.com/ottr-dev/ottr/store"
)

const zone = "acme.example.test"

func openStore(t *testing.T) *store.DB { return storetest.Open(t) }

func startServer(t *testing.T, db ottr.TXTStore) *ottrdns.Server {
	t.Helper()
	srv := &ottrdns.Server{
		Zones: []string{zone}, Store: db,
		Nameservers:     []string{"ns1." + zone},
		NameserverAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		TTL:             time.Second, NegativeTTL: 2 * time.Second,
	}
	if err := srv.Listen(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func query(t *testing.T, addr, network, name string, qtype uint16) *dns.Msg {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	in, _, err := c.Exchange(m, addr)
	if err != nil {
		t.Fatalf("%s %s %s: %v", network, name, dns.TypeToString[qtype], err)
	}
	return in
}

func txts(m *dns.Msg) []string {
	var out []string
	for _, rr := range m.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, t.Txt...)
		}
	}
	slices.Sort(out)
	return out
}

func soaMinimum(t *testing.T, m *dns.Msg) uint32 {
	t.Helper()
	for _, rr := range m.Ns {
		if s, ok := rr.(*dns.SOA); ok {
			return s.Minttl
		}
	}
	t.Fatalf("no SOA in authority section: %v", m)
	return 0
}

func TestServerAnswers(t *testing.T) {
	db := openStore(t)
	srv := startServer(t, db)
	ctx := t.Context()
	name := "_acme-challenge.fw01." + zone
	for _, v := range []string{"token-b", "token-a"} {
		if err := db.PutTXT(ctx, name, v, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}

	for _, network := range []string{"udp", "tcp"} {
		m := query(t, srv.Addr(), network, name, dns.TypeTXT)
		if m.Rcode != dns.RcodeSuccess || !m.Authoritative || m.RecursionAvailable {
			t.Fatalf("%s TXT: rcode %s aa=%v ra=%v", network, dns.RcodeToString[m.Rcode], m.Authoritative, m.RecursionAvailable)
		}
		if got := txts(m); !slices.Equal(got, []string{"token-a", "token-b"}) {
			t.Errorf("%s TXT = %v", network, got)
		}
		if ttl := m.Answer[0].Header().Ttl; ttl != 1 {
			t.Errorf("TXT TTL = %d, want 1", ttl)
		}
	}

	// Upper case in the question is the same name (DNS is case-insensitive).
	if got := txts(query(t, srv.Addr(), "udp", "_ACME-Challenge.FW01."+zone, dns.TypeTXT)); len(got) != 2 {
		t.Errorf("mixed-case TXT = %v", got)
	}

	m := query(t, srv.Addr(), "udp", zone, dns.TypeSOA)
	if len(m.Answer) != 1 || m.Answer[0].(*dns.SOA).Minttl != 2 || m.Answer[0].(*dns.SOA).Ns != "ns1."+zone+"." {
		t.Errorf("SOA = %v", m.Answer)
	}
	m = query(t, srv.Addr(), "udp", zone, dns.TypeNS)
	if len(m.Answer) != 1 || m.Answer[0].(*dns.NS).Ns != "ns1."+zone+"." || len(m.Extra) == 0 {
		t.Errorf("NS = %v extra %v", m.Answer, m.Extra)
	}
	m = query(t, srv.Addr(), "udp", "ns1."+zone, dns.TypeA)
	if len(m.Answer) != 1 || m.Answer[0].(*dns.A).A.String() != "127.0.0.1" {
		t.Errorf("glue A = %v", m.Answer)
	}

	// NXDOMAIN carries the SOA whose minimum is the negative TTL.
	m = query(t, srv.Addr(), "udp", "_acme-challenge.nope."+zone, dns.TypeTXT)
	if m.Rcode != dns.RcodeNameError || soaMinimum(t, m) != 2 {
		t.Errorf("absent name: rcode %s", dns.RcodeToString[m.Rcode])
	}
	// NODATA: the name exists, the type does not.
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{name, dns.TypeA}, {"fw01." + zone, dns.TypeTXT}, {zone, dns.TypeMX}} {
		m = query(t, srv.Addr(), "udp", q.name, q.qtype)
		if m.Rcode != dns.RcodeSuccess || len(m.Answer) != 0 {
			t.Errorf("%s %s: rcode %s answers %d, want NODATA", q.name, dns.TypeToString[q.qtype], dns.RcodeToString[m.Rcode], len(m.Answer))
		}
		soaMinimum(t, m)
	}

	// Not an open resolver: names outside the zones, zone transfers and
	// other classes are refused.
	for _, q := range []struct {
		name  string
		qtype uint16
	}{{"example.com", dns.TypeA}, {"www.google.com", dns.TypeTXT}, {"test", dns.TypeNS}, {zone, dns.TypeAXFR}} {
		if m := query(t, srv.Addr(), "tcp", q.name, q.qtype); m.Rcode != dns.RcodeRefused || len(m.Answer) != 0 {
			t.Errorf("%s %s: rcode %s, want REFUSED", q.name, dns.TypeToString[q.qtype], dns.RcodeToString[m.Rcode])
		}
	}
	chaos := new(dns.Msg)
	chaos.SetQuestion("version.bind.", dns.TypeTXT)
	chaos.Question[0].Qclass = dns.ClassCHAOS
	if in, err := dns.Exchange(chaos, srv.Addr()); err != nil || in.Rcode != dns.RcodeRefused {
		t.Errorf("CHAOS version.bind: %v %v", in, err)
	}
	upd := new(dns.Msg)
	upd.SetUpdate(zone + ".")
	if in, err := dns.Exchange(upd, srv.Addr()); err != nil || in.Rcode != dns.RcodeNotImplemented {
		t.Errorf("UPDATE: %v %v", in, err)
	}
}

// Two replicas on one database answer alike, and a record written through
// one StoreZone is served by both.
func TestServerReplicasShareStore(t *testing.T) {
	db := openStore(t)
	a, b := startServer(t, db), startServer(t, db)
	z := &ottrdns.StoreZone{Store: db}
	name := "_acme-challenge.lb01." + zone
	if err := z.AddTXT(t.Context(), name, "v1"); err != nil {
		t.Fatal(err)
	}
	for _, srv := range []*ottrdns.Server{a, b} {
		if got := txts(query(t, srv.Addr(), "udp", name, dns.TypeTXT)); !slices.Equal(got, []string{"v1"}) {
			t.Errorf("%s: %v", srv.Addr(), got)
		}
	}
	if err := z.RemoveTXT(t.Context(), name, "v1"); err != nil {
		t.Fatal(err)
	}
	if m := query(t, b.Addr(), "udp", name, dns.TypeTXT); m.Rcode != dns.RcodeNameError {
		t.Errorf("after removal: %s", dns.RcodeToString[m.Rcode])
	}
}

func TestServerExpiredRecordsNotServed(t *testing.T) {
	db := openStore(t)
	srv := startServer(t, db)
	name := "_acme-challenge.old." + zone
	if err := db.PutTXT(t.Context(), name, "stale", time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if m := query(t, srv.Addr(), "udp", name, dns.TypeTXT); m.Rcode != dns.RcodeNameError {
		t.Errorf("expired record: rcode %s answers %v", dns.RcodeToString[m.Rcode], m.Answer)
	}
}

func TestServerLongTXTSplit(t *testing.T) {
	db := openStore(t)
	srv := startServer(t, db)
	long := string(bytes.Repeat([]byte("x"), 600))
	name := "long." + zone
	if err := db.PutTXT(t.Context(), name, long, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	m := query(t, srv.Addr(), "tcp", name, dns.TypeTXT)
	txt := m.Answer[0].(*dns.TXT)
	if len(txt.Txt) != 3 || len(txt.Txt[0]) != 255 {
		t.Errorf("600-byte value split into %d strings", len(txt.Txt))
	}
}

func TestServerListenErrors(t *testing.T) {
	srv := &ottrdns.Server{Store: openStore(t)}
	if err := srv.Listen(t.Context(), "127.0.0.1:0"); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("no zones: %v", err)
	}
	srv.Zones = []string{zone}
	if err := srv.Listen(t.Context(), "no-port"); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("bad address: %v", err)
	}
	busy := startServer(t, srv.Store)
	if err := srv.Listen(t.Context(), busy.Addr()); ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("address in use: %v", err)
	}
}
