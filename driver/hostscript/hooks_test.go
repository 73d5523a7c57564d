package hostscript_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/hostscript"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/internal/testtool"
)

// ottrHost is a directory laid out as Ottr left a host, under root:
// opt/otter/certs holds <cn>.key, fullchain.cer, <cn>.cer and ca.cer, and
// opt/otter/hooks/{pre,post} the hook directories. Every hook appends a
// line to hooks.log.
type ottrHost struct {
	t          *testing.T
	root, log  string
	files      hostscript.Files
	ca         *testpki.CA
	pre, post  string
	oldKeyPEM  []byte
	oldPEM     []byte
	oldLeafPEM []byte
}

func newOttrHost(t *testing.T) *ottrHost {
	t.Helper()
	requireTools(t)
	testtool.Need(t, "bash", "bash") // Ottr's hooks run with bash
	root := t.TempDir()
	certs := filepath.Join(root, "opt/otter/certs")
	h := &ottrHost{t: t, root: root, log: filepath.Join(root, "hooks.log"), ca: testpki.NewCA("Old CA"),
		pre: filepath.Join(root, "opt/otter/hooks/pre"), post: filepath.Join(root, "opt/otter/hooks/post")}
	h.files = hostscript.Files{KeyPath: filepath.Join(certs, "web.example.com.key"), CertPath: filepath.Join(certs, "fullchain.cer"),
		LeafPath: filepath.Join(certs, "web.example.com.cer"), CAPath: filepath.Join(certs, "ca.cer"), PreHook: h.pre, PostHook: h.post}
	if p := h.files.Check("web.example.com"); len(p) > 0 {
		t.Fatal(p)
	}
	for _, d := range []string{certs, h.pre, h.post} {
		os.MkdirAll(d, 0o755)
	}
	csr, key := testpki.CSR("web.example.com", "web.example.com")
	h.oldKeyPEM, _ = testpki.MarshalKey(key)
	chain := h.ca.Sign(csr, time.Hour)
	h.oldPEM, h.oldLeafPEM = ottr.EncodeChain(chain), ottr.EncodeChain(chain[:1])
	os.WriteFile(h.files.KeyPath, h.oldKeyPEM, 0o600)
	os.WriteFile(h.files.CertPath, h.oldPEM, 0o644)
	os.WriteFile(h.files.LeafPath, h.oldLeafPEM, 0o644)
	os.WriteFile(h.files.CAPath, ottr.EncodeChain(chain[1:]), 0o644)
	return h
}

// hook writes a hook file; body runs with LOG set to the log file and
// CERTS to the certificate directory.
func (h *ottrHost) hook(dir, name string, mode os.FileMode, body string) {
	os.WriteFile(filepath.Join(dir, name), []byte("LOG="+hostscript.Quote(h.log)+"\nCERTS="+
		hostscript.Quote(filepath.Dir(h.files.KeyPath))+"\n"+body+"\n"), mode)
}

func (h *ottrHost) logLines() []string {
	b, _ := os.ReadFile(h.log)
	os.Remove(h.log)
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func (h *ottrHost) run(script string, stdin []byte) (string, error) {
	cmd := exec.CommandContext(h.t.Context(), "sh", "-c", script)
	cmd.Dir = h.root
	cmd.Stdin = bytes.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (h *ottrHost) csr(req ottr.CSRRequest) (*x509.CertificateRequest, string, error) {
	script, err := h.files.CSR(req)
	if err != nil {
		h.t.Fatal(err)
	}
	cmd := exec.CommandContext(h.t.Context(), "sh", "-c", script)
	cmd.Dir = h.root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, stderr.String(), err
	}
	csr, err := ottr.ParseCSR(out)
	return csr, stderr.String(), err
}

func (h *ottrHost) read(p string) []byte {
	b, _ := os.ReadFile(p)
	return b
}

// Ottr's hook directories run as Ottr's run_hooks ran them: every *.sh
// with bash (executable or not), in name order, nothing else; pre hooks
// before the key is made, post hooks after the certificate is in place;
// and the key, chain, leaf and issuers files are replaced together.
func TestOttrHookDirectoriesAndFiles(t *testing.T) {
	h := newOttrHost(t)
	// Not executable, and a bashism: Ottr ran `bash $each`.
	h.hook(h.pre, "20-second.sh", 0o644, `[[ -e "$CERTS/web.example.com.key.pending" ]] && p=yes || p=no
echo "pre 20-second pending=$p" >> "$LOG"`)
	h.hook(h.pre, "10-first.sh", 0o755, `echo "pre 10-first" >> "$LOG"; echo "pre hook says hello"`)
	h.hook(h.pre, "README", 0o755, `echo "README ran" >> "$LOG"`)
	h.hook(h.pre, "30-off.sh.disabled", 0o755, `echo "disabled ran" >> "$LOG"`)
	os.Mkdir(filepath.Join(h.pre, "25-dir.sh"), 0o755)
	h.hook(h.post, "10-serial.sh", 0o755, `echo "post $(openssl x509 -in "$CERTS/web.example.com.cer" -noout -serial)" >> "$LOG"`)

	csr, stderr, err := h.csr(ottr.CSRRequest{CommonName: "web.example.com", DNSNames: []string{"web.example.com"}, KeyType: "rsa2048"})
	if err != nil {
		t.Fatalf("csr: %v\n%s", err, stderr)
	}
	if diff := cmp.Diff([]string{"pre 10-first", "pre 20-second pending=no"}, h.logLines()); diff != "" {
		t.Errorf("hooks run by the CSR (-want +got):\n%s", diff)
	}
	if !strings.Contains(stderr, "pre hook says hello") {
		t.Errorf("a hook's output is not in the log: %q", stderr)
	}
	chain := testpki.NewCA("New CA").Sign(csr, time.Hour)
	if out, err := h.run(h.files.Install("cat", chain), ottr.EncodeChain(chain)); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	serial := "post serial=" + opensslSerial(chain[0])
	if diff := cmp.Diff([]string{serial}, h.logLines()); diff != "" {
		t.Errorf("hooks run by the install (-want +got):\n%s", diff)
	}
	want := map[string][]byte{h.files.CertPath: ottr.EncodeChain(chain), h.files.LeafPath: ottr.EncodeChain(chain[:1]), h.files.CAPath: ottr.EncodeChain(chain[1:])}
	for p, w := range want {
		if got := h.read(p); !bytes.Equal(got, w) {
			t.Errorf("%s after install:\n%s\nwant\n%s", filepath.Base(p), got, w)
		}
	}
	if _, err := tls.X509KeyPair(h.read(h.files.LeafPath), h.read(h.files.KeyPath)); err != nil {
		t.Errorf("leaf and key in place are not a pair: %v", err)
	}

	// Restore runs both directories around putting every file back.
	old, _ := ottr.ParseChain(h.oldPEM)
	if out, err := h.run(h.files.Restore("cat", old), h.oldPEM); err != nil {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	oldSerial := "post serial=" + opensslSerial(old[0])
	if diff := cmp.Diff([]string{"pre 10-first", "pre 20-second pending=no", oldSerial}, h.logLines()); diff != "" {
		t.Errorf("hooks run by the restore (-want +got):\n%s", diff)
	}
	if !bytes.Equal(h.read(h.files.KeyPath), h.oldKeyPEM) || !bytes.Equal(h.read(h.files.CertPath), h.oldPEM) || !bytes.Equal(h.read(h.files.LeafPath), h.oldLeafPEM) {
		t.Error("restore did not put the old key, chain and leaf back")
	}
	if temps, _ := filepath.Glob(filepath.Join(filepath.Dir(h.files.KeyPath), "*.ottr-*")); len(temps) > 0 {
		t.Errorf("temp files left: %v", temps)
	}
}

// A failing hook stops the hooks after it and the script: in the pre
// directory before any key is made, in the post directory with every file
// put back as it was.
func TestOttrHookFailures(t *testing.T) {
	h := newOttrHost(t)
	h.hook(h.pre, "10-fails.sh", 0o644, `echo "pre 10" >> "$LOG"; [ -e "$CERTS/../fail-pre" ] && exit 3; exit 0`)
	h.hook(h.pre, "20-after.sh", 0o644, `echo "pre 20" >> "$LOG"`)
	h.hook(h.post, "10-reload.sh", 0o644, `echo "post 10 $(openssl x509 -in "$CERTS/web.example.com.cer" -noout -serial)" >> "$LOG"`)
	h.hook(h.post, "20-fails.sh", 0o644, `echo "post 20" >> "$LOG"; [ -e "$CERTS/../fail-post" ] && { echo "service did not come back" >&2; exit 4; }; exit 0`)
	h.hook(h.post, "30-after.sh", 0o644, `echo "post 30" >> "$LOG"`)
	marker := func(name string) string { return filepath.Join(h.root, "opt/otter", name) }

	os.WriteFile(marker("fail-pre"), nil, 0o644)
	_, stderr, err := h.csr(ottr.CSRRequest{CommonName: "web.example.com"})
	if err == nil || !strings.Contains(stderr, "10-fails.sh failed with status 3") {
		t.Fatalf("csr with a failing pre hook: %v\n%s", err, stderr)
	}
	if diff := cmp.Diff([]string{"pre 10"}, h.logLines()); diff != "" {
		t.Errorf("hooks run (-want +got):\n%s", diff)
	}
	if _, err := os.Stat(h.files.KeyPath + ".pending"); err == nil {
		t.Error("a key was made though a pre hook failed")
	}
	os.Remove(marker("fail-pre"))

	csr, stderr, err := h.csr(ottr.CSRRequest{CommonName: "web.example.com"})
	if err != nil {
		t.Fatalf("csr: %v\n%s", err, stderr)
	}
	h.logLines()
	chain := testpki.NewCA("New CA").Sign(csr, time.Hour)
	os.WriteFile(marker("fail-post"), nil, 0o644)
	before := map[string][]byte{}
	for _, p := range []string{h.files.KeyPath, h.files.CertPath, h.files.LeafPath, h.files.CAPath} {
		before[p] = h.read(p)
	}
	out, err := h.run(h.files.Install("cat", chain), ottr.EncodeChain(chain))
	if err == nil || !strings.Contains(out, "service did not come back") || !strings.Contains(out, "20-fails.sh failed with status 4") {
		t.Fatalf("install with a failing post hook: %v\n%s", err, out)
	}
	// The post hooks that ran with the new files run again with the old
	// ones put back, so what they reloaded holds the files on disk.
	oldSerial, newSerial := "post 10 serial="+opensslSerial(leafOf(before[h.files.CertPath])),
		"post 10 serial="+opensslSerial(chain[0])
	if diff := cmp.Diff([]string{newSerial, "post 20", oldSerial, "post 20"}, h.logLines()); diff != "" {
		t.Errorf("hooks run (-want +got):\n%s", diff)
	}
	for p, b := range before {
		if !bytes.Equal(h.read(p), b) {
			t.Errorf("%s changed though the install failed", filepath.Base(p))
		}
	}
	os.Remove(marker("fail-post"))
	if out, err := h.run(h.files.Install("cat", chain), ottr.EncodeChain(chain)); err != nil {
		t.Fatalf("retry: %v\n%s", err, out)
	}
	if diff := cmp.Diff([]string{newSerial, "post 20", "post 30"}, h.logLines()); diff != "" {
		t.Errorf("hooks run by the retry (-want +got):\n%s", diff)
	}
}

// With InheritOwner and InheritMode, the new files keep the owner, group
// and mode of the ones they replace, as Ottr's writes over the existing
// files did, except that a key never stays readable by others.
func TestInheritOwnerAndMode(t *testing.T) {
	h := newOttrHost(t)
	if os.Geteuid() != 0 {
		t.Skip("changing a file's owner needs root")
	}
	h.files.InheritOwner, h.files.InheritMode = true, true
	modes := map[string]os.FileMode{h.files.KeyPath: 0o644, h.files.CertPath: 0o640, h.files.LeafPath: 0o444, h.files.CAPath: 0o604}
	for p, m := range modes {
		os.Chmod(p, m)
		if err := os.Chown(p, 1234, 2345); err != nil {
			t.Fatal(err)
		}
	}
	csr, stderr, err := h.csr(ottr.CSRRequest{CommonName: "web.example.com"})
	if err != nil {
		t.Fatalf("csr: %v\n%s", err, stderr)
	}
	chain := testpki.NewCA("New CA").Sign(csr, time.Hour)
	if out, err := h.run(h.files.Install("cat", chain), ottr.EncodeChain(chain)); err != nil {
		t.Fatalf("install: %v\n%s", err, out)
	}
	modes[h.files.KeyPath] = 0o640
	for p, m := range modes {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode().Perm() != m || sys.Uid != 1234 || sys.Gid != 2345 {
			t.Errorf("%s: mode %v owner %d:%d, want %v 1234:2345", filepath.Base(p), st.Mode().Perm(), sys.Uid, sys.Gid, m)
		}
	}
	if b := h.read(h.files.CertPath); !bytes.Equal(b, ottr.EncodeChain(chain)) {
		t.Error("the new chain is not in place")
	}
}

func leafOf(pemBytes []byte) *x509.Certificate {
	chain, _ := ottr.ParseChain(pemBytes)
	return chain[0]
}

// opensslSerial is a certificate's serial as openssl x509 -serial prints it.
func opensslSerial(c *x509.Certificate) string {
	return strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes()))
}
