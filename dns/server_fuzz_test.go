package dns_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	ottrdns "github.com/ottr-dev/ottr/dns"
)

// memTXT is an in-memory TXT store: one challenge value at _acme-challenge.
type memTXT map[string][]string

func (m memTXT) PutTXT(context.Context, string, string, time.Time) error { return nil }
func (m memTXT) DeleteTXT(context.Context, string, string) error         { return nil }
func (m memTXT) LookupTXT(_ context.Context, name string, _ time.Time) ([]string, bool, error) {
	if v, ok := m[name]; ok {
		return v, true, nil
	}
	for k := range m {
		if strings.HasSuffix(k, "."+name) {
			return nil, true, nil
		}
	}
	return nil, false, nil
}

// capture is a ResponseWriter that keeps the reply.
type capture struct {
	remote net.Addr
	reply  *dns.Msg
	writes int
}

func (c *capture) LocalAddr() net.Addr       { return &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 53} }
func (c *capture) RemoteAddr() net.Addr      { return c.remote }
func (c *capture) WriteMsg(m *dns.Msg) error { c.reply = m; c.writes++; return nil }
func (c *capture) Write([]byte) (int, error) { return 0, nil }
func (c *capture) Close() error              { return nil }
func (c *capture) TsigStatus() error         { return nil }
func (c *capture) TsigTimersOnly(bool)       {}
func (c *capture) Hijack()                   {}

// FuzzServeDNS hands the authoritative server any query message that
// unpacks, over UDP and TCP: it answers exactly once with a reply that
// packs, carries the query's ID, answers only for its zone (refusing
// others, so it is no open resolver), and over UDP fits the size the
// query allows.
func FuzzServeDNS(f *testing.F) {
	for _, q := range []struct {
		name string
		t    uint16
		edns uint16
	}{
		{"_acme-challenge.fw01." + zone + ".", dns.TypeTXT, 0},
		{zone + ".", dns.TypeSOA, 1232},
		{zone + ".", dns.TypeANY, 4096},
		{"ns1." + zone + ".", dns.TypeAAAA, 0},
		{"example.com.", dns.TypeA, 0},
		{zone + ".", dns.TypeAXFR, 0},
		{"absent." + zone + ".", dns.TypeTXT, 65535},
	} {
		m := new(dns.Msg).SetQuestion(q.name, q.t)
		if q.edns > 0 {
			m.SetEdns0(q.edns, true)
		}
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, false)
	}
	long := strings.Repeat("x", 600) // split into 255-byte strings
	srv := &ottrdns.Server{
		Zones: []string{zone}, Store: memTXT{"_acme-challenge.fw01." + zone: {"dGhlIGNoYWxsZW5nZSB2YWx1ZQ", long}},
		Nameservers:     []string{"ns1." + zone},
		NameserverAddrs: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
		Now:             func() time.Time { return time.Unix(1_800_000_000, 0) },
	}
	f.Fuzz(func(t *testing.T, b []byte, tcp bool) {
		q := new(dns.Msg)
		if err := q.Unpack(b); err != nil {
			return // the miekg server drops what does not unpack
		}
		w := &capture{remote: &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5353}}
		if tcp {
			w.remote = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 5353}
		}
		srv.ServeDNS(w, q)
		if w.writes != 1 {
			t.Fatalf("%d replies, want 1", w.writes)
		}
		r := w.reply
		out, err := r.Pack()
		if err != nil {
			t.Fatalf("reply does not pack: %v\n%v", err, r)
		}
		if r.Id != q.Id || !r.Response {
			t.Fatalf("reply ID %d response %v, want the query's ID %d as a response", r.Id, r.Response, q.Id)
		}
		if !tcp {
			size := dns.MinMsgSize
			if opt := q.IsEdns0(); opt != nil {
				size = max(int(opt.UDPSize()), dns.MinMsgSize)
			}
			if len(out) > size {
				t.Fatalf("UDP reply of %d bytes, the query allows %d", len(out), size)
			}
		}
		inZone := len(q.Question) == 1 && ottrdns.InZone(ottrdns.Canonical(q.Question[0].Name), zone)
		if !inZone && (r.Rcode != dns.RcodeRefused && r.Rcode != dns.RcodeFormatError && r.Rcode != dns.RcodeNotImplemented || len(r.Answer) > 0) {
			t.Fatalf("answered for a name outside the zone: %v", r)
		}
		if r.Authoritative && !inZone {
			t.Fatal("authoritative for a name outside the zone")
		}
	})
}
