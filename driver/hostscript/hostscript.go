// Package hostscript writes the POSIX shell scripts that rotate a
// certificate on a Linux host, whatever carries them there: the linux
// driver runs them over SSH, the ssm driver through AWS Systems Manager.
// openssl on the host makes the key (mode 0600, it never leaves the host)
// and the CSR; the chain is checked against that key and moved into place
// with temp file + rename, the previous pair kept for Restore; hooks and a
// reload command run around it.
//
// Every value put into a script is quoted as one shell word (Quote): a
// path, owner or name is only ever a name, whatever it contains. Reload
// and the hooks are commands the operator configured; they run as such.
//
// Scripts exit 65 when what they were given cannot work (no key matches
// the chain, nothing to restore): callers treat that as permanent.
package hostscript

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/ottr-dev/ottr"
)

// Files says where a host keeps its certificate and what to run.
type Files struct {
	CertPath, KeyPath string
	// CertMode is the chain's octal mode (default 0644); the key is 0600.
	CertMode     string
	Owner, Group string
	// Reload is the argv run after installing; empty runs nothing.
	Reload []string
	// PreHook and PostHook run before and after the install when they
	// exist and are executable (Ottr's /opt/otter/hooks/{pre,post}).
	PreHook, PostHook string
}

// Check fills defaults for an asset's common name and reports problems by
// field. Every value is quoted into the scripts, but a path must still be
// absolute and clean, and no value may hold a control character: a
// newline or NUL in a file name is never what an operator meant.
func (f *Files) Check(commonName string) []ottr.Problem {
	var probs []ottr.Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, ottr.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if f.CertMode == "" {
		f.CertMode = "0644"
	}
	if _, err := strconv.ParseUint(f.CertMode, 8, 32); err != nil {
		bad("cert_mode", "%q is not an octal mode", f.CertMode)
	}
	if f.CertPath == "" {
		f.CertPath = "/etc/ssl/ottr/" + commonName + ".crt"
	}
	if f.KeyPath == "" {
		f.KeyPath = "/etc/ssl/ottr/" + commonName + ".key"
	}
	for _, p := range []struct {
		field, path string
		optional    bool
	}{{"cert_path", f.CertPath, false}, {"key_path", f.KeyPath, false}, {"pre_hook", f.PreHook, true}, {"post_hook", f.PostHook, true}} {
		switch {
		case p.optional && p.path == "":
		case ottr.HasControl(p.path):
			bad(p.field, "%q contains a control character", p.path)
		case !path.IsAbs(p.path):
			bad(p.field, "%q is not an absolute path", p.path)
		case path.Clean(p.path) != p.path:
			bad(p.field, "%q is not a clean path (it would be %q)", p.path, path.Clean(p.path))
		}
	}
	for _, v := range []struct{ field, value string }{{"owner", f.Owner}, {"group", f.Group}} {
		switch {
		case ottr.HasControl(v.value):
			bad(v.field, "%q contains a control character", v.value)
		case strings.Contains(v.value, ":"):
			bad(v.field, "%q contains ':'", v.value)
		}
	}
	for _, a := range f.Reload {
		if ottr.HasControl(a) {
			bad("reload", "%q contains a control character", a)
		}
	}
	return probs
}

// Quote makes s one word for a POSIX shell.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// QuoteAll quotes each word of argv.
func QuoteAll(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = Quote(a)
	}
	return strings.Join(q, " ")
}

// CSR is the script that makes a fresh key next to the key path (as
// <key>.pending) and prints a CSR for req on stdout.
func (f *Files) CSR(req ottr.CSRRequest) (string, error) {
	var newkey string
	switch req.KeyType {
	case "", "p256":
		newkey = "-newkey ec -pkeyopt ec_paramgen_curve:P-256"
	case "p384":
		newkey = "-newkey ec -pkeyopt ec_paramgen_curve:P-384"
	case "rsa2048", "rsa3072", "rsa4096":
		newkey = "-newkey rsa:" + strings.TrimPrefix(req.KeyType, "rsa")
	default:
		return "", ottr.Errorf(ottr.EINVALID, "key type %q is not supported", req.KeyType)
	}
	names := req.DNSNames
	if len(names) == 0 {
		names = []string{req.CommonName}
	}
	san := "subjectAltName=DNS:" + strings.Join(names, ",DNS:")
	pending := f.KeyPath + ".pending"
	return fmt.Sprintf(`set -e
umask 077
mkdir -p %s
openssl req -new %s -nodes -keyout %s -subj %s -addext %s 2>/dev/null
printf 'made a new key in %%s\n' %s >&2`,
		Quote(path.Dir(f.KeyPath)), newkey, Quote(pending), Quote("/CN="+req.CommonName), Quote(san), Quote(pending)), nil
}

// Install is the script that takes the chain (written to "$tmp" by
// writeChain, a shell fragment), checks it matches the pending key (or the
// installed one, when it is already in place), keeps the previous pair,
// moves key and chain into place, sets modes and owner, and runs the hooks
// and the reload.
func (f *Files) Install(writeChain string, leafSerial string) string {
	key, crt := Quote(f.KeyPath), Quote(f.CertPath)
	var b strings.Builder
	fmt.Fprintf(&b, `set -e
umask 077
tmp=%s.ottr-$$
%s
want=$(openssl x509 -in "$tmp" -noout -pubkey)
if [ -f %s.pending ] && [ "$(openssl pkey -in %s.pending -pubout)" = "$want" ]; then
  [ -f %s ] && cp -p %s %s.prev
  [ -f %s ] && cp -p %s %s.prev
  mv %s.pending %s
elif [ -f %s ] && [ "$(openssl pkey -in %s -pubout)" = "$want" ]; then
  : # already installed: nothing to swap
else
  rm -f "$tmp"; echo "no key on the host matches the certificate" >&2; exit 65
fi
`, crt, writeChain, key, key, crt, crt, crt, key, key, key, key, key, key, key)
	if f.PreHook != "" {
		fmt.Fprintf(&b, "if [ -x %s ]; then %s >&2; fi\n", Quote(f.PreHook), Quote(f.PreHook))
	}
	fmt.Fprintf(&b, "chmod %s \"$tmp\"\nchmod 600 %s\n", Quote(f.CertMode), key)
	if f.Owner != "" || f.Group != "" {
		own := Quote(f.Owner + ":" + f.Group)
		if f.Group == "" {
			own = Quote(f.Owner)
		}
		fmt.Fprintf(&b, "chown %s \"$tmp\" %s\n", own, key)
	}
	fmt.Fprintf(&b, "mv \"$tmp\" %s\n", crt)
	if len(f.Reload) > 0 {
		fmt.Fprintf(&b, "%s >&2\n", QuoteAll(f.Reload))
	}
	if f.PostHook != "" {
		fmt.Fprintf(&b, "if [ -x %s ]; then %s >&2; fi\n", Quote(f.PostHook), Quote(f.PostHook))
	}
	fmt.Fprintf(&b, "printf 'installed %%s in %%s\\n' %s %s >&2\n", Quote(leafSerial), crt)
	return b.String()
}

// Restore is the script that puts the previous key and chain back and
// reloads.
func (f *Files) Restore() string {
	key, crt := Quote(f.KeyPath), Quote(f.CertPath)
	script := fmt.Sprintf(`set -e
[ -f %s.prev ] && [ -f %s.prev ] || { echo "no previous certificate kept" >&2; exit 65; }
mv %s.prev %s
mv %s.prev %s
`, key, crt, key, key, crt, crt)
	if len(f.Reload) > 0 {
		script += QuoteAll(f.Reload) + " >&2\n"
	}
	return script + "echo 'restored the previous certificate' >&2\n"
}
