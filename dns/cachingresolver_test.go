package dns_test

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
	"github.com/ottr-dev/ottr"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/internal/bindtest"
	"github.com/ottr-dev/ottr/internal/dnstest"
)

// cachingResolver starts BIND as the recursive resolver a company and its
// internal CA share: authoritative for the production zone example.com
// (holding the _acme-challenge CNAMEs), forwarding the delegate zone to
// Ottr's DNS server at delegateAddr, and caching negative answers.
func cachingResolver(t *testing.T, delegateAddr string, cnames ...string) *bindtest.Server {
	t.Helper()
	host, port, _ := net.SplitHostPort(delegateAddr)
	var records strings.Builder
	for i := 0; i+1 < len(cnames); i += 2 {
		fmt.Fprintf(&records, "%s. IN CNAME %s.\n", cnames[i], cnames[i+1])
	}
	return bindtest.Start(t, bindtest.Options{
		Recursion: true,
		Cache:     true,
		Records:   map[string]string{"example.com": records.String()},
		ExtraConfig: fmt.Sprintf("zone %q { type forward; forward only; forwarders { %s port %s; }; };\n",
			zone, host, port),
	}, "example.com")
}

// caTXT looks up the TXT at name through resolver as a CA's validation
// does: recursively, following a CNAME the resolver leaves unresolved.
func caTXT(t *testing.T, resolver, name string) []string {
	t.Helper()
	for range 8 {
		m := new(dns.Msg)
		m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
		c := &dns.Client{Net: "tcp", Timeout: 5 * time.Second}
		in, _, err := c.Exchange(m, resolver)
		if err != nil {
			t.Fatalf("CA's TXT lookup of %s: %v", name, err)
		}
		var vals []string
		next := ""
		for _, rr := range in.Answer {
			switch v := rr.(type) {
			case *dns.TXT:
				vals = append(vals, strings.Join(v.Txt, ""))
			case *dns.CNAME:
				next = ottrdns.Canonical(v.Target)
			}
		}
		if len(vals) > 0 || next == "" {
			return vals
		}
		name = next
	}
	t.Fatalf("CA's TXT lookup of %s: CNAME chain too long", name)
	return nil
}

// A recursive resolver that the CA shares caches a negative answer for the
// challenge TXT if anyone asks for it before it is written, and the CA's
// validation then fails (seen with BIND 9.18 in front of the delegate
// zone). Ottr must follow the CNAME chain with CNAME queries only and
// check propagation on the delegate zone's own servers, so the resolver
// is never asked for a TXT record and the CA finds the value.
func TestCachingResolverNeverAskedForTXT(t *testing.T) {
	db := openStore(t)
	srv := startServer(t, db)
	_, srvPort, _ := net.SplitHostPort(srv.Addr())
	for _, tc := range []struct {
		name string
		host string
		// nameservers is dns.nameservers; empty: the zone's NS records.
		nameservers []string
	}{
		{"configured nameservers", "fw01", []string{srv.Addr()}},
		{"nameservers from NS records", "fw02", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host := tc.host
			owner := "_acme-challenge." + host + ".example.com"
			alias := "_acme-challenge." + host + ".alias.example.com"
			target := "_acme-challenge." + host + "." + zone
			bind := cachingResolver(t, srv.Addr(), owner, alias, alias, target)
			rec := dnstest.StartRecorder(t, bind.Addr)
			ch := &ottrdns.Challenges{
				Zones:              map[string]ottr.DNSZone{zone: &ottrdns.StoreZone{Store: db}},
				Resolvers:          []string{rec.Addr},
				Nameservers:        tc.nameservers,
				NameserverPort:     srvPort,
				PropagationTimeout: 5 * time.Second,
			}
			ctx := t.Context()
			d, err := ch.Delegate(ctx, host+".example.com")
			if err != nil {
				t.Fatalf("Delegate: %v\nnamed:\n%s", err, bind.Log())
			}
			if want := []string{owner, alias, target}; !slices.Equal(d.Chain, want) {
				t.Fatalf("chain = %v, want %v", d.Chain, want)
			}
			if err := ch.AddTXT(ctx, d, "token-"+host); err != nil {
				t.Fatal(err)
			}
			if err := ch.WaitTXT(ctx, d, []string{"token-" + host}); err != nil {
				t.Fatalf("WaitTXT: %v", err)
			}
			asked := rec.Questions()
			if got := caTXT(t, bind.Addr, owner); !slices.Equal(got, []string{"token-" + host}) {
				t.Errorf("the CA's resolver answers TXT %v at %s, want the token (Ottr asked it: %v)", got, owner, asked)
			}
			for _, q := range asked {
				typ, name, _ := strings.Cut(q, " ")
				switch {
				case strings.HasPrefix(name, "_acme-challenge.") && typ != "CNAME":
					t.Errorf("Ottr asked the resolver %s; only CNAME queries may follow the chain", q)
				case !slices.Contains([]string{"CNAME", "NS", "SOA", "A", "AAAA"}, typ):
					t.Errorf("Ottr asked the resolver %s", q)
				}
			}
		})
	}
}

// A recursive resolver listed in dns.nameservers (or named by a lame NS
// record) is not an authoritative server: asking it for the TXT would be
// asking the shared resolver after all. WaitTXT refuses it at once, naming
// the setting, without sending it a TXT query.
func TestWaitTXTRefusesResolverAsNameserver(t *testing.T) {
	db := openStore(t)
	srv := startServer(t, db)
	owner := "_acme-challenge.fw03.example.com"
	target := "_acme-challenge.fw03." + zone
	bind := cachingResolver(t, srv.Addr(), owner, target)
	rec := dnstest.StartRecorder(t, bind.Addr)
	_, bindPort, _ := net.SplitHostPort(bind.Addr)
	for _, tc := range []struct {
		name        string
		nameservers []string
		port        string
		field       string
	}{
		{"resolver in dns.nameservers", []string{rec.Addr}, "", "dns.nameservers"},
		{"lame NS record", nil, bindPort, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ch := &ottrdns.Challenges{
				Zones:              map[string]ottr.DNSZone{zone: &ottrdns.StoreZone{Store: db}},
				Resolvers:          []string{rec.Addr},
				Nameservers:        tc.nameservers,
				NameserverPort:     tc.port,
				PropagationTimeout: 10 * time.Second,
			}
			ctx := t.Context()
			d, err := ch.Delegate(ctx, "fw03.example.com")
			if err != nil {
				t.Fatal(err)
			}
			if err := ch.AddTXT(ctx, d, "token-fw03"); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = ch.WaitTXT(ctx, d, []string{"token-fw03"})
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("WaitTXT took %v to give up on a server that is not authoritative", el)
			}
			if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "not authoritative for "+zone) {
				t.Fatalf("WaitTXT = %v, want EINVALID: not authoritative for %s", err, zone)
			}
			if tc.field != "" {
				probs := ottr.ErrorProblems(err)
				if len(probs) != 1 || probs[0].Field != tc.field {
					t.Errorf("problems = %+v, want one on %s", probs, tc.field)
				}
			}
			for _, q := range rec.Questions() {
				if strings.HasPrefix(q, "TXT ") {
					t.Errorf("Ottr asked the resolver %s", q)
				}
			}
		})
	}
	if got := caTXT(t, bind.Addr, owner); !slices.Equal(got, []string{"token-fw03"}) {
		t.Errorf("the CA's resolver answers TXT %v at %s, want the token", got, owner)
	}
}
