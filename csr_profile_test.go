package ottr_test

import (
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// The CSR policy refuses a request whose key or subject is not what the
// device was asked for, naming each field and both values.
func TestCheckCSRRequested(t *testing.T) {
	names := []string{"fw01.example.com"}
	subj := ottr.Subject{Country: "US", State: "CA", Locality: "San Francisco", Organization: "Example, Inc",
		OrganizationalUnit: "Security", Email: "security@example.com"}
	_, rsaCSR, err := ottr.MakeCSR(ottr.CSRRequest{CommonName: names[0], KeyType: "rsa2048", Subject: subj})
	if err != nil {
		t.Fatal(err)
	}
	if err := ottr.CheckCSR(rsaCSR, names, ottr.CSRPolicy{KeyType: "rsa2048", Subject: subj}); err != nil {
		t.Errorf("the request asked for: %v", err)
	}
	// Fields not asked for are the device's business.
	if err := ottr.CheckCSR(rsaCSR, names, ottr.CSRPolicy{KeyType: "rsa2048", Subject: ottr.Subject{Country: "US"}}); err != nil {
		t.Errorf("extra fields: %v", err)
	}

	// A device that ignored both: a P-256 key and a bare CN.
	_, bare, _ := ottr.MakeCSR(ottr.CSRRequest{CommonName: names[0], KeyType: "p256"})
	err = ottr.CheckCSR(bare, names, ottr.CSRPolicy{KeyType: "rsa2048", Subject: subj})
	got := problems(err)
	for _, want := range []string{
		"csr.key: ECDSA P-256 key; rsa2048 was requested",
		`csr.subject.country: missing; "US" was requested`,
		`csr.subject.organization: missing; "Example, Inc" was requested`,
		`csr.subject.organizational_unit: missing; "Security" was requested`,
		`csr.subject.email: missing; "security@example.com" was requested`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
	// Another value, and an RSA key of another size.
	_, other, _ := ottr.MakeCSR(ottr.CSRRequest{CommonName: names[0], KeyType: "rsa3072", Subject: ottr.Subject{Country: "DE"}})
	got = problems(ottr.CheckCSR(other, names, ottr.CSRPolicy{KeyType: "rsa2048", Subject: ottr.Subject{Country: "US"}}))
	for _, want := range []string{"csr.key: RSA 3072 key; rsa2048 was requested", `csr.subject.country: "DE"; "US" was requested`} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}

func problems(err error) string {
	var b strings.Builder
	for _, p := range ottr.ErrorProblems(err) {
		b.WriteString(p.Field + ": " + p.Message + "\n")
	}
	return b.String()
}

func TestKeyTypeOf(t *testing.T) {
	for _, kt := range ottr.KeyTypes {
		key, err := ottr.NewKey(kt)
		if err != nil {
			t.Fatal(err)
		}
		if got := ottr.KeyTypeOf(key.Public()); got != kt {
			t.Errorf("KeyTypeOf(%s key) = %q", kt, got)
		}
		if err := ottr.CheckKeyType(kt); err != nil {
			t.Error(err)
		}
	}
	for _, bad := range []string{"", "RSA2048", "rsa1024", "ed25519", "p521"} {
		if err := ottr.CheckKeyType(bad); err == nil || !strings.Contains(err.Error(), "want one of rsa2048, rsa3072, rsa4096, p256, p384") {
			t.Errorf("CheckKeyType(%q) = %v", bad, err)
		}
	}
}

func TestSubjectCheck(t *testing.T) {
	ok := ottr.Subject{Country: "US", State: "California", Locality: "San Francisco", Organization: "Example, Inc",
		OrganizationalUnit: "Security", Email: "security@example.com"}
	if p := ok.Check(); len(p) != 0 {
		t.Errorf("a good subject: %v", p)
	}
	bad := ottr.Subject{Country: "usa", State: strings.Repeat("s", 129), Locality: "San\nFrancisco", Organization: " Example",
		OrganizationalUnit: strings.Repeat("u", 65), Email: "not an address"}
	got := map[string]string{}
	for _, p := range bad.Check() {
		got[p.Field] = p.Message
	}
	for field, want := range map[string]string{
		"country":             `"usa": want a two-letter ISO 3166 code in capitals`,
		"state":               "129 characters; RFC 5280 allows at most 128",
		"locality":            "control character",
		"organization":        "begins or ends with a space",
		"organizational_unit": "65 characters; RFC 5280 allows at most 64",
		"email":               `"not an address" is not an email address`,
	} {
		if !strings.Contains(got[field], want) {
			t.Errorf("%s: %q, want %q", field, got[field], want)
		}
	}
}
