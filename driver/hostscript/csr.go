package hostscript

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/ottr-dev/ottr"
)

// keyCommand is the openssl command that writes a new key of keyType to
// the file "$raw" (the CSR script then writes it as PKCS #8 to "$tmp",
// the form Ottr's `req -keyout` left on every OpenSSL version, where
// genrsa on 1.0.2 and ecparam write their own). Each form exists in
// OpenSSL 1.0.2 (Ubuntu 16.04, which Ottr's recipe supported) as in 3.x;
// req -newkey ec -pkeyopt and -addext do not, so the key is made apart
// from the request.
func keyCommand(keyType string) (string, error) {
	switch keyType {
	case "rsa2048", "rsa3072", "rsa4096":
		return "genrsa -out \"$raw\" " + strings.TrimPrefix(keyType, "rsa"), nil
	case "", "p256":
		return `ecparam -name prime256v1 -genkey -noout -param_enc named_curve -out "$raw"`, nil
	case "p384":
		return `ecparam -name secp384r1 -genkey -noout -param_enc named_curve -out "$raw"`, nil
	}
	return "", ottr.Invalid("csr", ottr.Problem{Field: "key_type", Message: fmt.Sprintf("%q is not one of rsa2048, rsa3072, rsa4096, p256, p384", keyType)})
}

// subjectField is one attribute of the request's subject, in the order
// Ottr's recipe wrote them: /C/ST/L/O/OU/CN/emailAddress.
type subjectField struct {
	field, attr, value string
	max                int // RFC 5280's upper bound, which OpenSSL enforces
}

// subject is the -subj argument for cn and s, every non-empty field in
// it. OpenSSL reads a backslash as escaping the next character (1.0.2
// and 3.x alike), so '\', '/' and '+' (a multi-valued RDN in 3.x) in a
// value are escaped and stay part of it.
func subject(cn string, s ottr.Subject) (string, []ottr.Problem) {
	var probs []ottr.Problem
	var b strings.Builder
	for _, f := range []subjectField{
		{"subject.country", "C", s.Country, 2},
		{"subject.state", "ST", s.State, 128},
		{"subject.locality", "L", s.Locality, 128},
		{"subject.organization", "O", s.Organization, 64},
		{"subject.organizational_unit", "OU", s.OrganizationalUnit, 64},
		{"common_name", "CN", cn, 64},
		{"subject.email", "emailAddress", s.Email, 128},
	} {
		if f.value == "" {
			continue
		}
		bad := func(m string) {
			probs = append(probs, ottr.Problem{Field: f.field, Message: fmt.Sprintf("%q %s", f.value, m)})
		}
		switch {
		case !utf8.ValidString(f.value):
			bad("is not valid UTF-8")
			continue
		case ottr.HasControl(f.value):
			bad("contains a control character")
			continue
		case utf8.RuneCountInString(f.value) > f.max:
			bad(fmt.Sprintf("is longer than %d characters", f.max))
			continue
		}
		switch f.attr {
		case "C":
			if len(f.value) != 2 || !isASCIILetters(f.value) {
				bad("is not a two-letter country code")
				continue
			}
		case "emailAddress":
			// An IA5String: OpenSSL refuses anything but ASCII.
			if !isASCII(f.value) {
				bad("is not ASCII (an email address in a certificate request is an IA5String)")
				continue
			}
		}
		v := strings.NewReplacer(`\`, `\\`, `/`, `\/`, `+`, `\+`).Replace(f.value)
		fmt.Fprintf(&b, "/%s=%s", f.attr, v)
	}
	return b.String(), probs
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func isASCIILetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// sanConfig is the OpenSSL configuration the request is made with: a file
// of its own (the host's openssl.cnf differs between distributions and
// versions) asking for the subject alternative names through
// req_extensions, which OpenSSL 1.0.2 reads, as Ottr's recipe did with
// -reqexts SAN. Names are checked to be plain DNS names: in an OpenSSL
// configuration '$' expands a variable, '#' starts a comment and ','
// separates names.
func sanConfig(names []string) (string, []ottr.Problem) {
	var probs []ottr.Problem
	for _, n := range names {
		ok := n != "" && len(n) <= 253
		for i := 0; ok && i < len(n); i++ {
			c := n[i]
			ok = c == '-' || c == '.' || c == '*' || c == '_' || c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'z'
		}
		if !ok {
			probs = append(probs, ottr.Problem{Field: "dns_names", Message: fmt.Sprintf("%q is not a DNS name", n)})
		}
	}
	return `[ req ]
distinguished_name = req_dn
req_extensions = req_ext
string_mask = utf8only
utf8 = yes
default_md = sha256
[ req_dn ]
commonName = Common Name
[ req_ext ]
subjectAltName = DNS:` + strings.Join(names, ",DNS:") + "\n", probs
}

// CSR is the script that runs the pre hooks when PreHook is a directory
// (Ottr ran them before making the key; a failing hook stops the script
// before anything is made), then makes a fresh key of req.KeyType next to
// the key path (as <key>.pending, written to a temp file and renamed, so
// an interrupted run leaves no half-written key) and prints a CSR for req
// on stdout: req.CommonName and req.Subject in the subject, every name of
// req in the subject alternative names. It uses only options OpenSSL
// 1.0.2 has. The key and chain in place are not touched.
func (f *Files) CSR(req ottr.CSRRequest) (string, error) {
	keygen, err := keyCommand(req.KeyType)
	if err != nil {
		return "", err
	}
	subj, probs := subject(req.CommonName, req.Subject)
	if req.CommonName == "" {
		probs = append(probs, ottr.Problem{Field: "common_name", Message: "is empty"})
	}
	cnf, more := sanConfig(req.Names())
	if probs = append(probs, more...); len(probs) > 0 {
		return "", ottr.Invalid("csr: the request cannot be made with openssl", probs...)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `set -e
umask 077
pending=%s
tmp="$pending.ottr-new-$$"
raw="$pending.ottr-raw-$$"
cnf="$pending.ottr-cnf-$$"
req="$pending.ottr-csr-$$"
err="$pending.ottr-err-$$"
trap 'rm -f "$tmp" "$raw" "$cnf" "$req" "$err"' EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
# ossl runs openssl, showing its messages only when it fails (genrsa
# prints progress dots otherwise).
ossl() {
  if ! openssl "$@" 2>"$err" </dev/null; then
    cat "$err" >&2
    echo "openssl $1 failed" >&2
    exit 1
  fi
}
`, Quote(f.KeyPath+".pending"))
	b.WriteString(hookFunctions)
	if f.PreHook != "" {
		fmt.Fprintf(&b, "if [ -d %s ]; then run_hook_dir %s; fi\n", Quote(f.PreHook), Quote(f.PreHook))
	}
	fmt.Fprintf(&b, `mkdir -p %s
printf '%%s' %s > "$cnf"
ossl %s
ossl pkey -in "$raw" -out "$tmp"
ossl req -new -key "$tmp" -config "$cnf" -subj %s -out "$req"
mv -f "$tmp" "$pending"
cat "$req"
printf 'made a new key in %%s\n' "$pending" >&2
`, Quote(path.Dir(f.KeyPath)), Quote(cnf), keygen, Quote(subj))
	return b.String(), nil
}
