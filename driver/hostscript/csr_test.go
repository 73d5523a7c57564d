package hostscript_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/hostscript"
	"github.com/ottr-dev/ottr/internal/testpki"
)

// openssl102 lists, for each openssl command the scripts use, the options
// OpenSSL 1.0.2 has (its req(1), genrsa(1), ecparam(1), pkey(1) and
// x509(1) manual pages): Ubuntu 16.04's, which Ottr's recipe supported.
// -addext (1.1.1) and req -newkey ec with -pkeyopt are not among them.
var openssl102 = map[string][]string{
	"req": {"-inform", "-outform", "-in", "-passin", "-out", "-passout", "-text", "-pubkey", "-noout", "-verify", "-modulus",
		"-new", "-rand", "-newkey", "-nodes", "-key", "-keyform", "-keyout", "-sha256", "-config", "-subj", "-multivalue-rdn",
		"-x509", "-days", "-set_serial", "-extensions", "-reqexts", "-utf8", "-nameopt", "-reqopt", "-batch", "-verbose"},
	"genrsa":  {"-out", "-passout", "-F4", "-3", "-rand"},
	"ecparam": {"-inform", "-outform", "-in", "-out", "-noout", "-text", "-check", "-name", "-conv_form", "-param_enc", "-no_seed", "-rand", "-genkey"},
	"pkey":    {"-inform", "-outform", "-in", "-passin", "-out", "-passout", "-text", "-text_pub", "-noout", "-pubin", "-pubout"},
	"x509":    {"-inform", "-outform", "-in", "-out", "-noout", "-pubkey", "-fingerprint", "-sha256", "-serial", "-subject", "-issuer", "-enddate"},
}

// opensslCalls are the openssl commands of a script, directly or through
// its ossl function, each as its words.
func opensslCalls(script string) [][]string {
	var calls [][]string
	for _, line := range strings.Split(script, "\n") {
		words := strings.Fields(line)
		if len(words) > 0 && strings.HasPrefix(words[0], "#") {
			continue
		}
		for i, w := range words {
			w = strings.TrimLeft(w, "$(")
			if (w == "openssl" || w == "ossl") && i+1 < len(words) && !strings.HasPrefix(words[i+1], `"`) {
				calls = append(calls, words[i+1:])
			}
		}
	}
	return calls
}

// Every openssl option the scripts use exists in OpenSSL 1.0.2, for each
// key type; and the scripts use openssl for the request, not -addext.
func TestScriptsUseOpenSSL102Options(t *testing.T) {
	f := hostscript.Files{KeyPath: "/opt/otter/certs/web.example.com.key", CertPath: "/opt/otter/certs/fullchain.cer",
		LeafPath: "/opt/otter/certs/web.example.com.cer", CAPath: "/opt/otter/certs/ca.cer", PreHook: "/opt/otter/hooks/pre"}
	chain := testpki.NewCA("test").Sign(mustCSR(t), time.Hour)
	scripts := []string{f.Install("cat", chain), f.Restore("cat", chain)}
	for _, kt := range []string{"", "rsa2048", "rsa3072", "rsa4096", "p256", "p384"} {
		s, err := f.CSR(ottr.CSRRequest{CommonName: "web.example.com", KeyType: kt,
			Subject: ottr.Subject{Country: "US", State: "CA", Locality: "SF", Organization: "Ex", OrganizationalUnit: "IT", Email: "a@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(s, "-addext") || strings.Contains(s, "-pkeyopt") {
			t.Errorf("key type %q: the CSR script uses an option OpenSSL 1.0.2 lacks:\n%s", kt, s)
		}
		scripts = append(scripts, s)
	}
	seen := map[string]bool{}
	for _, s := range scripts {
		for _, call := range opensslCalls(s) {
			allowed, ok := openssl102[call[0]]
			if !ok {
				t.Errorf("openssl %s is not a command the check knows: %v", call[0], call)
				continue
			}
			seen[call[0]] = true
			for _, w := range call[1:] {
				if strings.HasPrefix(w, "-") && !slices.Contains(allowed, w) {
					t.Errorf("openssl %s %s: OpenSSL 1.0.2 has no such option", call[0], w)
				}
			}
		}
	}
	for _, c := range []string{"req", "genrsa", "ecparam", "pkey", "x509"} {
		if !seen[c] {
			t.Errorf("no openssl %s call found: the check reads the scripts wrong", c)
		}
	}
}

func mustCSR(t *testing.T) *x509.CertificateRequest {
	csr, _ := testpki.CSR("web.example.com", "web.example.com")
	return csr
}

var oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// The CSR script makes a key of each type with the local openssl, and a
// request carrying every subject field (characters -subj treats specially
// included) and every name.
func TestCSRKeyTypesAndSubject(t *testing.T) {
	requireTools(t)
	subj := ottr.Subject{Country: "US", State: "New York", Locality: "Zürich / Basel", Organization: `Acme+Co \ Ltd`,
		OrganizationalUnit: "Web/Ops = 1", Email: "pki@example.com"}
	for _, tc := range []struct {
		keyType string
		check   func(any) bool
	}{
		{"rsa2048", func(k any) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 2048 }},
		{"rsa3072", func(k any) bool { r, ok := k.(*rsa.PublicKey); return ok && r.N.BitLen() == 3072 }},
		{"p256", func(k any) bool { e, ok := k.(*ecdsa.PublicKey); return ok && e.Curve == elliptic.P256() }},
		{"p384", func(k any) bool { e, ok := k.(*ecdsa.PublicKey); return ok && e.Curve == elliptic.P384() }},
	} {
		t.Run(tc.keyType, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			f := hostscript.Files{KeyPath: filepath.Join(dir, "certs", "web.example.com.key"), CertPath: filepath.Join(dir, "certs", "fullchain.cer")}
			script, err := f.CSR(ottr.CSRRequest{CommonName: "web.example.com", DNSNames: []string{"web.example.com", "www.example.com", "*.api.example.com"},
				KeyType: tc.keyType, Subject: subj})
			if err != nil {
				t.Fatal(err)
			}
			csr, err := ottr.ParseCSR(sh(t, dir, script, nil))
			if err != nil {
				t.Fatal(err)
			}
			if err := csr.CheckSignature(); err != nil {
				t.Errorf("signature: %v", err)
			}
			if !tc.check(csr.PublicKey) {
				t.Errorf("public key %T is not a %s key", csr.PublicKey, tc.keyType)
			}
			if diff := cmp.Diff([]string{"web.example.com", "www.example.com", "*.api.example.com"}, csr.DNSNames); diff != "" {
				t.Errorf("SANs (-want +got):\n%s", diff)
			}
			s := csr.Subject
			got := []any{s.CommonName, s.Country, s.Province, s.Locality, s.Organization, s.OrganizationalUnit}
			want := []any{"web.example.com", []string{"US"}, []string{"New York"}, []string{"Zürich / Basel"}, []string{`Acme+Co \ Ltd`}, []string{"Web/Ops = 1"}}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("subject %s (-want +got):\n%s", s, diff)
			}
			var email []string
			for _, n := range s.Names {
				if n.Type.Equal(oidEmail) {
					email = append(email, fmt.Sprint(n.Value))
				}
			}
			if !slices.Equal(email, []string{"pki@example.com"}) {
				t.Errorf("emailAddress %v", email)
			}
			if len(s.Names) != 7 {
				t.Errorf("subject has %d attributes, want 7 (no value split in two): %v", len(s.Names), s.Names)
			}
			// The pending key is the request's, private (0600), and nothing
			// else is left beside it.
			keyPEM, err := os.ReadFile(f.KeyPath + ".pending")
			if err != nil {
				t.Fatal(err)
			}
			if st, _ := os.Stat(f.KeyPath + ".pending"); st.Mode().Perm() != 0o600 {
				t.Errorf("pending key mode %v", st.Mode().Perm())
			}
			chain := testpki.NewCA("test").Sign(csr, time.Hour)
			if _, err := tls.X509KeyPair(ottr.EncodeChain(chain), keyPEM); err != nil {
				t.Errorf("the pending key is not the request's: %v", err)
			}
			// PKCS #8, as Ottr's req -keyout wrote it.
			if b, _ := pem.Decode(keyPEM); b == nil || b.Type != "PRIVATE KEY" {
				t.Errorf("the pending key is not a PEM PKCS #8 key: %.40q", keyPEM)
			}
			if diff := cmp.Diff([]string{"certs/web.example.com.key.pending"}, files(t, dir)); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
		})
	}
}

// What openssl cannot put in a request is refused before anything runs,
// naming each field.
func TestCSRRefusesWhatOpenSSLCannotRequest(t *testing.T) {
	f := hostscript.Files{KeyPath: "/etc/ssl/x.key", CertPath: "/etc/ssl/x.crt"}
	_, err := f.CSR(ottr.CSRRequest{CommonName: "web.example.com", DNSNames: []string{"web.example.com", "a$b.example.com"}, KeyType: "rsa2048",
		Subject: ottr.Subject{Country: "USA", State: "a\nb", Organization: strings.Repeat("o", 65), Email: "pkí@example.com"}})
	want := []ottr.Problem{
		{Field: "subject.country", Message: `"USA" is longer than 2 characters`},
		{Field: "subject.state", Message: `"a\nb" contains a control character`},
		{Field: "subject.organization", Message: fmt.Sprintf("%q is longer than 64 characters", strings.Repeat("o", 65))},
		{Field: "subject.email", Message: `"pkí@example.com" is not ASCII (an email address in a certificate request is an IA5String)`},
		{Field: "dns_names", Message: `"a$b.example.com" is not a DNS name`},
	}
	if ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("code %q: %v", ottr.ErrorCode(err), err)
	}
	if diff := cmp.Diff(want, ottr.ErrorProblems(err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	_, err = f.CSR(ottr.CSRRequest{CommonName: "web.example.com", KeyType: "ed25519"})
	if p := ottr.ErrorProblems(err); len(p) != 1 || p[0].Field != "key_type" || !strings.Contains(p[0].Message, `"ed25519"`) {
		t.Errorf("ed25519: %v", err)
	}
	_, err = f.CSR(ottr.CSRRequest{CommonName: "web.example.com", Subject: ottr.Subject{Country: "1A"}})
	if p := ottr.ErrorProblems(err); len(p) != 1 || p[0].Field != "subject.country" || !strings.Contains(p[0].Message, "two-letter") {
		t.Errorf("country 1A: %v", err)
	}
}
