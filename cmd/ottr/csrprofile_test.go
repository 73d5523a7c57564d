package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
)

// Ottr's deployment subject as its example infra/otter.tf sets it.
const ottrSubjectYAML = `{country: US, state: CA, locality: San Francisco, email: security@example.com, organization: "Example, Inc", organizational_unit: Security}`

var ottrSubject = ottr.Subject{Country: "US", State: "CA", Locality: "San Francisco", Email: "security@example.com",
	Organization: "Example, Inc", OrganizationalUnit: "Security"}

func mustLoad(t *testing.T, body string) *Config {
	t.Helper()
	c, err := loadConfig(writeConfig(t, "data_dir: "+t.TempDir()+"\n"+body), func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return &c
}

// Unconfigured, Ottr's recipes ask for Ottr's RSA 2048 key and other
// recipes leave the key to the driver, with a bare CN.
func TestCSRProfileDefaults(t *testing.T) {
	c := mustLoad(t, "")
	for recipe, want := range map[string]string{
		"otter-panos-9x-lets-encrypt": "rsa2048", "otter-f5-14x-lets-encrypt": "rsa2048",
		"otter-lighthouse-21x-lets-encrypt": "rsa2048", "otter-linux-aws-ssm-lets-encrypt": "rsa2048",
		"otter-junos-18x-lets-encrypt": "rsa2048", "web-nginx": "", "": "",
	} {
		kt, subj := c.csrProfile(&ottr.Asset{HostPlatform: "panos", CertificateAuthority: "lets_encrypt"}, recipe)
		if kt != want || !subj.IsZero() {
			t.Errorf("%q: key %q subject %+v, want %q and none", recipe, kt, subj, want)
		}
	}
}

// csr.key_type can come from the environment, checked like the file's.
func TestCSRKeyTypeFromEnvironment(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "OTTR_CSR_KEY_TYPE" {
				return v
			}
			return ""
		}
	}
	c, err := loadConfig(writeConfig(t, "data_dir: "+t.TempDir()+"\n"), env("p384"))
	if err != nil || c.CSR.KeyType != "p384" {
		t.Fatalf("OTTR_CSR_KEY_TYPE=p384: %q %v", c.CSR.KeyType, err)
	}
	if kt, _ := c.csrProfile(&ottr.Asset{}, "web-nginx"); kt != "p384" {
		t.Errorf("key %q", kt)
	}
	_, err = loadConfig(writeConfig(t, "data_dir: "+t.TempDir()+"\n"), env("rsa1024"))
	if p := ottr.ErrorProblems(err); len(p) != 1 || p[0].Field != "csr.key_type" {
		t.Errorf("OTTR_CSR_KEY_TYPE=rsa1024: %v", err)
	}
}

// Ottr's subject (csr.subject, its Terraform variables) reaches each Ottr
// recipe with the fields its container sent; other recipes get it whole.
func TestCSRProfileOttrSubjectFields(t *testing.T) {
	c := mustLoad(t, "csr:\n  subject: "+ottrSubjectYAML+"\n")
	noEmail := ottrSubject
	noEmail.Email = ""
	f5 := ottr.Subject{State: "CA", Locality: "San Francisco", Organization: "Example, Inc", OrganizationalUnit: "Security"}
	for recipe, want := range map[string]ottr.Subject{
		"otter-panos-8x-lets-encrypt":       noEmail,
		"otter-panos-9x-lets-encrypt":       noEmail,
		"otter-f5-14x-lets-encrypt":         f5,
		"otter-lighthouse-21x-lets-encrypt": ottrSubject,
		"otter-linux-aws-ssm-lets-encrypt":  ottrSubject,
		"otter-junos-18x-lets-encrypt":      ottrSubject,
		"web-nginx":                         ottrSubject,
	} {
		kt, subj := c.csrProfile(&ottr.Asset{HostPlatform: "x", CertificateAuthority: "lets_encrypt"}, recipe)
		if subj != want {
			t.Errorf("%s: subject %+v, want %+v", recipe, subj, want)
		}
		if isOttrRecipe(recipe) != (kt == "rsa2048") {
			t.Errorf("%s: key %q", recipe, kt)
		}
	}
}

// Each key comes from the most specific level that sets it: asset,
// platform, recipe, CA, csr:, then the default.
func TestCSRProfilePrecedence(t *testing.T) {
	c := mustLoad(t, `
csr:
  key_type: rsa4096
  subject: `+ottrSubjectYAML+`
certificate_authorities:
  lets_encrypt: {key_type: p384, subject: {organization: CA Org, country: DE}}
  digicert: {}
recipes:
  otter-f5-14x-lets-encrypt: {key_type: rsa3072, subject: {country: FR, organization: Recipe Org}}
  web-nginx: {subject: {}}
devices:
  platforms:
    f5: {key_type: p256}
    lighthouse: {subject: {organizational_unit: NetOps}}
  assets:
    lb1.example.com: {key_type: rsa2048, subject: {email: lb1@example.com}}
`)
	type want struct {
		kt   string
		subj ottr.Subject
	}
	for _, tc := range []struct {
		name, platform, ca, system, recipe string
		want
	}{
		// csr: alone (digicert sets nothing); Ottr's F5 fields of it.
		{"global", "panos", "digicert", "fw1", "web-x", want{"rsa4096", ottrSubject}},
		{"global, Ottr recipe", "none", "digicert", "fw1", "otter-f5-14x-digicert", want{"rsa4096",
			ottr.Subject{State: "CA", Locality: "San Francisco", Organization: "Example, Inc", OrganizationalUnit: "Security"}}},
		// The CA's over csr:; for an Ottr PAN-OS recipe only its fields.
		{"CA", "panos", "lets_encrypt", "fw1", "web-x", want{"p384", ottr.Subject{Organization: "CA Org", Country: "DE"}}},
		{"CA, Ottr recipe", "panos", "lets_encrypt", "fw1", "otter-panos-9x-lets-encrypt", want{"p384", ottr.Subject{Organization: "CA Org", Country: "DE"}}},
		{"CA, Ottr F5 recipe drops the country", "none", "lets_encrypt", "x", "otter-f5-14x-digi", want{"p384", ottr.Subject{Organization: "CA Org"}}},
		// The recipe's over the CA's, sent as written (a country Ottr's F5
		// container never sent included); an empty block is none.
		{"recipe", "none", "lets_encrypt", "lb9", "otter-f5-14x-lets-encrypt", want{"rsa3072", ottr.Subject{Country: "FR", Organization: "Recipe Org"}}},
		{"recipe empty subject", "none", "lets_encrypt", "w", "web-nginx", want{"p384", ottr.Subject{}}},
		// The platform's over the recipe's, key by key.
		{"platform key", "f5", "lets_encrypt", "lb9", "otter-f5-14x-lets-encrypt", want{"p256", ottr.Subject{Country: "FR", Organization: "Recipe Org"}}},
		{"platform subject", "lighthouse", "lets_encrypt", "lh", "otter-lighthouse-21x-lets-encrypt", want{"p384", ottr.Subject{OrganizationalUnit: "NetOps"}}},
		// The asset's over its platform's.
		{"asset", "f5", "lets_encrypt", "lb1.example.com", "otter-f5-14x-lets-encrypt", want{"rsa2048", ottr.Subject{Email: "lb1@example.com"}}},
	} {
		a := &ottr.Asset{SystemName: tc.system, HostPlatform: tc.platform, CertificateAuthority: tc.ca}
		kt, subj := c.csrProfile(a, tc.recipe)
		if kt != tc.kt || subj != tc.subj {
			t.Errorf("%s: %q %+v, want %q %+v", tc.name, kt, subj, tc.kt, tc.subj)
		}
	}
	// The merged device entry carries the asset's settings over its
	// platform's.
	d, err := c.Devices.device(&ottr.Asset{SystemName: "lb1.example.com", HostPlatform: "f5"})
	if err != nil || d.KeyType != "rsa2048" || d.Subject == nil || d.Subject.Email != "lb1@example.com" {
		t.Errorf("merged device: %+v %v", d.CSRSettings, err)
	}
}

// Bad values are refused when the configuration is loaded, each with its
// key path, by 'ottr config check' (exit 2) and 'ottr serve'.
func TestCSRConfigRefused(t *testing.T) {
	c := newCLI(t)
	bad := writeConfig(t, `listen: 127.0.0.1:0
csr:
  key_type: rsa1024
  subject: {country: USA, organisation: x}
certificate_authorities:
  lets_encrypt: {key_type: P256, subject: {email: nope}}
recipes:
  otter-f5-14x-lets-encrypt: {key_type: ed25519, subject: [a]}
devices:
  platforms:
    lb: {driver: bigip, key_type: rsa, subject: {state: "a\nb", ou: x}}
  assets:
    h1: {subject: {locality: {x: 1}, organization: "`+strings.Repeat("o", 65)+`"}}
`)
	wants := []string{
		`csr.key_type: "rsa1024" is not a key type (want one of rsa2048, rsa3072, rsa4096, p256, p384)`,
		`csr.subject.country: "USA": want a two-letter ISO 3166 code in capitals`,
		`csr.subject.organisation: is not a subject field (want country, state, locality, organization, organizational_unit, email)`,
		`certificate_authorities.lets_encrypt.key_type: "P256" is not a key type`,
		`certificate_authorities.lets_encrypt.subject.email: "nope" is not an email address`,
		`recipes.otter-f5-14x-lets-encrypt.key_type: "ed25519" is not a key type`,
		`recipes.otter-f5-14x-lets-encrypt.subject: want a mapping of country, state, locality`,
		`devices.platforms.lb.key_type: "rsa" is not a key type`,
		`devices.platforms.lb.subject.state: holds a control character`,
		`devices.platforms.lb.subject.ou: is not a subject field`,
		`devices.assets.h1.subject.locality: want a string`,
		`devices.assets.h1.subject.organization: 65 characters; RFC 5280 allows at most 64`,
	}
	out, errs, err := c.run("", "config", "check", "--config", bad)
	if exitCode(err) != exitUsage || strings.Contains(out, "config OK") {
		t.Errorf("config check: exit %d (%v)\n%s", exitCode(err), err, out)
	}
	for _, w := range wants {
		if !strings.Contains(errs, w) {
			t.Errorf("config check stderr lacks %q:\n%s", w, errs)
		}
	}
	_, errs, err = c.run("", "serve", "--config", bad)
	if err == nil {
		t.Fatal("serve started with a bad configuration")
	}
	for _, w := range wants {
		if !strings.Contains(errs, w) {
			t.Errorf("serve stderr lacks %q:\n%s", w, errs)
		}
	}
}

// 'ottr config check' shows what each route's devices are asked for and
// where it comes from, and notes recipe settings no route uses.
func TestConfigCheckShowsCSRProfiles(t *testing.T) {
	c := newCLI(t)
	routes, _ := filepath.Abs("../../testdata/route.json")
	cfg := writeConfig(t, "routes: "+routes+`
csr:
  subject: `+ottrSubjectYAML+`
recipes:
  otter-f5-14x-lets-encrypt: {key_type: rsa4096}
  otter-panos-9x-lets-encrypy: {key_type: p256}
`)
	out := c.ok("config", "check", "--config", cfg)
	for _, w := range []string{
		"otter-panos-9x-lets-encrypt        rsa2048 (Ottr's)",
		"C=US, ST=CA, L=San Francisco, O=Example, Inc, OU=Security (csr.subject)",
		"otter-f5-14x-lets-encrypt          rsa4096 (recipes.otter-f5-14x-lets-encrypt.key_type)  ST=CA, L=San Francisco, O=Example, Inc, OU=Security (csr.subject)",
		"otter-linux-aws-ssm-lets-encrypt   rsa2048 (Ottr's)",
		"note: recipes.otter-panos-9x-lets-encrypy is not a recipe of the route table",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("config check output lacks %q:\n%s", w, out)
		}
	}
}

// A rotation through the command line asks the device for its route
// recipe's profile: Ottr's RSA 2048 for otter-linux-aws-ssm, then what
// recipes: sets for it.
func TestRotateAsksForTheRecipeProfile(t *testing.T) {
	e := newRotateEnv(t)
	servedKey := func() string {
		chain, err := served.Chain(t.Context(), e.dev.Addr, "web01.example.com")
		if err != nil {
			t.Fatal(err)
		}
		return ottr.KeyTypeOf(chain[0].PublicKey)
	}
	_, stderr, err := e.c.run("", e.args("rotate", "web01.example.com", "--wait")...)
	if err != nil {
		t.Fatalf("rotate: %v\n%s", err, stderr)
	}
	if want := "asking for key rsa2048, no subject fields besides CN (recipe otter-linux-aws-ssm-lets-encrypt)"; !strings.Contains(stderr, want) {
		t.Errorf("progress lacks %q:\n%s", want, stderr)
	}
	if kt := servedKey(); kt != "rsa2048" {
		t.Errorf("device serves a %s key, want Ottr's rsa2048", kt)
	}

	cfg := configArg(t, e.args())
	f, err := os.OpenFile(cfg, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("recipes:\n  otter-linux-aws-ssm-lets-encrypt: {key_type: p384}\n")
	f.Close()
	_, stderr, err = e.c.run("", e.args("rotate", "web01.example.com", "--wait")...)
	if err != nil {
		t.Fatalf("rotate: %v\n%s", err, stderr)
	}
	if kt := servedKey(); kt != "p384" {
		t.Errorf("device serves a %s key, want the recipe's p384\n%s", kt, stderr)
	}
}

func configArg(t *testing.T, args []string) string {
	for i, a := range args {
		if a == "--config" && i+1 < len(args) {
			return args[i+1]
		}
	}
	t.Fatal("no --config")
	return ""
}
