// Package rfc2136 keeps a delegate zone on any DNS server that takes RFC
// 2136 dynamic updates signed with TSIG (RFC 8945): BIND, PowerDNS, Knot,
// Windows DNS.
//
// The server must allow the key to add and delete TXT records in the zone;
// in BIND:
//
//	key "ottr" { algorithm hmac-sha256; secret "<base64>"; };
//	zone "acme.example.net" {
//	    type primary; file "acme.example.net.zone";
//	    update-policy { grant ottr zonesub TXT; };
//	};
//
// Updates add or delete single TXT records, never the whole RRset, so
// several challenges sharing one name coexist. It is built directly on
// github.com/miekg/dns, which Ottr already uses for its DNS server; no
// provider library is needed for two message shapes.
package rfc2136

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
	"github.com/ottr-dev/ottr"
)

// Config addresses the primary server of one delegate zone.
type Config struct {
	Zone    string      `yaml:"zone"`
	Server  string      `yaml:"server"`   // host:port of the primary
	KeyName string      `yaml:"key_name"` // TSIG key name
	KeyAlg  string      `yaml:"key_alg"`  // default hmac-sha256
	Secret  ottr.Secret `yaml:"secret"`   // base64 TSIG secret
	// TTL of the records; default 10s.
	TTL time.Duration `yaml:"ttl"`
	// Timeout bounds one update; default 10s.
	Timeout time.Duration `yaml:"timeout"`
}

var algs = map[string]string{
	"hmac-sha1": dns.HmacSHA1, "hmac-sha224": dns.HmacSHA224, "hmac-sha256": dns.HmacSHA256,
	"hmac-sha384": dns.HmacSHA384, "hmac-sha512": dns.HmacSHA512,
}

// Zone writes TXT records through dynamic updates.
type Zone struct {
	c   Config
	alg string
}

var _ ottr.DNSZone = (*Zone)(nil)

// New checks c and returns its zone. Fields are named as under
// dns.providers.<zone> in the configuration.
func New(c Config) (*Zone, error) {
	var probs []ottr.Problem
	bad := func(f, msg string) { probs = append(probs, ottr.Problem{Field: f, Message: msg}) }
	c.Zone = strings.TrimSuffix(strings.ToLower(c.Zone), ".")
	if c.Zone == "" {
		bad("zone", "is required")
	}
	if _, _, err := net.SplitHostPort(c.Server); err != nil {
		bad("server", fmt.Sprintf("%q is not host:port", c.Server))
	}
	if c.KeyAlg == "" {
		c.KeyAlg = "hmac-sha256"
	}
	alg, ok := algs[strings.ToLower(c.KeyAlg)]
	if !ok {
		bad("key_alg", fmt.Sprintf("%q is not one of hmac-sha1, hmac-sha224, hmac-sha256, hmac-sha384, hmac-sha512", c.KeyAlg))
	}
	if c.KeyName == "" {
		bad("key_name", "is required (updates must be signed)")
	}
	if c.Secret.IsZero() {
		bad("secret", "is required")
	} else if _, err := base64.StdEncoding.DecodeString(c.Secret.Reveal()); err != nil {
		bad("secret", "is not base64")
	}
	if c.TTL <= 0 {
		c.TTL = 10 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("rfc2136 provider is misconfigured", probs...)
	}
	return &Zone{c: c, alg: alg}, nil
}

func (z *Zone) rr(name, value string) (*dns.TXT, error) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if name != z.c.Zone && !strings.HasSuffix(name, "."+z.c.Zone) {
		return nil, ottr.Errorf(ottr.EINVALID, "rfc2136: %s is not in zone %s", name, z.c.Zone)
	}
	var txt []string
	for len(value) > 255 {
		txt, value = append(txt, value[:255]), value[255:]
	}
	return &dns.TXT{
		Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: uint32(z.c.TTL / time.Second)},
		Txt: append(txt, value),
	}, nil
}

// AddTXT adds value at name, keeping the RRset's other values.
func (z *Zone) AddTXT(ctx context.Context, name, value string) error {
	rr, err := z.rr(name, value)
	if err != nil {
		return err
	}
	m := new(dns.Msg)
	m.SetUpdate(dns.Fqdn(z.c.Zone))
	m.Insert([]dns.RR{rr})
	return z.send(ctx, m, "add TXT "+rr.Hdr.Name)
}

// RemoveTXT deletes value at name; other values stay.
func (z *Zone) RemoveTXT(ctx context.Context, name, value string) error {
	rr, err := z.rr(name, value)
	if err != nil {
		return err
	}
	m := new(dns.Msg)
	m.SetUpdate(dns.Fqdn(z.c.Zone))
	m.Remove([]dns.RR{rr})
	return z.send(ctx, m, "remove TXT "+rr.Hdr.Name)
}

func (z *Zone) send(ctx context.Context, m *dns.Msg, what string) error {
	keyName := dns.Fqdn(z.c.KeyName)
	m.SetTsig(keyName, z.alg, 300, time.Now().Unix())
	cl := &dns.Client{Net: "tcp", Timeout: z.c.Timeout, TsigSecret: map[string]string{keyName: z.c.Secret.Reveal()}}
	ctx, cancel := context.WithTimeout(ctx, z.c.Timeout)
	defer cancel()
	in, _, err := cl.ExchangeContext(ctx, m, z.c.Server)
	switch {
	case errors.Is(err, dns.ErrSig), errors.Is(err, dns.ErrAuth), errors.Is(err, dns.ErrSecret), errors.Is(err, dns.ErrKeyAlg):
		return ottr.Errorf(ottr.EUNAUTHORIZED, "rfc2136 %s at %s: TSIG key %s rejected (%v)", what, z.c.Server, z.c.KeyName, err)
	case err != nil:
		return ottr.Errorf(ottr.EUNAVAILABLE, "rfc2136 %s at %s: %v", what, z.c.Server, err)
	}
	if t := in.IsTsig(); t != nil && t.Error != dns.RcodeSuccess {
		return ottr.Errorf(ottr.EUNAUTHORIZED, "rfc2136 %s at %s: TSIG key %s rejected (%s)", what, z.c.Server, z.c.KeyName, dns.RcodeToString[int(t.Error)])
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
		return nil
	case dns.RcodeNotAuth, dns.RcodeRefused, dns.RcodeBadSig, dns.RcodeBadKey, dns.RcodeBadTime:
		return ottr.Errorf(ottr.EUNAUTHORIZED, "rfc2136 %s at %s: server answered %s; may key %s update zone %s?",
			what, z.c.Server, dns.RcodeToString[in.Rcode], z.c.KeyName, z.c.Zone)
	case dns.RcodeNotZone, dns.RcodeNXRrset, dns.RcodeYXDomain:
		return ottr.Errorf(ottr.EINVALID, "rfc2136 %s at %s: server answered %s", what, z.c.Server, dns.RcodeToString[in.Rcode])
	default:
		return ottr.Errorf(ottr.EUNAVAILABLE, "rfc2136 %s at %s: server answered %s", what, z.c.Server, dns.RcodeToString[in.Rcode])
	}
}
