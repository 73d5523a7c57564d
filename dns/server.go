package dns

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/ottr-dev/ottr"
)

// Server is an authoritative DNS server for delegate zones.
type Server struct {
	// Zones are the delegate zones served, e.g. "acme.example.net".
	Zones []string
	// Store holds the TXT records; every replica reads the same store.
	Store ottr.TXTStore
	// Nameservers are the NS names published at each zone apex. Default:
	// "ns.<zone>".
	Nameservers []string
	// NameserverAddrs are the addresses served for Nameservers that lie
	// inside a served zone (glue), so a delegation can point at them.
	NameserverAddrs []netip.Addr
	// TTL of answers. Low, so recursive resolvers do not keep an old
	// challenge value; default 1s.
	TTL time.Duration
	// NegativeTTL is the SOA minimum: how long resolvers may cache
	// NXDOMAIN/NODATA for a name whose record is about to appear; default 1s.
	NegativeTTL time.Duration
	// Hostmaster is the SOA RNAME as an e-mail address; default
	// hostmaster@<zone>.
	Hostmaster string
	Logger     *slog.Logger
	Now        func() time.Time

	mu      sync.Mutex
	udp     *dns.Server
	tcp     *dns.Server
	udpAddr net.Addr
	tcpAddr net.Addr
}

// Listen starts serving UDP and TCP on addr (host:port; port 0 picks one
// free for both) and returns once both listen. Serving stops when ctx ends
// or Close is called.
func (s *Server) Listen(ctx context.Context, addr string) error {
	if len(s.Zones) == 0 {
		return ottr.Errorf(ottr.EINVALID, "dns.zones: the DNS server needs at least one zone")
	}
	if s.Store == nil {
		return errors.New("dns server: no TXT store")
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return ottr.Errorf(ottr.EINVALID, "dns.listen: %q is not host:port", addr)
	}
	pc, ln, err := ListenPair(addr)
	if err != nil {
		return ottr.Errorf(ottr.EUNAVAILABLE, "dns.listen %s: %v", addr, err)
	}
	s.mu.Lock()
	s.udp = &dns.Server{PacketConn: pc, Handler: s}
	s.tcp = &dns.Server{Listener: ln, Handler: s, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	s.udpAddr, s.tcpAddr = pc.LocalAddr(), ln.Addr()
	udp, tcp := s.udp, s.tcp
	s.mu.Unlock()

	ServePair(udp, tcp)
	go func() {
		<-ctx.Done()
		s.Close()
	}()
	s.logger().Info("dns server listening", "addr", s.udpAddr.String(), "zones", s.Zones)
	return nil
}

// Addr returns the address served (UDP and TCP share it), or "" before
// Listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udpAddr == nil {
		return ""
	}
	return s.udpAddr.String()
}

// Close stops serving.
func (s *Server) Close() {
	s.mu.Lock()
	udp, tcp := s.udp, s.tcp
	s.udp, s.tcp = nil, nil
	s.mu.Unlock()
	if udp != nil {
		_ = udp.Shutdown()
	}
	if tcp != nil {
		_ = tcp.Shutdown()
	}
}

func (s *Server) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}

func (s *Server) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func seconds(d, def time.Duration) uint32 {
	if d <= 0 {
		d = def
	}
	return uint32((d + time.Second - 1) / time.Second)
}

// zoneOf returns the served zone containing name, or "".
func (s *Server) zoneOf(name string) string {
	best := ""
	for _, z := range s.Zones {
		z = Canonical(z)
		if InZone(name, z) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

func (s *Server) nameservers(zone string) []string {
	if len(s.Nameservers) > 0 {
		out := make([]string, len(s.Nameservers))
		for i, n := range s.Nameservers {
			out[i] = Canonical(n)
		}
		return out
	}
	return []string{"ns." + zone}
}

func (s *Server) soa(zone string) *dns.SOA {
	mbox := s.Hostmaster
	if mbox == "" {
		mbox = "hostmaster@" + zone
	}
	neg := seconds(s.NegativeTTL, time.Second)
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: dns.Fqdn(zone), Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: neg},
		Ns:      dns.Fqdn(s.nameservers(zone)[0]),
		Mbox:    dns.Fqdn(strings.Replace(mbox, "@", ".", 1)),
		Serial:  uint32(s.now().Unix()),
		Refresh: 3600, Retry: 600, Expire: 86400,
		Minttl: neg,
	}
}

// ServeDNS answers one query.
func (s *Server) ServeDNS(w dns.ResponseWriter, r *dns.Msg) {
	m := s.answer(r)
	if opt := r.IsEdns0(); opt != nil {
		m.SetEdns0(max(opt.UDPSize(), dns.MinMsgSize), false)
	}
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := dns.MinMsgSize
		if opt := r.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	_ = w.WriteMsg(m)
}

func (s *Server) answer(r *dns.Msg) *dns.Msg {
	m := new(dns.Msg)
	if r.Opcode != dns.OpcodeQuery {
		return m.SetRcode(r, dns.RcodeNotImplemented)
	}
	if len(r.Question) != 1 {
		return m.SetRcode(r, dns.RcodeFormatError)
	}
	q := r.Question[0]
	name := Canonical(q.Name)
	zone := s.zoneOf(name)
	if zone == "" || q.Qclass != dns.ClassINET || q.Qtype == dns.TypeAXFR || q.Qtype == dns.TypeIXFR {
		// Not ours: an authoritative-only server refuses instead of
		// recursing, so it cannot be abused as an open resolver.
		return m.SetRcode(r, dns.RcodeRefused)
	}
	m.SetReply(r)
	m.Authoritative = true
	m.RecursionAvailable = false
	ttl := seconds(s.TTL, time.Second)
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	any := q.Qtype == dns.TypeANY

	exists := false
	if name == zone {
		exists = true
		if q.Qtype == dns.TypeSOA || any {
			m.Answer = append(m.Answer, s.soa(zone))
		}
		if q.Qtype == dns.TypeNS || any {
			for _, ns := range s.nameservers(zone) {
				m.Answer = append(m.Answer, &dns.NS{Hdr: hdr(dns.TypeNS), Ns: dns.Fqdn(ns)})
				m.Extra = append(m.Extra, s.glue(ns, ttl)...)
			}
		}
	}
	for _, ns := range s.nameservers(zone) {
		if name == ns && len(s.NameserverAddrs) > 0 {
			exists = true
			for _, rr := range s.glue(ns, ttl) {
				if rr.Header().Rrtype == q.Qtype || any {
					m.Answer = append(m.Answer, rr)
				}
			}
		}
	}
	vals, has, err := s.Store.LookupTXT(context.Background(), name, s.now())
	if err != nil {
		s.logger().Error("dns txt lookup", "name", name, "err", err)
		return new(dns.Msg).SetRcode(r, dns.RcodeServerFailure)
	}
	exists = exists || has
	if q.Qtype == dns.TypeTXT || any {
		for _, v := range vals {
			m.Answer = append(m.Answer, &dns.TXT{Hdr: hdr(dns.TypeTXT), Txt: chunk(v)})
		}
	}
	switch {
	case !exists:
		m.Rcode = dns.RcodeNameError
		m.Ns = append(m.Ns, s.soa(zone))
	case len(m.Answer) == 0:
		m.Ns = append(m.Ns, s.soa(zone)) // NODATA
	}
	return m
}

func (s *Server) glue(ns string, ttl uint32) []dns.RR {
	if s.zoneOf(ns) == "" {
		return nil
	}
	var out []dns.RR
	for _, a := range s.NameserverAddrs {
		h := dns.RR_Header{Name: dns.Fqdn(ns), Class: dns.ClassINET, Ttl: ttl}
		if a.Is4() {
			h.Rrtype = dns.TypeA
			out = append(out, &dns.A{Hdr: h, A: a.AsSlice()})
		} else {
			h.Rrtype = dns.TypeAAAA
			out = append(out, &dns.AAAA{Hdr: h, AAAA: a.AsSlice()})
		}
	}
	return out
}

// chunk splits a TXT value into the 255-byte character-strings DNS allows.
func chunk(v string) []string {
	var out []string
	for len(v) > 255 {
		out = append(out, v[:255])
		v = v[255:]
	}
	return append(out, v)
}

// Canonical returns name in lower case without the trailing dot.
func Canonical(name string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(name)), ".")
}

// InZone reports whether name is zone or below it (both canonical).
func InZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}
