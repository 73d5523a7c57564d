package main

import (
	"fmt"
	"strings"

	"github.com/ottr-dev/ottr"
	"go.yaml.in/yaml/v3"
)

// CSRSettings say what a device puts in its CSR besides the names. They
// can be set globally (csr:), per CA, per route recipe (recipes:), per
// platform and per asset (devices:); the most specific level that sets a
// key wins (see csrProfile).
type CSRSettings struct {
	// KeyType is one of ottr.KeyTypes; "" leaves it to the next level.
	KeyType string `yaml:"key_type"`
	// Subject holds the subject fields besides the common name; nil leaves
	// them to the next level, an empty block asks for none.
	Subject *SubjectConfig `yaml:"subject"`
}

// SubjectConfig is a subject: block. Its problems (unknown keys, values
// that are not strings) are kept for validate, which reports them with
// their key path.
type SubjectConfig struct {
	ottr.Subject
	probs []ottr.Problem
}

// subjectKeys are a subject block's keys, in a distinguished name's order.
var subjectKeys = []string{"country", "state", "locality", "organization", "organizational_unit", "email"}

// UnmarshalYAML reads the block key by key, so a typo is named rather than
// reported as a Go type's missing field.
func (s *SubjectConfig) UnmarshalYAML(n *yaml.Node) error {
	*s = SubjectConfig{}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		s.probs = append(s.probs, ottr.Problem{Message: "want a mapping of " + strings.Join(subjectKeys, ", ")})
		return nil
	}
	fields := map[string]*string{"country": &s.Country, "state": &s.State, "locality": &s.Locality,
		"organization": &s.Organization, "organizational_unit": &s.OrganizationalUnit, "email": &s.Email}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		f, ok := fields[key]
		if !ok {
			s.probs = append(s.probs, ottr.Problem{Field: key, Message: "is not a subject field (want " + strings.Join(subjectKeys, ", ") + ")"})
			continue
		}
		if val.Kind != yaml.ScalarNode || val.Tag == "!!null" {
			s.probs = append(s.probs, ottr.Problem{Field: key, Message: "want a string"})
			continue
		}
		*f = val.Value
	}
	return nil
}

// check reports the settings' problems under prefix (a key path).
func (c CSRSettings) check(prefix string, bad func(field, format string, args ...any)) {
	if c.KeyType != "" {
		if err := ottr.CheckKeyType(c.KeyType); err != nil {
			bad(prefix+".key_type", "%v", err)
		}
	}
	if c.Subject == nil {
		return
	}
	for _, p := range append(append([]ottr.Problem(nil), c.Subject.probs...), c.Subject.Check()...) {
		bad(joinField(prefix+".subject", p.Field), "%s", p.Message)
	}
}

// validateCSR checks every level's CSR settings but the devices' (their
// entries check their own).
func (c *Config) validateCSR(bad func(field, format string, args ...any)) {
	c.CSR.check("csr", bad)
	for _, name := range sortedKeys(c.CertificateAuthorities) {
		c.CertificateAuthorities[name].CSRSettings.check("certificate_authorities."+name, bad)
	}
	for _, name := range sortedKeys(c.Recipes) {
		c.Recipes[name].check("recipes."+name, bad)
	}
}

// ottrContainer is what one of Ottr's platform containers put in its CSR:
// every one made an RSA 2048 key on the device, with the subject fields
// its deployment set in the Terraform module "otter" (country, state,
// locality, email, organization, organization_unit; infra/otter.tf,
// infra/modules/otter/state.tf passes them to each container's
// environment) — but each container sent only some of them.
type ottrContainer struct {
	prefix string
	fields []string // subjectKeys the container sent
}

// ottrContainers are Ottr's containers by recipe prefix (airbnb/ottr):
//   - platforms/panos-{8,9}.x/src/app.py: <request><certificate><generate>
//     with <rsa-nbits>2048, country-code, state, locality, organization,
//     organization-unit (no email);
//   - platforms/f5-14.x/src/app.py: sys/crypto/key {name} (BIG-IP's default
//     RSA 2048) and sys/crypto/csr with organization, ou, state, city (no
//     country, no email);
//   - platforms/lighthouse-21.x/src/app.py: key_length 2048 and csr
//     country, state, locality, email, organization, org_unit;
//   - platforms/linux-aws-ssm/src/app.py: openssl req -newkey rsa:2048
//     -subj "/C/ST/L/O/OU/CN/emailAddress".
//
// Other otter-* recipes (Ottr had no such container; its template's
// config/environment.sh exports all six) send every field.
var ottrContainers = []ottrContainer{
	{"otter-panos-", []string{"country", "state", "locality", "organization", "organizational_unit"}},
	{"otter-f5-", []string{"state", "locality", "organization", "organizational_unit"}},
	{"otter-lighthouse-", subjectKeys},
	{"otter-linux-aws-ssm-", subjectKeys},
}

// ottrKeyType is the key every Ottr container had its device make.
const ottrKeyType = "rsa2048"

// isOttrRecipe reports whether recipe is one of Ottr's (route.json's
// otter-* task definitions).
func isOttrRecipe(recipe string) bool { return strings.HasPrefix(recipe, "otter-") }

// ottrFields are the subject fields an Ottr recipe sends.
func ottrFields(recipe string) []string {
	for _, c := range ottrContainers {
		if strings.HasPrefix(recipe, c.prefix) {
			return c.fields
		}
	}
	return subjectKeys
}

// only keeps the fields of s named in keep.
func only(s ottr.Subject, keep []string) ottr.Subject {
	var out ottr.Subject
	for _, k := range keep {
		switch k {
		case "country":
			out.Country = s.Country
		case "state":
			out.State = s.State
		case "locality":
			out.Locality = s.Locality
		case "organization":
			out.Organization = s.Organization
		case "organizational_unit":
			out.OrganizationalUnit = s.OrganizationalUnit
		case "email":
			out.Email = s.Email
		}
	}
	return out
}

// csrLevel is one level of CSR settings and where it is in the file.
type csrLevel struct {
	path string
	CSRSettings
	// broad levels (CA, global) apply to many recipes: an Ottr recipe
	// takes from their subject only the fields its container sent.
	broad bool
}

// csrLevels lists the levels that apply to an asset and recipe, most
// specific first: the asset, its platform, the recipe, its CA, csr:.
func (c *Config) csrLevels(a *ottr.Asset, recipe string) []csrLevel {
	var ls []csrLevel
	if d, ok := c.Devices.Assets[a.SystemName]; ok {
		ls = append(ls, csrLevel{path: "devices.assets." + a.SystemName, CSRSettings: d.CSRSettings})
	}
	if d, ok := c.Devices.Platforms[a.HostPlatform]; ok {
		ls = append(ls, csrLevel{path: "devices.platforms." + a.HostPlatform, CSRSettings: d.CSRSettings})
	}
	if r, ok := c.Recipes[recipe]; ok && recipe != "" {
		ls = append(ls, csrLevel{path: "recipes." + recipe, CSRSettings: r})
	}
	if ca, ok := c.CertificateAuthorities[a.CertificateAuthority]; ok {
		ls = append(ls, csrLevel{path: "certificate_authorities." + a.CertificateAuthority, CSRSettings: ca.CSRSettings, broad: true})
	}
	return append(ls, csrLevel{path: "csr", CSRSettings: c.CSR, broad: true})
}

// csrProfile is what a rotation of a with recipe asks the device for: the
// key type and the subject, each from the most specific level that sets
// it. Unset, an Ottr recipe asks for Ottr's RSA 2048 key; any other for
// the driver's default ("", P-256 for most). An Ottr recipe's subject from
// a broad level (CA, csr:) keeps only the fields Ottr's container sent;
// one set on the recipe, platform or asset is sent as written.
func (c *Config) csrProfile(a *ottr.Asset, recipe string) (keyType string, subject ottr.Subject) {
	keyType, subject, _, _ = c.csrProfileFrom(a, recipe)
	return keyType, subject
}

// csrProfileFrom is csrProfile with the key path each part came from
// ("" for the built-in default).
func (c *Config) csrProfileFrom(a *ottr.Asset, recipe string) (keyType string, subject ottr.Subject, keyFrom, subjectFrom string) {
	subjectSet := false
	for _, l := range c.csrLevels(a, recipe) {
		if keyType == "" && l.KeyType != "" {
			keyType, keyFrom = l.KeyType, l.path+".key_type"
		}
		if !subjectSet && l.Subject != nil && !(l.path == "csr" && l.Subject.IsZero()) {
			subject, subjectFrom, subjectSet = l.Subject.Subject, l.path+".subject", true
			if l.broad && isOttrRecipe(recipe) {
				subject = only(subject, ottrFields(recipe))
			}
		}
	}
	if keyType == "" && isOttrRecipe(recipe) {
		keyType = ottrKeyType
	}
	return keyType, subject, keyFrom, subjectFrom
}

// describeProfile says what a recipe asks for and where it comes from, for
// 'ottr config check'.
func describeProfile(keyType string, subject ottr.Subject, keyFrom, subjectFrom string, ottrRecipe bool) string {
	switch {
	case keyType == "":
		keyType = "driver default"
	case keyFrom == "":
		keyType += " (Ottr's)"
	default:
		keyType += " (" + keyFrom + ")"
	}
	subj := "CN only"
	if !subject.IsZero() {
		subj = subject.String()
		if subjectFrom != "" {
			subj += " (" + subjectFrom + ")"
		}
	}
	if ottrRecipe && subject.IsZero() && subjectFrom == "" {
		subj += " (csr.subject unset: Ottr sent its deployment's fields)"
	}
	return fmt.Sprintf("%s; %s", keyType, subj)
}
