package ottr

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
)

// DiscoveryImport says how discovered endpoints become assets.
type DiscoveryImport struct {
	// CertificateAuthority is the new assets' certificate_authority.
	CertificateAuthority string `json:"certificate_authority"`
	// Platform is the host_platform of endpoints whose platform was not
	// guessed (generic TLS servers); empty: they are skipped.
	Platform string `json:"platform,omitempty"`
	// Update refreshes the certificate fields of assets that exist (and
	// their host_platform when it is empty); without it they are left
	// as they are.
	Update bool `json:"update,omitempty"`
	// Apply makes the changes; without it the outcomes say what would
	// be done and nothing changes.
	Apply bool `json:"apply,omitempty"`
}

// Import outcomes: what became, or would become, of one endpoint.
const (
	ImportAdd       = "add"       // a new asset
	ImportUpdate    = "update"    // an existing asset's certificate fields refreshed
	ImportUnchanged = "unchanged" // it exists and records what is served already
	ImportExists    = "exists"    // it exists and is left as it is (no Update)
	ImportSkip      = "skip"      // not an asset: no name, no platform, no certificate, a name seen before
	ImportRefused   = "refused"   // the asset would be invalid (the reason names the field)
)

// ImportOutcome is what became, or would become, of one endpoint.
type ImportOutcome struct {
	Address    string `json:"address"`
	SystemName string `json:"system_name,omitempty"`
	Platform   string `json:"platform,omitempty"`
	Action     string `json:"action"`
	Reason     string `json:"reason,omitempty"`
}

// DiscoveryImportResult is an import's outcomes, one per endpoint in the
// order given, and whether they were applied.
type DiscoveryImportResult struct {
	Applied  bool            `json:"applied"`
	Outcomes []ImportOutcome `json:"outcomes"`
}

// Refused counts the outcomes refused.
func (r *DiscoveryImportResult) Refused() int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Action == ImportRefused {
			n++
		}
	}
	return n
}

// AssetFromEndpoint is the asset a discovered endpoint becomes: named by
// its certificate's common name when that is a host name, else its first
// DNS name, else the host dialled; with the certificate's names, the
// fields of what it serves (expiry, not-before, serial, issuer), the port,
// the address dialled when it was an IP address, the platform guessed
// (else o.Platform), o's CA, origin "discovery", and
// certificate_validation "True" only when the chain was trusted. A
// non-empty reason says why the endpoint cannot be one; the asset is then
// nil, or names what it would be (it lacks a platform).
func AssetFromEndpoint(ep DiscoveredEndpoint, o DiscoveryImport) (*Asset, string) {
	c := ep.Certificate
	switch {
	case ep.Error != "":
		return nil, "nothing to import: " + ep.Error
	case c == nil:
		return nil, "nothing to import: no certificate was served"
	}
	host := func(n string) bool {
		n = NormalName(n)
		return n != "" && CheckFQDN(n, false) == nil && !placeholder(n)
	}
	name := ""
	switch {
	case host(c.CommonName):
		name = c.CommonName
	default:
		for _, n := range c.DNSNames {
			if host(n) {
				name = n
				break
			}
		}
	}
	if _, err := netip.ParseAddr(ep.Host); name == "" && err != nil && host(ep.Host) {
		name = ep.Host
	}
	if name == "" {
		return nil, fmt.Sprintf("no host name to call it by: the certificate names %s and it was reached at %s", certNamesText(c), ep.Host)
	}
	name = NormalName(name)
	platform := ep.Platform
	if platform == "" {
		platform = o.Platform
	}
	a := &Asset{SystemName: name, CommonName: name, CertificateAuthority: o.CertificateAuthority, HostPlatform: platform,
		CertificateValidation: BoolString(c.Trusted), Port: ep.Port, Origin: OriginDiscovery}
	if cn := NormalName(c.CommonName); cn != "" && CheckFQDN(cn, true) == nil && !placeholder(cn) {
		a.CommonName = cn
	}
	seen := map[string]bool{}
	for _, n := range c.DNSNames {
		n = NormalName(n)
		if CheckFQDN(n, true) == nil && !placeholder(n) && !seen[n] {
			seen[n] = true
			a.SubjectAlternativeName = append(a.SubjectAlternativeName, n)
		}
	}
	if len(a.SubjectAlternativeName) == 0 {
		a.SubjectAlternativeName = []string{a.CommonName}
	}
	if addr, err := netip.ParseAddr(ep.Host); err == nil {
		a.IPAddress = addr.String()
	}
	refreshCertificate(a, ep)
	if platform == "" {
		what := ep.Product
		if what == "" {
			what = ProductTLS
		}
		return a, fmt.Sprintf("no platform guessed (%s); give the platform of such endpoints to import them", what)
	}
	return a, ""
}

// serviceProducts are what a device serves beside its management
// interface: the same name on both, the management interface is the
// asset's address.
var serviceProducts = []string{"SSL-VPN", "GlobalProtect", "Gateway", "virtual server"}

// rank orders endpoints serving one name: a management interface, then a
// service of the same device, then a generic TLS server.
func rank(ep DiscoveredEndpoint) int {
	switch {
	case ep.Platform == "":
		return 2
	case slices.ContainsFunc(serviceProducts, func(s string) bool { return strings.Contains(ep.Product, s) }):
		return 1
	}
	return 0
}

// placeholder reports a name devices put in factory certificates, which
// no CA issues for: localhost, *.localdomain, *.localhost.
func placeholder(n string) bool {
	return n == "localhost" || strings.HasSuffix(n, ".localdomain") || strings.HasSuffix(n, ".localhost")
}

func certNamesText(c *DiscoveredCertificate) string {
	names := append([]string{}, c.DNSNames...)
	if c.CommonName != "" {
		names = append([]string{c.CommonName}, names...)
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// refreshCertificate records what ep serves on a; it reports whether
// anything changed.
func refreshCertificate(a *Asset, ep DiscoveredEndpoint) bool {
	c := ep.Certificate
	exp, nb := NewTime(c.NotAfter), NewTime(c.NotBefore)
	changed := a.CertificateSerial != c.Serial || a.CertificateIssuer != c.Issuer ||
		a.CertificateExpiration == nil || !a.CertificateExpiration.Equal(exp.Time) ||
		a.CertificateNotBefore == nil || !a.CertificateNotBefore.Equal(nb.Time)
	a.CertificateSerial, a.CertificateIssuer = c.Serial, c.Issuer
	a.CertificateExpiration, a.CertificateNotBefore = exp, nb
	return changed
}

// ImportDiscovered makes assets of discovered endpoints in store, or says
// what it would make when o.Apply is false: a new one for each endpoint
// whose name is not in the inventory; an existing one is left as it is,
// unless o.Update, which refreshes only its certificate fields (and its
// host_platform when that is empty). An endpoint that cannot be an asset
// is skipped with the reason; check (the caller's validation, with its
// route table and limits) refuses an asset with the field named. changed
// is told of every change made. An error other than a refusal (the store
// is unavailable) ends the import and is returned with the outcomes so
// far.
func ImportDiscovered(ctx context.Context, store AssetStore, eps []DiscoveredEndpoint, o DiscoveryImport,
	check func(*Asset) error, changed func(action string, before, after *Asset)) (*DiscoveryImportResult, error) {
	res := &DiscoveryImportResult{Applied: o.Apply, Outcomes: []ImportOutcome{}}
	assets := make([]*Asset, len(eps))
	whys := make([]string, len(eps))
	// Where several endpoints serve one name, the asset is the best
	// ranked (its management interface), the first of those.
	best := map[string]int{}
	for i, ep := range eps {
		assets[i], whys[i] = AssetFromEndpoint(ep, o)
		if a := assets[i]; a != nil && whys[i] == "" {
			if j, ok := best[a.SystemName]; !ok || rank(ep) < rank(eps[j]) {
				best[a.SystemName] = i
			}
		}
	}
	for i, ep := range eps {
		out := ImportOutcome{Address: ep.Address, Platform: ep.Platform}
		a := assets[i]
		if a != nil {
			out.SystemName, out.Platform = a.SystemName, a.HostPlatform
		}
		if whys[i] != "" {
			out.Action, out.Reason = ImportSkip, whys[i]
			res.Outcomes = append(res.Outcomes, out)
			continue
		}
		if j := best[a.SystemName]; j != i {
			out.Action, out.Reason = ImportSkip, "the same name as "+eps[j].Address+" (one device answering on several ports, or several serving one name)"
			res.Outcomes = append(res.Outcomes, out)
			continue
		}
		outcome, err := importOne(ctx, store, a, ep, o, check, changed)
		out.Action, out.Reason = outcome.Action, outcome.Reason
		if outcome.Platform != "" {
			out.Platform = outcome.Platform
		}
		res.Outcomes = append(res.Outcomes, out)
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// importOne adds or refreshes one asset; err is set only when the import
// cannot go on.
func importOne(ctx context.Context, store AssetStore, a *Asset, ep DiscoveredEndpoint, o DiscoveryImport,
	check func(*Asset) error, changed func(string, *Asset, *Asset)) (ImportOutcome, error) {
	refused := func(err error) (ImportOutcome, error) {
		if ErrorCode(err) != EINVALID {
			return ImportOutcome{Action: ImportRefused, Reason: ErrorMessage(err)}, err
		}
		return ImportOutcome{Action: ImportRefused, Reason: oneLine(err)}, nil
	}
	cur, err := store.GetAsset(ctx, a.SystemName)
	switch {
	case ErrorCode(err) == ENOTFOUND:
		if err := check(a); err != nil {
			return refused(err)
		}
		if !o.Apply {
			return ImportOutcome{Action: ImportAdd}, nil
		}
		if err := store.CreateAsset(ctx, a); err != nil {
			if ErrorCode(err) == ECONFLICT {
				return ImportOutcome{Action: ImportExists, Reason: "added by someone else meanwhile"}, nil
			}
			return refused(err)
		}
		if changed != nil {
			changed("asset.create", nil, a)
		}
		return ImportOutcome{Action: ImportAdd}, nil
	case err != nil:
		return ImportOutcome{Action: ImportRefused, Reason: ErrorMessage(err)}, err
	case !o.Update:
		return ImportOutcome{Action: ImportExists, Reason: "in the inventory already; left as it is (update refreshes its certificate fields)", Platform: cur.HostPlatform}, nil
	}
	refresh := func(x *Asset) bool {
		c := refreshCertificate(x, ep)
		if x.HostPlatform == "" {
			x.HostPlatform, c = a.HostPlatform, true
		}
		return c
	}
	next := cur.Clone()
	if !refresh(next) {
		return ImportOutcome{Action: ImportUnchanged, Reason: "records what it serves already", Platform: cur.HostPlatform}, nil
	}
	if err := check(next); err != nil {
		return refused(err)
	}
	if !o.Apply {
		return ImportOutcome{Action: ImportUpdate, Reason: updateReason(cur, next), Platform: next.HostPlatform}, nil
	}
	var before *Asset
	after, err := store.UpdateAsset(ctx, a.SystemName, func(x *Asset) error {
		before = x.Clone()
		refresh(x)
		return check(x)
	})
	if err != nil {
		return refused(err)
	}
	if changed != nil {
		changed("asset.update", before, after)
	}
	return ImportOutcome{Action: ImportUpdate, Reason: updateReason(before, after), Platform: after.HostPlatform}, nil
}

// updateReason says what a refresh changes.
func updateReason(before, after *Asset) string {
	var parts []string
	if before.CertificateSerial != after.CertificateSerial {
		parts = append(parts, "serial "+orNone(before.CertificateSerial)+" → "+after.CertificateSerial)
	}
	if exp := after.CertificateExpiration; before.CertificateExpiration == nil || !before.CertificateExpiration.Equal(exp.Time) {
		was := "none"
		if before.CertificateExpiration != nil {
			was = before.CertificateExpiration.String()
		}
		parts = append(parts, "expiry "+was+" → "+exp.String())
	}
	if before.HostPlatform != after.HostPlatform {
		parts = append(parts, "host_platform "+after.HostPlatform)
	}
	if len(parts) == 0 {
		return "certificate fields"
	}
	return strings.Join(parts, ", ")
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// oneLine is an error's message with its problems.
func oneLine(err error) string {
	probs := ErrorProblems(err)
	if len(probs) == 0 {
		return ErrorMessage(err)
	}
	parts := make([]string, len(probs))
	for i, p := range probs {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}
