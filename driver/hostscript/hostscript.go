// Package hostscript writes the POSIX shell scripts that rotate a
// certificate on a Linux host, whatever carries them there: the linux
// driver runs them over SSH, the ssm driver through AWS Systems Manager.
// openssl on the host makes the key (mode 0600, it never leaves the host)
// and the CSR, with options OpenSSL 1.0.2 already had (csr.go); the chain
// is checked against that key and moved into place with temp file +
// rename, with the leaf and issuers files cut from it when asked, the
// previous pair kept for Restore; hooks (Ottr's hook directories or single
// programs, hooks.go) and a reload command run around it. Whatever fails,
// key and chain in place are a pair, on disk and in service, and no temp
// file is left (Install).
//
// Every value put into a script is quoted as one shell word (Quote): a
// path, owner or name is only ever a name, whatever it contains. Reload
// and the hooks are commands the operator configured; they run as such.
//
// Scripts exit 65 when what they were given cannot work (no key matches
// the chain, nothing to restore): callers treat that as permanent.
package hostscript

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/ottr-dev/ottr"
)

// Files says where a host keeps its certificate and what to run.
type Files struct {
	// CertPath receives the chain (leaf first), KeyPath its key.
	CertPath, KeyPath string
	// LeafPath and CAPath, when set, also receive the leaf alone and its
	// issuers alone, cut from the chain placed at CertPath and replaced
	// with it (Ottr's <cn>.cer and ca.cer beside fullchain.cer).
	LeafPath, CAPath string
	// CertMode is the chain's octal mode (default 0644); the key is 0600.
	CertMode     string
	Owner, Group string
	// InheritOwner and InheritMode give each new file the owner and group,
	// or the mode, of the file it replaces (when there is one) instead of
	// Owner and Group, or CertMode and 0600: what Ottr's `echo … > file`
	// and `openssl req -keyout` over the existing files left, so a service
	// user given access to them keeps it. A key never becomes readable by
	// others, whatever the old one's mode.
	InheritOwner, InheritMode bool
	// Reload is the argv run after installing; empty runs nothing.
	Reload []string
	// PreHook and PostHook are a hook directory (Ottr's
	// /opt/otter/hooks/pre and post: every *.sh in it runs with bash) or
	// one executable file; see hookFunctions. A pre hook directory runs
	// before the CSR's key is made, a pre hook file just before the
	// install changes the files; the post hook runs after the reload.
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
	}{{"cert_path", f.CertPath, false}, {"key_path", f.KeyPath, false}, {"leaf_path", f.LeafPath, true}, {"ca_path", f.CAPath, true},
		{"pre_hook", f.PreHook, true}, {"post_hook", f.PostHook, true}} {
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
	// The files are replaced together: two of them at one path would
	// leave only the last.
	seen := map[string]string{}
	for _, t := range f.targets() {
		if other, ok := seen[t.path]; ok {
			bad(t.field, "%q is also %s", t.path, other)
		}
		seen[t.path] = t.field
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

// target is one file an install replaces: v names its shell variable in
// the scripts, v+"new" and v+"old" its temp files.
type target struct{ field, v, path string }

// targets are the files an install replaces, in the order it renames
// them: the key, the chain, then the leaf and issuers when configured.
func (f *Files) targets() []target {
	t := []target{{"key_path", "key", f.KeyPath}, {"cert_path", "crt", f.CertPath}}
	if f.LeafPath != "" {
		t = append(t, target{"leaf_path", "leaf", f.LeafPath})
	}
	if f.CAPath != "" {
		t = append(t, target{"ca_path", "ca", f.CAPath})
	}
	return t
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

// prelude starts the Install and Restore scripts: the paths, the temp
// files, the reload, and the exit trap that removes every temp file and,
// when the run fails after it began to replace the pair in place, puts the
// pair that was there back and reloads, so the host never keeps a key
// beside a certificate for another key, on disk or in service.
func (f *Files) prelude() string {
	reload := ":"
	if len(f.Reload) > 0 {
		reload = QuoteAll(f.Reload) + " >&2"
	}
	// Post hooks that ran with the new files (Ottr's hosts reload their
	// services there) run again once the old ones are back, so the
	// services hold what is on disk; the one that failed may fail again.
	rerun := ""
	if f.PostHook != "" {
		rerun = fmt.Sprintf(`    if [ -n "$posted" ]; then
      ( run_hook %s ) || echo "the post hook failed again with the files put back" >&2
    fi
`, Quote(f.PostHook))
	}
	var vars, putBack, temps strings.Builder
	for _, t := range f.targets() {
		fmt.Fprintf(&vars, "%s=%s\n%snew=\"$%s.ottr-new-$$\"\n%sold=\"$%s.ottr-old-$$\"\n", t.v, Quote(t.path), t.v, t.v, t.v, t.v)
		fmt.Fprintf(&putBack, "    if [ -f \"$%sold\" ]; then mv -f \"$%sold\" \"$%s\"; else rm -f \"$%s\"; fi\n", t.v, t.v, t.v, t.v)
		fmt.Fprintf(&temps, " \"$%snew\" \"$%sold\"", t.v, t.v)
	}
	return fmt.Sprintf(`set -e
umask 077
%sgiven="$crt.ottr-given-$$"
kprev="$key.ottr-prev-$$"
cprev="$crt.ottr-prev-$$"
switched=
posted=
reload() { %s; }
pubkey() { openssl pkey -in "$1" -pubout 2>/dev/null; }
certkey() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }
fingerprint() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null; }
# pair: the key file $1 holds the key of the certificate in file $2.
pair() { [ -f "$1" ] && [ -f "$2" ] && k=$(pubkey "$1") && [ -n "$k" ] && [ "$k" = "$(certkey "$2")" ]; }
finish() {
  rc=$?
  set +e
  if [ "$rc" -ne 0 ] && [ -n "$switched" ]; then
%s    if pair "$key" "$crt" || { [ ! -f "$key" ] && [ ! -f "$crt" ]; }; then
      echo "put back the key and certificate that were in place" >&2
    else
      echo "could not put back the key and certificate that were in place: check $key and $crt" >&2
    fi
    reload
%s  fi
  rm -f "$given" "$kprev" "$cprev"%s
  exit "$rc"
}
trap finish EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM
%s`, vars.String(), reload, putBack.String(), rerun, temps.String(), hookFunctions)
}

// place is the script's part that makes the key in file "$srckey" and the
// chain in file "$srccrt" the pair in place: the pre hook runs (a failure
// there changes nothing; see preHook), both are copied to temp files
// beside the targets (with the leaf and the issuers cut from the chain
// when LeafPath and CAPath are set) and given their modes and owner, the
// files in place are copied aside, the temp files are renamed over the
// targets back to back, the service reloads and the post hook runs. A
// failure from the renames on puts the files that were in place back (the
// exit trap).
func (f *Files) place(b *strings.Builder, restoring bool) {
	f.preHook(b, restoring)
	b.WriteString(`cp "$srckey" "$keynew"
cp "$srccrt" "$crtnew"
chmod 600 "$keynew"
`)
	if f.LeafPath != "" || f.CAPath != "" {
		// The leaf is the chain's first PEM block, the issuers the rest.
		fmt.Fprintf(b, `split_chain() {
  : > "$1"
  : > "$2"
  first="$1" rest="$2" awk '/^-----BEGIN /{n++} n==1{print > ENVIRON["first"]} n>1{print > ENVIRON["rest"]}' "$srccrt"
  [ -s "$1" ] || { echo "no certificate in the chain to cut the leaf from" >&2; exit 1; }
}
split_chain %s %s
`, tempOr(f.LeafPath, "leaf"), tempOr(f.CAPath, "ca"))
	}
	var news, olds, moves strings.Builder
	for _, t := range f.targets() {
		if t.v != "key" {
			fmt.Fprintf(&news, " \"$%snew\"", t.v)
		}
		fmt.Fprintf(&olds, "if [ -f \"$%s\" ]; then cp -p \"$%s\" \"$%sold\"; fi\n", t.v, t.v, t.v)
		fmt.Fprintf(&moves, "mv -f \"$%snew\" \"$%s\"\n", t.v, t.v)
	}
	fmt.Fprintf(b, "chmod %s%s\n", Quote(f.CertMode), news.String())
	if f.Owner != "" || f.Group != "" {
		own := Quote(f.Owner + ":" + f.Group)
		if f.Group == "" {
			own = Quote(f.Owner)
		}
		fmt.Fprintf(b, "chown %s \"$keynew\"%s\n", own, news.String())
	}
	if f.InheritOwner || f.InheritMode {
		for _, t := range f.targets() {
			var cmds []string
			if f.InheritOwner {
				cmds = append(cmds, fmt.Sprintf("chown --reference=\"$%s\" \"$%snew\"", t.v, t.v))
			}
			if f.InheritMode {
				cmds = append(cmds, fmt.Sprintf("chmod --reference=\"$%s\" \"$%snew\"", t.v, t.v))
				if t.v == "key" {
					cmds = append(cmds, `chmod o-rwx "$keynew"`)
				}
			}
			fmt.Fprintf(b, "if [ -f \"$%s\" ]; then %s; fi\n", t.v, strings.Join(cmds, "; "))
		}
	}
	b.WriteString(olds.String() + "switched=1\n" + moves.String() + "reload\n")
	if f.PostHook != "" {
		fmt.Fprintf(b, "posted=1\nrun_hook %s\n", Quote(f.PostHook))
	}
	b.WriteString("switched=\n")
}

// tempOr is the temp file of target v when its path is set, else
// /dev/null (what is cut for it is not kept).
func tempOr(p, v string) string {
	if p == "" {
		return "/dev/null"
	}
	return `"$` + v + `new"`
}

// receive is the scripts' part that writes the chain printed by the shell
// command printChain (exactly ottr.EncodeChain(chain)) to "$given" and
// checks it arrived whole: a chain cut short could still hold a whole leaf
// and pass a look at it, and then break the service's next reload.
func receive(printChain string, chain []*x509.Certificate) string {
	sum := sha256.Sum256(ottr.EncodeChain(chain))
	return fmt.Sprintf(`%s > "$given"
sum=$(sha256sum < "$given") && [ "${sum%%%% *}" = %s ] || {
  echo "the chain arrived incomplete or altered" >&2
  exit 1
}
`, printChain, hex.EncodeToString(sum[:]))
}

// Install is the script that takes the chain (printed by the shell
// command printChain), finds the key it is for — the one in place (a
// repeated install) or <key>.pending (made by CSR, in this run or an
// earlier one) — keeps the pair in place as <key>.prev and <cert>.prev
// for Restore when the key changes, and places the new pair (see place).
// Every failure leaves the pair that was in place, on disk and in
// service, and no temp file; <key>.pending stays until an install of its
// certificate succeeds, so a retry finds it.
func (f *Files) Install(printChain string, chain []*x509.Certificate) string {
	var b strings.Builder
	b.WriteString(f.prelude())
	b.WriteString(receive(printChain, chain))
	b.WriteString(`want=$(certkey "$given")
have=$(pubkey "$key") || :
srccrt="$given"
if [ -n "$have" ] && [ "$have" = "$want" ]; then
  srckey="$key"
elif [ -f "$key.pending" ] && [ "$(pubkey "$key.pending")" = "$want" ]; then
  srckey="$key.pending"
else
  echo "no key on the host matches the certificate" >&2
  exit 65
fi
if [ "$srckey" != "$key" ] && [ -n "$have" ] && [ "$have" = "$(certkey "$crt")" ]; then
  # A new key: keep the pair in place for Restore (renamed into place, so
  # a kept pair is never half written).
  cp -p "$key" "$kprev"
  cp -p "$crt" "$cprev"
  mv -f "$kprev" "$key.prev"
  mv -f "$cprev" "$crt.prev"
fi
`)
	f.place(&b, false)
	fmt.Fprintf(&b, `if [ "$srckey" != "$key" ]; then rm -f "$key.pending" || :; fi
printf 'installed %%s in %%s\n' %s "$crt" >&2
`, Quote(fmt.Sprintf("%x", chain[0].SerialNumber)))
	return b.String()
}

// Restore is the script that makes the chain printed by printChain (the
// previous one) the certificate in place and in service again: already in
// place (a repeated restore) it only reloads; else it places the pair
// kept as <key>.prev and <cert>.prev, if that holds the same leaf with its
// key. It exits 65 when the host no longer keeps that pair. A failure
// leaves the pair that was in place, on disk and in service.
func (f *Files) Restore(printChain string, previous []*x509.Certificate) string {
	var b strings.Builder
	b.WriteString(f.prelude())
	b.WriteString(receive(printChain, previous))
	b.WriteString(`want=$(fingerprint "$given")
if [ "$(fingerprint "$crt")" = "$want" ] && pair "$key" "$crt"; then
  srckey="$key" srccrt="$crt"
elif [ "$(fingerprint "$crt.prev")" = "$want" ] && pair "$key.prev" "$crt.prev"; then
  srckey="$key.prev" srccrt="$crt.prev"
else
  echo "the host does not keep the previous certificate with its key (looked for $crt.prev and $key.prev)" >&2
  exit 65
fi
`)
	f.place(&b, true)
	b.WriteString("echo 'restored the previous certificate' >&2\n")
	return b.String()
}
