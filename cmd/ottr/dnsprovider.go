package main

import (
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/dns/cloudflare"
	"github.com/ottr-dev/ottr/dns/rfc2136"
	"github.com/ottr-dev/ottr/dns/route53"
	"go.yaml.in/yaml/v3"
)

// DNSProviderConfig says which external DNS API holds a delegate zone:
// "type" picks the provider, the other keys are that provider's settings
// (see docs/dns-delegation.md).
type DNSProviderConfig struct {
	Type string `yaml:"type"`
	node *yaml.Node
}

// UnmarshalYAML keeps the provider's keys for the provider to decode.
func (p *DNSProviderConfig) UnmarshalYAML(n *yaml.Node) error {
	var head struct {
		Type string `yaml:"type"`
	}
	if err := n.Decode(&head); err != nil {
		return err
	}
	p.Type, p.node = head.Type, n
	return nil
}

var providerTypes = "rfc2136, cloudflare, route53"

func (p DNSProviderConfig) validate(zone string, bad func(field, format string, args ...any)) {
	field := "dns.providers." + zone
	if _, err := p.zone(zone); err != nil {
		for _, pr := range ottr.ErrorProblems(err) {
			bad(field+"."+pr.Field, "%s", pr.Message)
		}
		if len(ottr.ErrorProblems(err)) == 0 {
			bad(field, "%s", ottr.ErrorMessage(err))
		}
	}
}

// zone builds the provider's ottr.DNSZone for a delegate zone.
func (p DNSProviderConfig) zone(zone string) (ottr.DNSZone, error) {
	switch p.Type {
	case "rfc2136":
		var c rfc2136.Config
		if err := p.decode(&c); err != nil {
			return nil, err
		}
		if c.Zone == "" {
			c.Zone = zone
		}
		return rfc2136.New(c)
	case "cloudflare":
		var c cloudflare.Config
		if err := p.decode(&c); err != nil {
			return nil, err
		}
		if c.Zone == "" {
			c.Zone = zone
		}
		return cloudflare.New(c)
	case "route53":
		var c route53.Config
		if err := p.decode(&c); err != nil {
			return nil, err
		}
		if c.Zone == "" {
			c.Zone = zone
		}
		return route53.New(c)
	case "":
		return nil, ottr.Errorf(ottr.EINVALID, "type is required (one of %s)", providerTypes)
	}
	return nil, ottr.Errorf(ottr.EINVALID, "type %q is not one of %s", p.Type, providerTypes)
}

func (p DNSProviderConfig) decode(v any) error {
	if p.node == nil {
		return nil
	}
	if err := p.node.Decode(v); err != nil {
		return nodeDecodeError(p.node, v, err)
	}
	return nil
}
