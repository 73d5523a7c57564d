package main

import (
	"github.com/ottr-dev/ottr"
)

// DNSProviderConfig says which external DNS API holds a delegate zone.
type DNSProviderConfig struct {
	Type string `yaml:"type"`
}

func (p DNSProviderConfig) validate(field string, bad func(field, format string, args ...any)) {
	bad(field+".type", "%q is not a supported provider", p.Type)
}

func (p DNSProviderConfig) zone(zone string) (ottr.DNSZone, error) {
	return nil, ottr.Errorf(ottr.EINVALID, "dns.providers.%s.type: %q is not a supported provider", zone, p.Type)
}
