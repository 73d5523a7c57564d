package ottr

import (
	"fmt"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ValidateAsset checks an asset at the boundary (API, CLI, import) and
// normalises its names (lower case, no trailing dot). Every problem is
// reported at once, each naming its field and value. With a route table it
// also checks what Ottr's API checked against route.json: the CA is listed
// in certificate_authorities, host_platform is a platform key (PENDING ones
// included), and every name lies within hosted_zones when that map is
// present. An OS version or device model without a route is accepted; the
// router reports such assets as unrouted. It applies the default
// AssetLimits; AssetLimits.Validate applies configured ones.
func ValidateAsset(a *Asset, t *RouteTable) error {
	return AssetLimits{}.Validate(a, t)
}

// DefaultMaxSANs is the most subject_alternative_name entries an asset may
// carry unless configured otherwise: CAs cap names per certificate (Let's
// Encrypt at 100), and each name is a DNS challenge per rotation.
const DefaultMaxSANs = 100

// AssetLimits bounds what one asset may carry. A zero field means its
// default.
type AssetLimits struct {
	// MaxSANs is the most subject_alternative_name entries (DefaultMaxSANs
	// when 0).
	MaxSANs int
}

// Validate is ValidateAsset with these limits.
func (l AssetLimits) Validate(a *Asset, t *RouteTable) error {
	maxSANs := l.MaxSANs
	if maxSANs <= 0 {
		maxSANs = DefaultMaxSANs
	}
	var probs []Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	a.SystemName = NormalName(a.SystemName)
	a.CommonName = NormalName(a.CommonName)
	for i := range a.SubjectAlternativeName {
		a.SubjectAlternativeName[i] = NormalName(a.SubjectAlternativeName[i])
	}
	a.DNSZone = NormalName(a.DNSZone)

	checkName := func(field, v string, wildcard bool) {
		if v == "" {
			bad(field, "is required: give a fully qualified domain name")
			return
		}
		if err := CheckFQDN(v, wildcard); err != nil {
			bad(field, "%s %v", quoteShort(v), err)
			return
		}
		if t != nil && t.HostedZones != nil {
			if _, ok := t.HostedZoneFor(strings.TrimPrefix(v, "*.")); !ok {
				bad(field, "%q is not within a hosted zone of the route table %s", v, pyList(sortedKeys(t.HostedZones)))
			}
		}
	}
	checkName("system_name", a.SystemName, false)
	checkName("common_name", a.CommonName, true)
	if n := len(a.SubjectAlternativeName); n > maxSANs {
		// One problem, not one per name: the list is refused whole.
		bad("subject_alternative_name", "has %d names; the limit is %d", n, maxSANs)
	} else {
		for i, san := range a.SubjectAlternativeName {
			checkName(fmt.Sprintf("subject_alternative_name[%d]", i), san, true)
		}
	}
	if a.DNSZone != "" {
		if err := CheckFQDN(a.DNSZone, false); err != nil {
			bad("dns_zone", "%q %v", a.DNSZone, err)
		}
	}

	switch {
	case a.CertificateAuthority == "":
		bad("certificate_authority", "is required")
	case t != nil && !t.HasCA(a.CertificateAuthority):
		bad("certificate_authority", "%q not supported, valid parameters include: %s", a.CertificateAuthority, pyList(t.CertificateAuthorities))
	}
	switch {
	case a.HostPlatform == "":
		bad("host_platform", "is required")
	case t != nil && t.Platforms[a.HostPlatform] == nil:
		bad("host_platform", "%q not supported, valid parameters include: %s", a.HostPlatform, pyList(t.PlatformNames()))
	}
	if a.IPAddress != "" {
		if ip, ok := NormalIP(a.IPAddress); ok {
			a.IPAddress = ip
		} else {
			bad("ip_address", "%q is not a valid IPv4 or IPv6 address", a.IPAddress)
		}
	}
	if a.Port < 0 || a.Port > 65535 {
		bad("port", "%d is out of range 1-65535", a.Port)
	}
	for field, v := range map[string]string{
		"os_version": a.OSVersion, "device_model": a.DeviceModel, "data_center": a.DataCenter,
		"origin": a.Origin, "credential": a.Credential,
	} {
		if len(v) > 255 {
			bad(field, "is %d characters long; the limit is 255", len(v))
		} else if HasControl(v) {
			bad(field, "%q contains control characters", v)
		}
	}
	for _, k := range sortedKeys(a.Labels) {
		v := a.Labels[k]
		if !labelKey.MatchString(k) {
			bad("labels", "key %q must be 1-63 characters of letters, digits, '.', '_', '-', '/', starting with a letter or digit", k)
		}
		if len(v) > 255 || HasControl(v) {
			bad("labels."+k, "value %q must be at most 255 printable characters", v)
		}
	}
	if len(probs) == 0 {
		return nil
	}
	return Invalid(fmt.Sprintf("asset %q has %d problem(s)", a.SystemName, len(probs)), sortProblems(probs)...)
}

var labelKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$`)

// quoteShort quotes a value for a message, cut so that what is wrong with
// it still shows when it is very long.
func quoteShort(v string) string {
	if len(v) > 64 {
		return strconv.Quote(v[:61]) + "…"
	}
	return strconv.Quote(v)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// HasControl reports whether s holds a C0 control character (NUL,
// newline, …) or DEL: never part of a name, a path or a label.
func HasControl(s string) bool { return strings.ContainsFunc(s, isControl) }

// NormalIP gives an ip_address its stored form, and reports whether it is
// an address at all. Ottr took four dot-separated runs of digits, each at
// most 255, and read them as decimal (api/backend/app/shared/network.py:
// octet.isdigit(), int(octet)), so "010.0.0.9" was 10.0.0.9; netip refuses
// leading zeros, which some parsers read as octal. Such an address is
// stored as 10.0.0.9. IPv6 addresses (an addition of ours, without a zone)
// are kept as written.
func NormalIP(s string) (string, bool) {
	if _, err := netip.ParseAddr(s); err == nil {
		return s, !strings.Contains(s, "%")
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return "", false
	}
	var b [4]byte
	for i, p := range parts {
		if p == "" || strings.IndexFunc(p, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
			return "", false
		}
		p = strings.TrimLeft(p, "0")
		if len(p) > 3 {
			return "", false
		}
		n, _ := strconv.Atoi("0" + p)
		if n > 255 {
			return "", false
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b).String(), true
}

// NormalName is a DNS name as Ottr stores it: trimmed, lower case, without
// the root's trailing dot.
func NormalName(s string) string {
	return strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
}

// CheckFQDN reports why name is not a fully qualified DNS host name: at
// least two labels, each 1-63 letters, digits or hyphens not at either end,
// at most 253 characters, a top-level label that is not all digits. With
// wildcard, "*" is allowed as the whole leftmost label only.
func CheckFQDN(name string, wildcard bool) error {
	if len(name) > 253 {
		return fmt.Errorf("is %d characters long; a domain name is at most 253", len(name))
	}
	labels := strings.Split(name, ".")
	if len(labels) < 2 {
		return fmt.Errorf("is not a fully qualified domain name (want e.g. host.example.com)")
	}
	for i, l := range labels {
		if l == "*" {
			if !wildcard {
				return fmt.Errorf("contains a wildcard, which is not allowed here")
			}
			if i != 0 {
				return fmt.Errorf("has a wildcard that is not the leftmost label")
			}
			if len(labels) < 3 {
				return fmt.Errorf("is a wildcard directly under a top-level domain")
			}
			continue
		}
		if l == "" {
			return fmt.Errorf("has an empty label")
		}
		if len(l) > 63 {
			return fmt.Errorf("has a label longer than 63 characters")
		}
		for j, r := range l {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			case r == '-' && j != 0 && j != len(l)-1:
			case r == '*':
				return fmt.Errorf("has a wildcard that is not a whole label")
			case r >= utf8.RuneSelf:
				if ascii, err := idna.Lookup.ToASCII(name); err == nil {
					return fmt.Errorf("is an internationalised name; write it in its ASCII (IDNA) form %q", ascii)
				}
				return fmt.Errorf("has a label %q with a character not allowed in host names", l)
			default:
				return fmt.Errorf("has a label %q with a character not allowed in host names", l)
			}
		}
	}
	tld := labels[len(labels)-1]
	if strings.Trim(tld, "0123456789") == "" {
		return fmt.Errorf("ends in an all-numeric label (an IP address is not a domain name)")
	}
	return nil
}

func sortProblems(p []Problem) []Problem {
	// Field order of Asset, not map order, so messages are stable.
	order := map[string]int{"system_name": 0, "common_name": 1, "subject_alternative_name": 2, "certificate_authority": 3,
		"host_platform": 4, "os_version": 5, "device_model": 6, "ip_address": 7, "data_center": 8, "origin": 9,
		"labels": 10, "port": 11, "credential": 12, "dns_zone": 13}
	rank := func(f string) int {
		if i := strings.IndexAny(f, "[."); i > 0 {
			f = f[:i]
		}
		if r, ok := order[f]; ok {
			return r
		}
		return 99
	}
	out := append([]Problem(nil), p...)
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i].Field) < rank(out[j].Field) })
	return out
}
