// Package resolver is a small recursive resolver for tests, benchmarks and
// `ottr demo`: it holds the "production" zones' CNAME records itself and
// forwards names in delegated zones to their authoritative servers (Ottr's
// built-in server or BIND), assembling CNAME chains the way a real
// recursive resolver does. It does not cache, so every query sees the
// current records. It listens on 127.0.0.1 only.
package resolver

import (
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
	cnames      map[string]string // owner → target, canonical names
	delegations map[string]string // zone → authoritative host:port
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
	r := &Resolver{cnames: map[string]string{}, delegations: map[string]string{}}
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

// Delegate sends every name in zone to the authoritative server at addr.
func (r *Resolver) Delegate(zone, addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.delegations[canon(zone)] = addr
}

// Queries returns how many queries the resolver has answered.
func (r *Resolver) Queries() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.queries
}

func (r *Resolver) authority(name string) string {
	best, addr := "", ""
	for z, a := range r.delegations {
		if (name == z || strings.HasSuffix(name, "."+z)) && len(z) > len(best) {
			best, addr = z, a
		}
	}
	return addr
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
		if auth != "" {
			fq := new(dns.Msg)
			fq.SetQuestion(dns.Fqdn(name), q.Qtype)
			c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
			in, _, err := c.Exchange(fq, auth)
			if err != nil {
				m.Rcode = dns.RcodeServerFailure
				break
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
