package resolver_test

import (
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/sim/resolver"
)

// authority starts an authoritative server for zone that answers every
// TXT query with value.
func authority(t *testing.T, value string) string {
	t.Helper()
	pc, ln, err := ottrdns.ListenPair("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Authoritative = true
		m.Answer = append(m.Answer, &dns.TXT{Hdr: dns.RR_Header{Name: req.Question[0].Name, Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: 1}, Txt: []string{value}})
		w.WriteMsg(m)
	})
	udp, tcp := &dns.Server{PacketConn: pc, Handler: h}, &dns.Server{Listener: ln, Handler: h}
	ottrdns.ServePair(udp, tcp)
	t.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return pc.LocalAddr().String()
}

// deadAddr is a 127.0.0.1 port nothing listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func txt(t *testing.T, res *resolver.Resolver, name string) (string, int) {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	in, _, err := (&dns.Client{Net: "tcp", Timeout: 5 * time.Second}).Exchange(q, res.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Answer) == 0 {
		return "", in.Rcode
	}
	return in.Answer[0].(*dns.TXT).Txt[0], in.Rcode
}

// A zone with several NS is answered by any server that is up: queries
// take turns over the servers, and one that is down is passed over.
func TestDelegateToSeveralServers(t *testing.T) {
	res, err := resolver.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer res.Close()
	a, b, dead := authority(t, "from-a"), authority(t, "from-b"), deadAddr(t)
	res.Delegate("acme.example.net", a, dead, b)
	seen := map[string]int{}
	for range 6 {
		v, rcode := txt(t, res, "_acme-challenge.fw01.acme.example.net")
		if rcode != dns.RcodeSuccess {
			t.Fatalf("rcode %s, want an answer from a server that is up", dns.RcodeToString[rcode])
		}
		seen[v]++
	}
	if seen["from-a"] == 0 || seen["from-b"] == 0 {
		t.Errorf("answers %v: want both live servers to take turns", seen)
	}
	by := res.AnsweredBy()
	if by[a] != seen["from-a"] || by[b] != seen["from-b"] || by[dead] != 0 {
		t.Errorf("AnsweredBy %v, want %s:%d %s:%d and none from %s", by, a, seen["from-a"], b, seen["from-b"], dead)
	}
	if got := res.AnsweredFor("_acme-challenge.FW01.acme.example.net."); got[a]+got[b] != 6 {
		t.Errorf("AnsweredFor the name asked = %v, want its 6 queries", got)
	}
	if got := res.AnsweredFor("_acme-challenge.fw02.acme.example.net"); len(got) != 0 {
		t.Errorf("AnsweredFor a name never asked = %v, want none", got)
	}

	// Every server down: SERVFAIL, as a recursive resolver answers.
	res.Delegate("acme.example.net", dead)
	if _, rcode := txt(t, res, "_acme-challenge.fw01.acme.example.net"); rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s with every server down, want SERVFAIL", dns.RcodeToString[rcode])
	}
}
