package main

import (
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	ottrdns "github.com/ottr-dev/ottr/dns"
)

func (d *DNSConfig) validate(bad func(field, format string, args ...any)) {
	for i, z := range d.Zones {
		if err := ottr.CheckFQDN(ottrdns.Canonical(z), false); err != nil {
			bad("dns.zones", "%q (item %d) is not a DNS name: %v", z, i+1, err)
		}
	}
	if d.Listen != "" {
		if _, _, err := net.SplitHostPort(d.Listen); err != nil {
			bad("dns.listen", "%q is not host:port (e.g. 0.0.0.0:53)", d.Listen)
		}
		if len(d.Zones) == 0 {
			bad("dns.zones", "is empty, but dns.listen starts the built-in server: list the delegate zones it serves")
		}
	}
	for _, list := range []struct {
		field string
		addrs []string
	}{{"dns.resolvers", d.Resolvers}, {"dns.nameservers", d.Nameservers}} {
		for _, a := range list.addrs {
			if _, err := netip.ParseAddrPort(withPort(a)); err != nil {
				bad(list.field, "%q is not an IP address with optional :port", a)
			}
		}
	}
	for _, a := range d.NSAddresses {
		if _, err := netip.ParseAddr(a); err != nil {
			bad("dns.ns_addresses", "%q is not an IP address", a)
		}
	}
	if d.TTL < Duration(time.Second) || d.NegativeTTL < Duration(time.Second) {
		bad("dns.ttl", "ttl and negative_ttl must be at least 1s")
	}
	if d.PropagationTimeout < Duration(time.Second) {
		bad("dns.propagation_timeout", "%s is shorter than 1s", d.PropagationTimeout)
	}
	for zone, p := range d.Providers {
		if !containsZone(d.Zones, zone) {
			bad("dns.providers."+zone, "is not one of dns.zones")
		}
		p.validate(zone, bad)
	}
}

// builtinZones reports whether any delegate zone is served by the built-in
// server rather than a provider.
func (d *DNSConfig) builtinZones() bool {
	for _, z := range d.Zones {
		if _, ok := providerFor(d.Providers, ottrdns.Canonical(z)); !ok {
			return true
		}
	}
	return false
}

func containsZone(zones []string, z string) bool {
	for _, x := range zones {
		if ottrdns.Canonical(x) == ottrdns.Canonical(z) {
			return true
		}
	}
	return false
}

// withPort adds DNS's port 53 to an address given without one.
func withPort(a string) string {
	if _, _, err := net.SplitHostPort(a); err == nil {
		return a
	}
	return net.JoinHostPort(strings.Trim(a, "[]"), "53")
}

func withPorts(in []string) []string {
	out := make([]string, len(in))
	for i, a := range in {
		out[i] = withPort(a)
	}
	return out
}

// pemOrFile returns PEM given inline, or the contents of the file it names.
func pemOrFile(v string) []byte {
	if v == "" {
		return nil
	}
	if strings.Contains(v, "-----BEGIN") {
		return []byte(v)
	}
	b, err := os.ReadFile(v)
	if err != nil {
		return []byte("unreadable: " + err.Error()) // fails the PEM check, naming the field
	}
	return b
}

func (c CAConfig) toACME() acme.CA {
	return acme.CA{
		Directory:      c.Directory,
		Email:          c.Email,
		DirectoryCA:    pemOrFile(c.DirectoryCA),
		TrustedRoots:   pemOrFile(c.TrustedRoots),
		EAB:            acme.EAB{KID: c.EAB.KID, HMACKey: c.EAB.HMACKey},
		Profile:        c.Profile,
		PreferredChain: c.PreferredChain,
	}
}
