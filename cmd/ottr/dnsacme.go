package main

import (
	"context"
	"net"
	"net/netip"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	ottrdns "github.com/ottr-dev/ottr/dns"
)

// challenges builds the DNS-01 side from the configuration: each delegate
// zone is written through its provider, or through the database the
// built-in server answers from.
func (a *app) challenges(ctx context.Context) (*ottrdns.Challenges, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	if len(c.DNS.Zones) == 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "dns.zones: no delegate zone configured; DNS-01 needs at least one (see docs/dns-delegation.md)")
	}
	zones := map[string]ottr.DNSZone{}
	for _, z := range c.DNS.Zones {
		z = ottrdns.Canonical(z)
		if p, ok := providerFor(c.DNS.Providers, z); ok {
			dz, err := p.zone(z)
			if err != nil {
				return nil, err
			}
			zones[z] = dz
			continue
		}
		if a.readOnly {
			// Checking delegation reads DNS only: no database for it.
			zones[z] = readOnlyZone{}
			continue
		}
		db, err := a.store(ctx)
		if err != nil {
			return nil, err
		}
		zones[z] = &ottrdns.StoreZone{Store: db}
	}
	ns := withPorts(c.DNS.Nameservers)
	if len(ns) == 0 && c.DNS.Listen != "" && len(c.DNS.Providers) == 0 {
		// Every zone is the built-in server's: ask it directly.
		ns = []string{localAddr(c.DNS.Listen)}
	}
	return &ottrdns.Challenges{
		Zones:              zones,
		Resolvers:          withPorts(c.DNS.Resolvers),
		Nameservers:        ns,
		PropagationTimeout: time.Duration(c.DNS.PropagationTimeout),
		Logger:             a.log,
	}, nil
}

func providerFor(ps map[string]DNSProviderConfig, zone string) (DNSProviderConfig, bool) {
	for z, p := range ps {
		if ottrdns.Canonical(z) == zone {
			return p, true
		}
	}
	return DNSProviderConfig{}, false
}

// localAddr turns a listen address into one to send queries to.
func localAddr(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::", "[::]":
		host = "::1"
	}
	return net.JoinHostPort(host, port)
}

// dnsServer returns the built-in DNS server for the zones without a
// provider, not yet listening.
func (a *app) dnsServer(ctx context.Context) (*ottrdns.Server, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	var zones []string
	for _, z := range c.DNS.Zones {
		if _, ok := providerFor(c.DNS.Providers, ottrdns.Canonical(z)); !ok {
			zones = append(zones, z)
		}
	}
	if len(zones) == 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "dns.zones: every zone has a provider; the built-in server has nothing to serve")
	}
	var addrs []netip.Addr
	for _, s := range c.DNS.NSAddresses {
		addrs = append(addrs, netip.MustParseAddr(s)) // validated with the config
	}
	return &ottrdns.Server{
		Zones: zones, Store: db,
		Nameservers: c.DNS.NSNames, NameserverAddrs: addrs,
		TTL: time.Duration(c.DNS.TTL), NegativeTTL: time.Duration(c.DNS.NegativeTTL),
		Logger: a.log,
	}, nil
}

// issuer builds the ACME issuer over the configured CAs.
func (a *app) issuer(ctx context.Context) (*acme.Issuer, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	if len(c.CertificateAuthorities) == 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "certificate_authorities: none configured (see docs/configuration.md)")
	}
	ch, err := a.challenges(ctx)
	if err != nil {
		return nil, err
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	cas := map[string]acme.CA{}
	for name, ca := range c.CertificateAuthorities {
		cas[name] = ca.toACME()
	}
	return &acme.Issuer{CAs: cas, Secrets: db, DNS: ch, Logger: a.log}, nil
}

// readOnlyZone stands for a built-in zone in commands that only read.
type readOnlyZone struct{}

func (readOnlyZone) AddTXT(context.Context, string, string) error {
	return ottr.Errorf(ottr.EINVALID, "this command only reads: it writes no TXT record")
}

func (readOnlyZone) RemoveTXT(context.Context, string, string) error {
	return ottr.Errorf(ottr.EINVALID, "this command only reads: it removes no TXT record")
}
