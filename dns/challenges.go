package dns

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
	"github.com/ottr-dev/ottr"
)

// Challenges implements ottr.ChallengeDNS over delegate zones.
type Challenges struct {
	// Zones maps each delegate zone (e.g. "acme.example.net") to the writer
	// of its records.
	Zones map[string]ottr.DNSZone
	// Resolvers are recursive resolvers (host:port) used to follow CNAME
	// chains and find a zone's nameservers; they are never asked for a
	// TXT record (see the package doc). Default: /etc/resolv.conf.
	Resolvers []string
	// Nameservers (host:port) are the delegate zones' authoritative
	// servers, asked directly whether a TXT value is visible; one that does
	// not answer a zone's SOA query with the AA flag is refused. Default: the
	// zone's NS records, resolved through Resolvers.
	Nameservers []string
	// NameserverPort is the port of nameservers found through NS records;
	// default 53.
	NameserverPort string
	// PropagationTimeout bounds WaitTXT; default 2m.
	PropagationTimeout time.Duration
	// MaxChain bounds the CNAME hops followed; default 8.
	MaxChain int
	// QueryTimeout bounds one DNS exchange; default 2s.
	QueryTimeout time.Duration
	Logger       *slog.Logger

	mu      sync.Mutex
	nsCache map[string]nsEntry
}

type nsEntry struct {
	servers []string
	expires time.Time
}

var _ ottr.ChallengeDNS = (*Challenges)(nil)

// ChallengeName returns _acme-challenge.<name>; a wildcard's challenge is
// answered at its base name (RFC 8555 §8.4).
func ChallengeName(name string) string {
	return "_acme-challenge." + strings.TrimPrefix(Canonical(name), "*.")
}

func (c *Challenges) zoneOf(name string) string {
	best := ""
	for z := range c.Zones {
		if z = Canonical(z); InZone(name, z) && len(z) > len(best) {
			best = z
		}
	}
	return best
}

func (c *Challenges) zoneList() string {
	zs := make([]string, 0, len(c.Zones))
	for z := range c.Zones {
		zs = append(zs, Canonical(z))
	}
	slices.Sort(zs)
	return strings.Join(zs, ", ")
}

func (c *Challenges) resolvers() ([]string, error) {
	if len(c.Resolvers) > 0 {
		return c.Resolvers, nil
	}
	conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(conf.Servers) == 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "dns.resolvers: none configured and /etc/resolv.conf gives none")
	}
	out := make([]string, len(conf.Servers))
	for i, s := range conf.Servers {
		out[i] = net.JoinHostPort(s, conf.Port)
	}
	return out, nil
}

// Delegate follows the CNAME chain of _acme-challenge.<name> to its target
// in a delegate zone.
func (c *Challenges) Delegate(ctx context.Context, name string) (ottr.Delegation, error) {
	name = Canonical(name)
	cur := ChallengeName(name)
	d := ottr.Delegation{Name: name, Chain: []string{cur}}
	maxChain := c.MaxChain
	if maxChain <= 0 {
		maxChain = 8
	}
	for hop := 0; ; hop++ {
		if z := c.zoneOf(cur); z != "" {
			d.Target, d.Zone = cur, z
			return d, nil
		}
		if hop == maxChain {
			return d, ottr.Errorf(ottr.EINVALID, "%s: CNAME chain longer than %d hops: %s", name, maxChain, strings.Join(d.Chain, " → "))
		}
		next, err := c.cname(ctx, cur)
		if err != nil {
			return d, err
		}
		if next == "" {
			if hop == 0 {
				return d, ottr.Errorf(ottr.EINVALID, "%s: %s has no CNAME; create one pointing into a delegate zone (%s), e.g. %s. CNAME %s.",
					name, cur, c.zoneList(), cur, SuggestTarget(name, name, c.firstZone()))
			}
			return d, ottr.Errorf(ottr.EINVALID, "%s: CNAME chain %s ends outside the delegate zones (%s)",
				name, strings.Join(d.Chain, " → "), c.zoneList())
		}
		if slices.Contains(d.Chain, next) {
			d.Chain = append(d.Chain, next)
			return d, ottr.Errorf(ottr.EINVALID, "%s: CNAME loop: %s", name, strings.Join(d.Chain, " → "))
		}
		d.Chain = append(d.Chain, next)
		cur = next
	}
}

func (c *Challenges) firstZone() string {
	zs := strings.Split(c.zoneList(), ", ")
	return zs[0]
}

// cname asks the resolvers for the CNAME owned by name; "" when it has none.
func (c *Challenges) cname(ctx context.Context, name string) (string, error) {
	servers, err := c.resolvers()
	if err != nil {
		return "", err
	}
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeCNAME)
	m.RecursionDesired = true
	m.SetEdns0(1232, false)
	var lastErr error
	for _, srv := range servers {
		in, err := c.exchange(ctx, m, srv)
		if err != nil {
			lastErr = err
			continue
		}
		switch in.Rcode {
		case dns.RcodeNameError:
			return "", nil
		case dns.RcodeSuccess:
			for _, rr := range in.Answer {
				if cn, ok := rr.(*dns.CNAME); ok && Canonical(cn.Hdr.Name) == name {
					return Canonical(cn.Target), nil
				}
			}
			return "", nil
		default:
			lastErr = fmt.Errorf("%s answered %s", srv, dns.RcodeToString[in.Rcode])
		}
	}
	return "", ottr.Errorf(ottr.EUNAVAILABLE, "look up CNAME of %s: %v", name, lastErr)
}

func (c *Challenges) exchange(ctx context.Context, m *dns.Msg, server string) (*dns.Msg, error) {
	to := c.QueryTimeout
	if to <= 0 {
		to = 2 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	cl := &dns.Client{Net: "udp"}
	in, _, err := cl.ExchangeContext(ctx, m, server)
	if err == nil && in.Truncated {
		cl.Net = "tcp"
		in, _, err = cl.ExchangeContext(ctx, m, server)
	}
	return in, err
}

func (c *Challenges) zone(d ottr.Delegation) (ottr.DNSZone, error) {
	z, ok := c.Zones[d.Zone]
	if !ok {
		for k, v := range c.Zones {
			if Canonical(k) == d.Zone {
				return v, nil
			}
		}
		return nil, ottr.Errorf(ottr.EINVALID, "%s: %s is not a delegate zone (%s)", d.Name, d.Zone, c.zoneList())
	}
	return z, nil
}

// AddTXT writes value at d.Target.
func (c *Challenges) AddTXT(ctx context.Context, d ottr.Delegation, value string) error {
	z, err := c.zone(d)
	if err != nil {
		return err
	}
	if err := z.AddTXT(ctx, d.Target, value); err != nil {
		return fmt.Errorf("add TXT at %s: %w", d.Target, err)
	}
	return nil
}

// RemoveTXT deletes value at d.Target.
func (c *Challenges) RemoveTXT(ctx context.Context, d ottr.Delegation, value string) error {
	z, err := c.zone(d)
	if err != nil {
		return err
	}
	if err := z.RemoveTXT(ctx, d.Target, value); err != nil {
		return fmt.Errorf("remove TXT at %s: %w", d.Target, err)
	}
	return nil
}
