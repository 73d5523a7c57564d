// Package resolver is a small recursive resolver for tests, benchmarks and
// `ottr demo`: it holds the "production" zones' CNAME records itself and
// forwards names in delegated zones to their authoritative servers (Ottr's
// built-in server or BIND), assembling CNAME chains the way a real
// recursive resolver does. A zone may have several authoritative servers
// (several NS records, e.g. Ottr replicas): like a recursive resolver, it
// spreads queries over them and tries the next when one does not answer.
// It does not cache, so every query sees the current records. It listens
// on 127.0.0.1 only.
package resolver

import (
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	ottrdns "github.com/ottr-dev/ottr/dns"
)

// Resolver is a recursive resolver over static CNAMEs and delegations.
type Resolver struct {
	Addr string // host:port, UDP and TCP

	mu          sync.Mutex
	cnames      map[string]string         // owner → target, canonical names
	delegations map[string][]string       // zone → authoritative host:port, one per NS
	next        int                       // rotates the first server asked
	answered    map[string]map[string]int // TXT name → authoritative host:port → queries it answered
	queries     int
	firstTXT    time.Time
	stop        func()
}

// FirstTXTQuery returns when the first TXT query arrived (zero if none):
// for a CA's validation authority, when validation began.
func (r *Resolver) FirstTXTQuery() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstTXT
}

// Start starts a Resolver on a free 127.0.0.1 port (UDP and TCP).
func Start() (*Resolver, error) {
	r := &Resolver{cnames: map[string]string{}, delegations: map[string][]string{}, answered: map[string]map[string]int{}}
	pc, ln, err := ottrdns.ListenPair("127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r.Addr = pc.LocalAddr().String()
	udp := &dns.Server{PacketConn: pc, Handler: r}
	tcp := &dns.Server{Listener: ln, Handler: r}
	ottrdns.ServePair(udp, tcp)
	r.stop = func() { udp.Shutdown(); tcp.Shutdown() }
	return r, nil
}

// Close stops the resolver.
func (r *Resolver) Close() { r.stop() }

func canon(n string) string { return strings.TrimSuffix(strings.ToLower(n), ".") }

// CNAME sets (target != "") or removes the CNAME at owner.
func (r *Resolver) CNAME(owner, target string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if target == "" {
		delete(r.cnames, canon(owner))
		return
	}
	r.cnames[canon(owner)] = canon(target)
}

// Delegate sends every name in zone to its authoritative servers, one
// host:port per NS record, replacing any earlier delegation. Each query
// goes to the next server in turn; a server that cannot be reached (or
// answers SERVFAIL) is skipped for the next, as a recursive resolver does
// with a zone's NS set.
func (r *Resolver) Delegate(zone string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delegations[canon(zone)] = append([]string(nil), addrs...)
}

// AnsweredBy returns how many TXT queries each authoritative server
// (host:port) answered: which server a CA's validation actually read.
func (r *Resolver) AnsweredBy() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for _, by := range r.answered {
		for a, n := range by {
			out[a] += n
		}
	}
	return out
}

// AnsweredFor is AnsweredBy for the TXT queries of one name, as asked of
// the authoritative servers (the end of the CNAME chain).
func (r *Resolver) AnsweredFor(name string) map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for a, n := range r.answered[canon(name)] {
		out[a] = n
	}
	return out
}

// Queries returns how many queries the resolver has answered.
func (r *Resolver) Queries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queries
}

// authority returns the servers of the closest delegated zone holding
// name, starting with the one whose turn it is; nil if none.
func (r *Resolver) authority(name string) []string {
	best := ""
	var addrs []string
	for z, a := range r.delegations {
		if (name == z || strings.HasSuffix(name, "."+z)) && len(z) > len(best) {
			best, addrs = z, a
		}
	}
	if len(addrs) == 0 {
		return nil
	}
	first := r.next % len(addrs)
	r.next++
	return append(append([]string(nil), addrs[first:]...), addrs[:first]...)
}

// exchange asks the servers in order until one answers other than
// SERVFAIL, and returns that answer and who gave it.
func exchange(q *dns.Msg, servers []string) (*dns.Msg, string, error) {
	var lastErr error
	for _, s := range servers {
		c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
		in, _, err := c.Exchange(q, s)
		if err == nil && in.Rcode != dns.RcodeServerFailure {
			return in, s, nil
		}
		if err == nil {
			err = errors.New("SERVFAIL from " + s)
		}
		lastErr = err
	}
	return nil, "", lastErr
}

// ServeDNS resolves one query.
func (r *Resolver) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	r.mu.Lock()
	r.queries++
	r.mu.Unlock()
	if len(req.Question) != 1 {
		m.Rcode = dns.RcodeFormatError
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := canon(q.Name)
	if q.Qtype == dns.TypeTXT {
		r.mu.Lock()
		if r.firstTXT.IsZero() {
			r.firstTXT = time.Now()
		}
		r.mu.Unlock()
	}
	seen := map[string]bool{}
	for hop := 0; hop < 16; hop++ {
		if seen[name] {
			m.Rcode = dns.RcodeServerFailure // a CNAME loop, as real resolvers answer
			break
		}
		seen[name] = true
		r.mu.Lock()
		auth := r.authority(name)
		target, isCNAME := r.cnames[name]
		r.mu.Unlock()
		if len(auth) > 0 {
			fq := new(dns.Msg)
			fq.SetQuestion(dns.Fqdn(name), q.Qtype)
			in, by, err := exchange(fq, auth)
			if err != nil {
				m.Rcode = dns.RcodeServerFailure
				break
			}
			if q.Qtype == dns.TypeTXT {
				r.mu.Lock()
				if r.answered[name] == nil {
					r.answered[name] = map[string]int{}
				}
				r.answered[name][by]++
				r.mu.Unlock()
			}
			m.Answer = append(m.Answer, in.Answer...)
			m.Rcode = in.Rcode
			if in.Rcode == dns.RcodeSuccess && len(in.Answer) == 0 {
				m.Ns = in.Ns
			}
			next := ""
			for _, rr := range in.Answer {
				if cn, ok := rr.(*dns.CNAME); ok && canon(cn.Hdr.Name) == name && q.Qtype != dns.TypeCNAME {
					next = canon(cn.Target)
				}
			}
			if next == "" {
				break
			}
			name = next
			continue
		}
		if isCNAME {
			m.Answer = append(m.Answer, &dns.CNAME{
				Hdr:    dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60},
				Target: dns.Fqdn(target),
			})
			if q.Qtype == dns.TypeCNAME {
				break
			}
			name = target
			continue
		}
		m.Rcode = dns.RcodeNameError
		break
	}
	w.WriteMsg(m)
}
