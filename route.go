package ottr

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// RouteTable is Ottr's route.json: which rotation recipe serves an asset,
// keyed by platform, OS version and CA, with the allow-lists the API
// validates assets against. It reads the file exactly as Ottr ships it and
// writes it back with the same structure.
type RouteTable struct {
	Platforms map[string]*Platform
	// CertificateAuthorities lists the CA names assets may use.
	CertificateAuthorities []string
	// CertificateAuthorityOrganization lists issuer organisation names a
	// served certificate may carry (checked when verifying a rotation).
	CertificateAuthorityOrganization []string
	// HostedZones maps a registered domain to a provider zone ID. When
	// present, its keys are the domains asset names must lie within.
	HostedZones map[string]string
	// Extra keeps top-level keys Ottr's schema does not define (such as
	// "note") so the file round-trips.
	Extra map[string]json.RawMessage
}

// Platform is one entry of route.json's "platform" map. Ottr marks platforms
// it knows but cannot rotate yet with a string ("PENDING") instead of an
// object; such a platform has Status set and no OS routes.
type Platform struct {
	Status string
	OS     map[string]*OSRoute
	Extra  map[string]json.RawMessage
}

// OSRoute is route.json's platform.<p>.os.<version> object.
type OSRoute struct {
	// CertificateAuthority maps a CA name to the rotation recipe that
	// serves it (in Ottr, an ECS task definition family).
	CertificateAuthority map[string]string `json:"certificate_authority"`
	// Model, when present, lists the device models this route serves.
	Model []string                   `json:"model,omitempty"`
	Extra map[string]json.RawMessage `json:"-"`
}

// Pending is the status Ottr's route.json gives platforms without routes.
const Pending = "PENDING"

// Route is the result of a successful lookup.
type Route struct {
	Platform  string `json:"platform"`
	OSVersion string `json:"os_version"` // the route.json key that matched
	CA        string `json:"certificate_authority"`
	Recipe    string `json:"recipe"`
	Key       string `json:"key"` // JSON path of the recipe in route.json
}

// NoRouteError says exactly why an asset has no route: Key is the route.json
// path that is missing or does not match, Reason says how.
type NoRouteError struct {
	Key    string
	Reason string
}

func (e *NoRouteError) Error() string { return "no route: " + e.Key + ": " + e.Reason }

// ParseRouteTable reads route.json. Structural problems are reported all at
// once as an EINVALID *Error whose problems name each JSON path; an unusable
// table is never returned.
func ParseRouteTable(r io.Reader) (*RouteTable, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read route table: %w", err)
	}
	var top map[string]json.RawMessage
	if err := strictUnmarshal(data, &top); err != nil {
		return nil, Invalid("route table is not valid JSON", Problem{Field: "$", Message: DescribeJSONError(data, err)})
	}
	if top == nil {
		return nil, Invalid("route table", Problem{Field: "$", Message: "want a JSON object, got null"})
	}
	t := &RouteTable{Platforms: map[string]*Platform{}, Extra: map[string]json.RawMessage{}}
	var probs []Problem
	add := func(path, format string, args ...any) {
		probs = append(probs, Problem{Field: path, Message: fmt.Sprintf(format, args...)})
	}
	for key, raw := range top {
		switch key {
		case "platform":
			t.parsePlatforms(raw, add)
		case "certificate_authorities":
			if err := json.Unmarshal(raw, &t.CertificateAuthorities); err != nil {
				add(key, "want a list of CA names: %s", typeErr(err))
			}
		case "certificate_authority_organization":
			if err := json.Unmarshal(raw, &t.CertificateAuthorityOrganization); err != nil {
				add(key, "want a list of organisation names: %s", typeErr(err))
			}
		case "hosted_zones":
			if err := json.Unmarshal(raw, &t.HostedZones); err != nil {
				add(key, "want an object mapping domains to zone IDs: %s", typeErr(err))
			}
		default:
			t.Extra[key] = raw
		}
	}
	if _, ok := top["platform"]; !ok {
		add("platform", "missing: the table routes nothing")
	}
	if _, ok := top["certificate_authorities"]; !ok {
		add("certificate_authorities", "missing: no CA can be used")
	}
	probs = append(probs, t.crossCheck()...)
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Field < probs[j].Field })
		return nil, Invalid(fmt.Sprintf("route table has %d problem(s)", len(probs)), probs...)
	}
	return t, nil
}

func (t *RouteTable) parsePlatforms(raw json.RawMessage, add func(string, string, ...any)) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		add("platform", "want an object keyed by host_platform")
		return
	}
	for name, praw := range m {
		path := "platform." + name
		if strings.TrimSpace(name) == "" {
			add(path, "platform name is empty")
			continue
		}
		var status string
		if json.Unmarshal(praw, &status) == nil {
			if status != Pending {
				add(path, "a platform given as a string must be %q, got %q", Pending, status)
				continue
			}
			t.Platforms[name] = &Platform{Status: status}
			continue
		}
		var pm map[string]json.RawMessage
		if err := json.Unmarshal(praw, &pm); err != nil || pm == nil {
			add(path, "want an object with \"os\" or the string %q", Pending)
			continue
		}
		p := &Platform{OS: map[string]*OSRoute{}, Extra: map[string]json.RawMessage{}}
		for k, v := range pm {
			if k != "os" {
				p.Extra[k] = v
			}
		}
		osraw, ok := pm["os"]
		if !ok {
			add(path+".os", "missing: want an object keyed by os_version")
			continue
		}
		var om map[string]json.RawMessage
		if err := json.Unmarshal(osraw, &om); err != nil || om == nil {
			add(path+".os", "want an object keyed by os_version")
			continue
		}
		for ver, vraw := range om {
			vpath := path + ".os." + ver
			if strings.TrimSpace(ver) == "" {
				add(vpath, "os_version key is empty")
				continue
			}
			r, probs := parseOSRoute(vpath, vraw)
			for _, pr := range probs {
				add(pr.Field, "%s", pr.Message)
			}
			if r != nil {
				p.OS[ver] = r
			}
		}
		t.Platforms[name] = p
	}
}

func parseOSRoute(path string, raw json.RawMessage) (*OSRoute, []Problem) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, []Problem{{path, "want an object with \"certificate_authority\""}}
	}
	r := &OSRoute{Extra: map[string]json.RawMessage{}}
	var probs []Problem
	for k, v := range m {
		switch k {
		case "certificate_authority":
			if err := json.Unmarshal(v, &r.CertificateAuthority); err != nil || r.CertificateAuthority == nil {
				probs = append(probs, Problem{path + ".certificate_authority", "want an object mapping CA names to recipe names"})
				continue
			}
			for ca, recipe := range r.CertificateAuthority {
				if strings.TrimSpace(recipe) == "" {
					probs = append(probs, Problem{path + ".certificate_authority." + ca, "recipe name is empty"})
				}
			}
		case "model":
			if err := json.Unmarshal(v, &r.Model); err != nil {
				probs = append(probs, Problem{path + ".model", "want a list of device models: " + typeErr(err)})
			}
		default:
			r.Extra[k] = v
		}
	}
	if _, ok := m["certificate_authority"]; !ok {
		probs = append(probs, Problem{path + ".certificate_authority", "missing: the route names no recipe"})
	}
	return r, probs
}

// crossCheck finds references that cannot work: routes for CAs missing from
// certificate_authorities, and empty hosted zone keys.
func (t *RouteTable) crossCheck() []Problem {
	var probs []Problem
	for _, ca := range t.CertificateAuthorities {
		if strings.TrimSpace(ca) == "" {
			probs = append(probs, Problem{"certificate_authorities", "contains an empty CA name"})
		}
	}
	for pname, p := range t.Platforms {
		for ver, r := range p.OS {
			for ca := range r.CertificateAuthority {
				if t.CertificateAuthorities != nil && !slices.Contains(t.CertificateAuthorities, ca) {
					probs = append(probs, Problem{
						"platform." + pname + ".os." + ver + ".certificate_authority." + ca,
						fmt.Sprintf("CA %q is not listed in certificate_authorities %s", ca, pyList(t.CertificateAuthorities)),
					})
				}
			}
		}
	}
	for zone := range t.HostedZones {
		if strings.Trim(zone, ". ") == "" {
			probs = append(probs, Problem{"hosted_zones", "contains an empty domain"})
		}
	}
	return probs
}

// Lookup returns the route for an asset's platform, OS version, device model
// and CA, or a *NoRouteError naming the missing key. OS versions match
// exactly first; otherwise the longest route key that is a dotted prefix of
// the asset's version wins ("9.1" serves "9.1.0"), an extension to Ottr.
func (t *RouteTable) Lookup(platform, osVersion, model, ca string) (*Route, error) {
	p, ok := t.Platforms[platform]
	if !ok {
		return nil, &NoRouteError{Key: "platform." + platform, Reason: fmt.Sprintf("platform %q is not in the route table (known: %s)", platform, pyList(t.PlatformNames()))}
	}
	if p.Status != "" {
		return nil, &NoRouteError{Key: "platform." + platform, Reason: fmt.Sprintf("platform %q is %s: no route yet", platform, p.Status)}
	}
	ver, r := p.matchOS(osVersion)
	if r == nil {
		return nil, &NoRouteError{Key: "platform." + platform + ".os." + osVersion, Reason: fmt.Sprintf("os_version %q has no route (routed versions: %s)", osVersion, pyList(sortedKeys(p.OS)))}
	}
	base := "platform." + platform + ".os." + ver
	if r.Model != nil && !slices.Contains(r.Model, model) {
		return nil, &NoRouteError{Key: base + ".model", Reason: fmt.Sprintf("device_model %q is not in the route's model list %s", model, pyList(r.Model))}
	}
	recipe, ok := r.CertificateAuthority[ca]
	if !ok {
		return nil, &NoRouteError{Key: base + ".certificate_authority." + ca, Reason: fmt.Sprintf("CA %q has no recipe for this platform and version (routed CAs: %s)", ca, pyList(sortedKeys(r.CertificateAuthority)))}
	}
	return &Route{Platform: platform, OSVersion: ver, CA: ca, Recipe: recipe, Key: base + ".certificate_authority." + ca}, nil
}

// LookupAsset is Lookup for an asset's fields.
func (t *RouteTable) LookupAsset(a *Asset) (*Route, error) {
	return t.Lookup(a.HostPlatform, a.OSVersion, a.DeviceModel, a.CertificateAuthority)
}

func (p *Platform) matchOS(v string) (string, *OSRoute) {
	if r, ok := p.OS[v]; ok {
		return v, r
	}
	best := ""
	for key := range p.OS {
		// "9.x" is written for "any 9 release"; it is the prefix "9".
		prefix := strings.TrimSuffix(key, ".x")
		if prefix == "" || len(prefix) <= len(strings.TrimSuffix(best, ".x")) {
			continue
		}
		if strings.HasPrefix(v, prefix+".") {
			best = key
		}
	}
	if best == "" {
		return "", nil
	}
	return best, p.OS[best]
}

// PlatformNames returns the platform keys in the table's sorted order,
// PENDING ones included.
func (t *RouteTable) PlatformNames() []string { return sortedKeys(t.Platforms) }

// HasCA reports whether ca is listed in certificate_authorities.
func (t *RouteTable) HasCA(ca string) bool { return slices.Contains(t.CertificateAuthorities, ca) }

// HostedZoneFor returns the hosted_zones key that name lies within (the
// longest one) and whether there is one.
func (t *RouteTable) HostedZoneFor(name string) (string, bool) {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	best := ""
	for zone := range t.HostedZones {
		z := strings.ToLower(strings.Trim(zone, "."))
		if (name == z || strings.HasSuffix(name, "."+z)) && len(z) > len(best) {
			best = zone
		}
	}
	return best, best != ""
}

// MarshalJSON writes the table in route.json's structure.
func (t *RouteTable) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range t.Extra {
		m[k] = v
	}
	m["platform"] = t.Platforms
	m["certificate_authorities"] = nonNil(t.CertificateAuthorities)
	if t.CertificateAuthorityOrganization != nil {
		m["certificate_authority_organization"] = t.CertificateAuthorityOrganization
	}
	if t.HostedZones != nil {
		m["hosted_zones"] = t.HostedZones
	}
	return json.Marshal(m)
}

// MarshalJSON writes a PENDING platform as its status string.
func (p *Platform) MarshalJSON() ([]byte, error) {
	if p.Status != "" {
		return json.Marshal(p.Status)
	}
	m := map[string]any{}
	for k, v := range p.Extra {
		m[k] = v
	}
	m["os"] = p.OS
	return json.Marshal(m)
}

// MarshalJSON writes the route with its unknown keys kept.
func (r *OSRoute) MarshalJSON() ([]byte, error) {
	m := map[string]any{}
	for k, v := range r.Extra {
		m[k] = v
	}
	m["certificate_authority"] = r.CertificateAuthority
	if r.Model != nil {
		m["model"] = r.Model
	}
	return json.Marshal(m)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// pyList formats names the way Ottr's messages do: ['a', 'b'].
func pyList(items []string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = "'" + s + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// strictUnmarshal decodes one JSON value and refuses trailing data.
func strictUnmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		line, col := lineCol(data, dec.InputOffset()+1)
		return fmt.Errorf("line %d, column %d: more after the end of the document; one JSON value is wanted", line, col)
	}
	return nil
}

// typeErr says what kind of JSON a key wants, not which Go type.
func typeErr(err error) string { return DescribeJSONError(nil, err) }
