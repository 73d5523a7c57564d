package dns

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/ottr-dev/ottr"
)

// WaitTXT polls every authoritative server of d.Zone directly, without
// recursion, until each answers all values at d.Target. It polls with a
// short, growing interval instead of sleeping a fixed time, so a local
// zone is seen as soon as it is written.
//
// Each server must first answer the zone's SOA query with the AA flag:
// a recursive resolver listed in dns.nameservers, or named by a lame NS
// record, is refused with EINVALID before it is asked for any TXT. The
// resolvers are never asked for the TXT either: a resolver the CA shares
// caches the NXDOMAIN of an early lookup, and the CA's validation fails.
func (c *Challenges) WaitTXT(ctx context.Context, d ottr.Delegation, values []string) error {
	timeout := c.PropagationTimeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	servers, err := c.authoritative(ctx, d.Zone)
	if err != nil {
		return err
	}
	pending := slices.Clone(servers)
	have := map[string][]string{}
	verified := map[string]bool{}
	wait := 10 * time.Millisecond
	for {
		var still []string
		for _, srv := range pending {
			if !verified[srv] {
				ok, err := c.checkAuthoritative(ctx, srv, d.Zone)
				if err != nil {
					return err
				}
				if !ok {
					still = append(still, srv)
					continue
				}
				verified[srv] = true
			}
			got, err := c.txt(ctx, srv, d.Target)
			have[srv] = got
			if err != nil || !containsAll(got, values) {
				still = append(still, srv)
			}
		}
		if pending = still; len(pending) == 0 {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			var b strings.Builder
			for _, srv := range pending {
				fmt.Fprintf(&b, "; %s has %d of %d values", srv, countIn(have[srv], values), len(values))
			}
			return ottr.Errorf(ottr.EUNAVAILABLE, "%s: TXT at %s not visible on every nameserver of %s within %s%s",
				d.Name, d.Target, d.Zone, timeout, b.String())
		case <-t.C:
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

func containsAll(have, want []string) bool { return countIn(have, want) == len(want) }

func countIn(have, want []string) int {
	n := 0
	for _, w := range want {
		if slices.Contains(have, w) {
			n++
		}
	}
	return n
}

// checkAuthoritative asks server for zone's SOA without recursion. It
// returns true when the server answers it authoritatively, false when it
// did not answer usefully this time (unreachable, SERVFAIL: ask again),
// and an EINVALID error when it answered as something other than an
// authoritative server of zone, which polling cannot cure.
func (c *Challenges) checkAuthoritative(ctx context.Context, server, zone string) (bool, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(zone), dns.TypeSOA)
	m.RecursionDesired = false
	m.SetEdns0(1232, false)
	in, err := c.exchange(ctx, m, server)
	if err != nil || in.Rcode == dns.RcodeServerFailure {
		return false, nil
	}
	// The AA flag is what tells a zone's own server from a resolver; the
	// answer need not hold the SOA, since a delegate "zone" kept as a
	// plain subdomain of its provider's zone has none of its own.
	if in.Authoritative && (in.Rcode == dns.RcodeSuccess || in.Rcode == dns.RcodeNameError) {
		return true, nil
	}
	why := "is not authoritative for " + zone
	if in.Rcode != dns.RcodeSuccess && in.Rcode != dns.RcodeNameError {
		why += fmt.Sprintf(" (it answered the zone's SOA query with %s)", dns.RcodeToString[in.Rcode])
	} else {
		why += " (its answer to the zone's SOA query lacks the authoritative-answer flag)"
	}
	if slices.Contains(c.Nameservers, server) {
		return false, ottr.Invalid("", ottr.Problem{Field: "dns.nameservers",
			Message: fmt.Sprintf("%s %s; list the zone's authoritative servers, not a recursive resolver", server, why)})
	}
	return false, ottr.Errorf(ottr.EINVALID, "%s, found through the NS records of %s, %s: fix the delegation, or set dns.nameservers to the zone's authoritative servers", server, zone, why)
}

// txt asks server for the TXT values at name, without recursion.
func (c *Challenges) txt(ctx context.Context, server, name string) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	m.RecursionDesired = false
	m.SetEdns0(1232, false)
	in, err := c.exchange(ctx, m, server)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TXT); ok && Canonical(t.Hdr.Name) == name {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

// authoritative returns the servers to check for zone: the configured
// Nameservers, or the zone's NS records resolved to addresses.
func (c *Challenges) authoritative(ctx context.Context, zone string) ([]string, error) {
	if len(c.Nameservers) > 0 {
		return c.Nameservers, nil
	}
	c.mu.Lock()
	e, ok := c.nsCache[zone]
	c.mu.Unlock()
	if ok && time.Now().Before(e.expires) {
		return e.servers, nil
	}
	resolvers, err := c.resolvers()
	if err != nil {
		return nil, err
	}
	hosts, err := c.lookup(ctx, resolvers, zone, dns.TypeNS)
	if err != nil {
		return nil, err
	}
	port := c.NameserverPort
	if port == "" {
		port = "53"
	}
	var servers []string
	for _, h := range hosts {
		for _, t := range []uint16{dns.TypeA, dns.TypeAAAA} {
			addrs, _ := c.lookup(ctx, resolvers, h, t)
			for _, a := range addrs {
				servers = append(servers, net.JoinHostPort(a, port))
			}
		}
	}
	if len(servers) == 0 {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "find nameservers of %s: no NS with an address (set dns.nameservers to check propagation elsewhere)", zone)
	}
	c.mu.Lock()
	if c.nsCache == nil {
		c.nsCache = map[string]nsEntry{}
	}
	c.nsCache[zone] = nsEntry{servers: servers, expires: time.Now().Add(5 * time.Minute)}
	c.mu.Unlock()
	return servers, nil
}

// lookup returns the records of type t at name through the resolvers, as
// names (NS) or addresses (A/AAAA).
func (c *Challenges) lookup(ctx context.Context, resolvers []string, name string, t uint16) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), t)
	m.RecursionDesired = true
	var lastErr error
	for _, srv := range resolvers {
		in, err := c.exchange(ctx, m, srv)
		if err != nil {
			lastErr = err
			continue
		}
		if in.Rcode != dns.RcodeSuccess && in.Rcode != dns.RcodeNameError {
			lastErr = fmt.Errorf("%s answered %s", srv, dns.RcodeToString[in.Rcode])
			continue
		}
		var out []string
		for _, rr := range in.Answer {
			switch v := rr.(type) {
			case *dns.NS:
				out = append(out, Canonical(v.Ns))
			case *dns.A:
				out = append(out, v.A.String())
			case *dns.AAAA:
				out = append(out, v.AAAA.String())
			}
		}
		return out, nil
	}
	return nil, ottr.Errorf(ottr.EUNAVAILABLE, "look up %s %s: %v", dns.TypeToString[t], name, lastErr)
}
