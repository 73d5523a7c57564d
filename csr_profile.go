package ottr

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509/pkix"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// KeyTypes are the CSRRequest key types, as configuration spells them.
var KeyTypes = []string{"rsa2048", "rsa3072", "rsa4096", "p256", "p384"}

// CheckKeyType reports whether kt is one of KeyTypes ("" is not).
func CheckKeyType(kt string) error {
	if !slices.Contains(KeyTypes, kt) {
		return fmt.Errorf("%q is not a key type (want one of %s)", kt, strings.Join(KeyTypes, ", "))
	}
	return nil
}

// KeyTypeOf names a public key as KeyTypes do; "" for any other key.
func KeyTypeOf(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch k.N.BitLen() {
		case 2048, 3072, 4096:
			return fmt.Sprintf("rsa%d", k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return "p256"
		case elliptic.P384():
			return "p384"
		}
	}
	return ""
}

// describeKey says what a key is, for messages: "RSA 2048", "ECDSA P-256".
func describeKey(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	}
	return "unsupported"
}

// Upper bounds of RFC 5280 (Appendix A.1, ub-*), in characters; a value
// longer than these cannot be encoded in a conforming request, and devices
// refuse it only once asked.
var subjectBounds = map[string]int{"state": 128, "locality": 128, "organization": 64, "organizational_unit": 64, "email": 255}

var (
	countryCode  = regexp.MustCompile(`^[A-Z]{2}$`)
	emailAddress = regexp.MustCompile(`^[!-?A-~]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)
)

// fields lists the subject's fields by their configuration names, in the
// order of a distinguished name.
func (s Subject) fields() [][2]string {
	return [][2]string{{"country", s.Country}, {"state", s.State}, {"locality", s.Locality},
		{"organization", s.Organization}, {"organizational_unit", s.OrganizationalUnit}, {"email", s.Email}}
}

// Check reports every field that no device could put in a request: a
// country that is not two capital letters (ISO 3166), an email that is not
// an address, a value over RFC 5280's bound, or one with control
// characters. Fields are named as configuration names them.
func (s Subject) Check() []Problem {
	var probs []Problem
	for _, f := range s.fields() {
		name, v := f[0], f[1]
		if v == "" {
			continue
		}
		switch {
		case !utf8.ValidString(v):
			probs = append(probs, Problem{Field: name, Message: "is not valid UTF-8"})
			continue
		case strings.IndexFunc(v, unicode.IsControl) >= 0:
			probs = append(probs, Problem{Field: name, Message: "holds a control character (a line break or tab, say)"})
			continue
		case strings.TrimSpace(v) != v:
			probs = append(probs, Problem{Field: name, Message: fmt.Sprintf("%q begins or ends with a space", v)})
			continue
		}
		switch name {
		case "country":
			if !countryCode.MatchString(v) {
				probs = append(probs, Problem{Field: name, Message: fmt.Sprintf("%q: want a two-letter ISO 3166 code in capitals, such as US", v)})
			}
			continue
		case "email":
			if !emailAddress.MatchString(v) {
				probs = append(probs, Problem{Field: name, Message: fmt.Sprintf("%q is not an email address (ASCII, user@domain)", v)})
				continue
			}
		}
		if n := utf8.RuneCountInString(v); n > subjectBounds[name] {
			probs = append(probs, Problem{Field: name, Message: fmt.Sprintf("%d characters; RFC 5280 allows at most %d", n, subjectBounds[name])})
		}
	}
	return probs
}

// String writes the set fields as a distinguished name's tail, for logs:
// "C=US, O=Example Inc"; "" when none is set.
func (s Subject) String() string {
	var parts []string
	for _, f := range []struct{ k, v string }{{"C", s.Country}, {"ST", s.State}, {"L", s.Locality},
		{"O", s.Organization}, {"OU", s.OrganizationalUnit}, {"emailAddress", s.Email}} {
		if f.v != "" {
			parts = append(parts, f.k+"="+f.v)
		}
	}
	return strings.Join(parts, ", ")
}

// subjectProblems lists each field of want that got lacks or holds with
// another value. Fields want leaves empty are not checked: devices may add
// their own (a default country, say).
func subjectProblems(want Subject, got pkix.Name) []Problem {
	var probs []Problem
	check := func(field, v string, have []string) {
		if v == "" || slices.Contains(have, v) {
			return
		}
		msg := fmt.Sprintf("missing; %q was requested", v)
		if len(have) > 0 {
			msg = fmt.Sprintf("%q; %q was requested", strings.Join(have, ", "), v)
		}
		probs = append(probs, Problem{Field: "csr.subject." + field, Message: msg})
	}
	check("country", want.Country, got.Country)
	check("state", want.State, got.Province)
	check("locality", want.Locality, got.Locality)
	check("organization", want.Organization, got.Organization)
	check("organizational_unit", want.OrganizationalUnit, got.OrganizationalUnit)
	var emails []string
	for _, atv := range got.Names {
		if s, ok := atv.Value.(string); ok && atv.Type.Equal(oidEmailAddress) {
			emails = append(emails, s)
		}
	}
	check("email", want.Email, emails)
	return probs
}
