package dns

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// Record is one DNS record an operator creates in a production zone.
type Record struct {
	Name   string `json:"name"`   // absolute, no trailing dot
	Type   string `json:"type"`   // CNAME
	Target string `json:"target"` // absolute, no trailing dot
}

// SuggestTarget returns where the _acme-challenge CNAME of name should
// point, following Ottr's scheme: every name of a certificate shares one
// target, _acme-challenge.<subdomain of the common name>.<zone>, so one
// TXT RRset answers them all. For "fw01.dc1.example.com" and zone
// "acme.example.net" that is "_acme-challenge.fw01.dc1.acme.example.net".
func SuggestTarget(commonName, name, zone string) string {
	cn := Canonical(commonName)
	sub := cn
	if rd, err := publicsuffix.EffectiveTLDPlusOne(cn); err == nil {
		if s, ok := strings.CutSuffix(cn, "."+rd); ok {
			sub = s
		} else {
			// The common name is a registered domain itself; its first
			// label keeps targets of different apexes apart.
			sub = strings.SplitN(rd, ".", 2)[0]
		}
	}
	return "_acme-challenge." + sub + "." + Canonical(zone)
}

// Records returns the CNAME records that delegate the DNS-01 challenges of
// a certificate for commonName and sans into zone.
func Records(commonName string, sans []string, zone string) []Record {
	var out []Record
	seen := map[string]bool{}
	for _, n := range append([]string{commonName}, sans...) {
		n = Canonical(n)
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, Record{Name: ChallengeName(n), Type: "CNAME", Target: SuggestTarget(commonName, n, zone)})
	}
	return out
}
