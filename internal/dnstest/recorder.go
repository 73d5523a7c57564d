package dnstest

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	ottrdns "github.com/ottr-dev/ottr/dns"
)

// Recorder is a DNS proxy in front of a resolver that records every
// question it relays, so a test sees exactly what a client asked.
type Recorder struct {
	Addr     string // 127.0.0.1:port, UDP and TCP
	upstream string

	mu        sync.Mutex
	questions []dns.Question
}

// StartRecorder starts a Recorder relaying to upstream (host:port) and
// stops it when the test ends.
func StartRecorder(tb testing.TB, upstream string) *Recorder {
	tb.Helper()
	r := &Recorder{upstream: upstream}
	pc, ln, err := ottrdns.ListenPair("127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	r.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: r}
	tcp := &dns.Server{Listener: ln, Handler: r}
	ottrdns.ServePair(udp, tcp)
	tb.Cleanup(func() { udp.Shutdown(); tcp.Shutdown() })
	return r
}

// ServeDNS records the question and relays the upstream's answer over the
// same transport; SERVFAIL when the upstream does not answer.
func (r *Recorder) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	r.mu.Lock()
	r.questions = append(r.questions, req.Question...)
	r.mu.Unlock()
	network := "udp"
	if _, ok := w.LocalAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}
	c := &dns.Client{Net: network, Timeout: 5 * time.Second}
	in, _, err := c.Exchange(req, r.upstream)
	if err != nil {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeServerFailure)
		w.WriteMsg(m)
		return
	}
	w.WriteMsg(in)
}

// Questions returns the questions relayed so far, in order, as
// "TYPE name" with the name in canonical form (e.g. "CNAME a.example.com").
func (r *Recorder) Questions() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.questions))
	for i, q := range r.questions {
		out[i] = dns.TypeToString[q.Qtype] + " " + ottrdns.Canonical(q.Name)
	}
	return out
}
