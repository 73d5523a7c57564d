package ssm_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/hostscript"
	"github.com/ottr-dev/ottr/driver/ssm"
	"github.com/ottr-dev/ottr/internal/rotatetest"
	"github.com/ottr-dev/ottr/internal/testtool"
)

// ottrSubject is what an Ottr deployment's recipe put in its requests.
var ottrSubject = ottr.Subject{Country: "US", State: "California", Locality: "San Francisco", Organization: "Example, Inc.",
	OrganizationalUnit: "Security/PKI", Email: "pki@example.com"}

// withSubject is the driver as the rotation engine opens it for an Ottr
// recipe: its CSR requests carry the recipe's subject (and no key type:
// the driver's default). It keeps the last CSR for the test to inspect.
type withSubject struct {
	*ssm.Driver
	csr *x509.CertificateRequest
}

func (w *withSubject) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	req.Subject = ottrSubject
	csr, err := w.Driver.CSR(ctx, req)
	w.csr = csr
	return csr, err
}

func openssl(t *testing.T, stdin []byte, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "openssl", args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// An instance laid out as Ottr left it — tagged Name=<first label>, its
// key and certificates in /opt/otter/certs (<cn>.key, fullchain.cer,
// <cn>.cer, ca.cer, written with echo), hook directories in
// /opt/otter/hooks — is rotated in place (under a temp root standing for
// /): its hooks run in order with the environment SSM gives them, every
// file is replaced with the new key, chain, leaf and issuers, and the
// request was Ottr's RSA-2048 with its subject.
func TestOttrHostRotation(t *testing.T) {
	t.Parallel()
	testtool.Need(t, "bash", "bash") // Ottr's hooks run with bash
	h := startHost(t)
	root := t.TempDir()
	certs, hooks := filepath.Join(root, ssm.OttrCertDir), filepath.Join(root, ssm.OttrHookDir)
	for _, d := range []string{certs, filepath.Join(hooks, "pre"), filepath.Join(hooks, "post")} {
		os.MkdirAll(d, 0o755)
	}
	keyPath, fullchain := filepath.Join(certs, "web01.example.com.key"), filepath.Join(certs, "fullchain.cer")
	leafPath, caPath := filepath.Join(certs, "web01.example.com.cer"), filepath.Join(certs, "ca.cer")
	oldChain, _ := ottr.ParseChain(mustRead(t, h.inst.CertPath))
	oldKey := mustRead(t, h.inst.KeyPath)
	// Ottr wrote the files with echo "<pem>" > path, a newline after.
	os.WriteFile(keyPath, oldKey, 0o600)
	os.WriteFile(fullchain, append(ottr.EncodeChain(oldChain), '\n'), 0o644)
	os.WriteFile(leafPath, append(ottr.EncodeChain(oldChain[:1]), '\n'), 0o644)
	os.WriteFile(caPath, append(ottr.EncodeChain(oldChain[1:]), '\n'), 0o644)
	h.inst.CertPath, h.inst.KeyPath = fullchain, keyPath

	log := filepath.Join(root, "hooks.log")
	hook := func(dir, name, body string, mode os.FileMode) {
		os.WriteFile(filepath.Join(hooks, dir, name), []byte("LOG="+hostscript.Quote(log)+"\nCERTS="+hostscript.Quote(certs)+"\n"+body+"\n"), mode)
	}
	// Ottr's placeholder, a hook that is not executable and uses bash,
	// and files that are not hooks.
	hook("pre", "template.sh", "", 0o644)
	hook("pre", "20-check.sh", `[[ -e "$CERTS/web01.example.com.key.pending" ]] && p=made || p=none
echo "pre 20 instance=$AWS_SSM_INSTANCE_ID uid=$(id -u) key=$p" >> "$LOG"`, 0o644)
	hook("pre", "10-first.sh", `echo "pre 10 serial=$(openssl x509 -in "$CERTS/web01.example.com.cer" -noout -serial | cut -d= -f2)" >> "$LOG"`, 0o755)
	hook("pre", "notes.txt", `echo "notes ran" >> "$LOG"`, 0o755)
	hook("post", "10-reload.sh", `echo "post 10 leaf=$(openssl x509 -in "$CERTS/web01.example.com.cer" -noout -serial | cut -d= -f2) chain=$(openssl x509 -in "$CERTS/fullchain.cer" -noout -serial | cut -d= -f2)" >> "$LOG"`, 0o755)

	var drv *withSubject
	open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
		d, err := ssm.New(ssm.Config{Endpoint: h.svc.URL, Credential: cred, Asset: a, Serve: h.inst.Addr, Poll: 10 * time.Millisecond, Timeout: time.Minute,
			CertPath: fullchain, KeyPath: keyPath, LeafPath: leafPath, CAPath: caPath,
			PreHook: filepath.Join(hooks, "pre"), PostHook: filepath.Join(hooks, "post")})
		if err != nil {
			return nil, err
		}
		drv = &withSubject{Driver: d}
		return drv, nil
	}
	env := rotatetest.New(t, "web01.example.com", "www.example.com")
	rot, err := env.Rotate(t, webAsset(), h.inst.Addr, open)
	if err != nil || rot.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
	}

	chain, err := ottr.ParseChain(mustRead(t, fullchain))
	if err != nil || len(chain) < 2 {
		t.Fatalf("fullchain.cer: %d certificates, %v", len(chain), err)
	}
	if chain[0].SerialNumber.Text(16) != rot.NewSerial || chain[0].Equal(oldChain[0]) {
		t.Errorf("fullchain.cer holds serial %x, the rotation recorded %s", chain[0].SerialNumber, rot.NewSerial)
	}
	if cur, _ := drv.Current(t.Context()); !cur[0].Equal(chain[0]) {
		t.Errorf("the instance serves %x, not the new certificate", cur[0].SerialNumber)
	}
	for p, want := range map[string][]byte{leafPath: ottr.EncodeChain(chain[:1]), caPath: ottr.EncodeChain(chain[1:])} {
		if got := mustRead(t, p); !bytes.Equal(got, want) {
			t.Errorf("%s:\n%s\nwant\n%s", filepath.Base(p), got, want)
		}
	}
	if _, err := tls.X509KeyPair(mustRead(t, leafPath), mustRead(t, keyPath)); err != nil {
		t.Errorf("<cn>.key and <cn>.cer are not a pair: %v", err)
	}
	if st, _ := os.Stat(keyPath); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode().Perm())
	}
	if !strings.Contains(openssl(t, nil, "pkey", "-in", keyPath, "-noout", "-text"), "Private-Key: (2048 bit") {
		t.Error("the new key is not RSA-2048")
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: drv.csr.Raw})
	subj := strings.TrimSpace(openssl(t, csrPEM, "req", "-noout", "-subject", "-nameopt", "RFC2253"))
	if want := `subject=emailAddress=pki@example.com,CN=web01.example.com,OU=Security/PKI,O=Example\, Inc.,L=San Francisco,ST=California,C=US`; subj != want {
		t.Errorf("CSR %s\nwant    %s", subj, want)
	}
	if diff := cmp.Diff([]string{"web01.example.com", "www.example.com"}, drv.csr.DNSNames); diff != "" {
		t.Errorf("CSR SANs (-want +got):\n%s", diff)
	}

	old := opensslSerial(oldChain[0])
	newSerial := opensslSerial(chain[0])
	want := []string{"pre 10 serial=" + old, "pre 20 instance=" + h.inst.ID + " uid=" + strings.TrimSpace(runID(t)) + " key=none",
		"post 10 leaf=" + newSerial + " chain=" + newSerial}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(string(mustRead(t, log))), "\n")); diff != "" {
		t.Errorf("hooks (-want +got):\n%s", diff)
	}
	if temps, _ := filepath.Glob(filepath.Join(certs, "*.ottr-*")); len(temps) > 0 {
		t.Errorf("temp files left: %v", temps)
	}

	// Rollback puts Ottr's files back: the key and chain as they were,
	// the leaf and issuers cut from that chain.
	if err := drv.Restore(t.Context(), oldChain); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mustRead(t, keyPath), oldKey) || !bytes.Equal(mustRead(t, fullchain), append(ottr.EncodeChain(oldChain), '\n')) ||
		!bytes.Equal(mustRead(t, leafPath), ottr.EncodeChain(oldChain[:1])) {
		t.Error("Restore did not put the old key, fullchain.cer and <cn>.cer back")
	}
	if cur, _ := drv.Current(t.Context()); !cur[0].Equal(oldChain[0]) {
		t.Error("the instance does not serve the old certificate after Restore")
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func runID(t *testing.T) string {
	out, err := exec.Command("id", "-u").Output()
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// The driver's default key is Ottr's RSA-2048; a key type asked for is
// made instead.
func TestKeyTypes(t *testing.T) {
	t.Parallel()
	h := startHost(t)
	d := h.driver(t)
	for kt, want := range map[string]string{"": "*rsa.PublicKey 2048", "p384": "*ecdsa.PublicKey P-384"} {
		csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "web01.example.com", KeyType: kt})
		if err != nil {
			t.Fatal(err)
		}
		if got := keyDescription(csr.PublicKey); got != want {
			t.Errorf("key type %q: %s, want %s", kt, got, want)
		}
	}
}

func keyDescription(k any) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("%T %d", k, k.N.BitLen())
	case *ecdsa.PublicKey:
		return fmt.Sprintf("%T %s", k, k.Curve.Params().Name)
	}
	return fmt.Sprintf("%T", k)
}

// opensslSerial is a certificate's serial as openssl x509 -serial prints it.
func opensslSerial(c *x509.Certificate) string {
	return strings.ToUpper(hex.EncodeToString(c.SerialNumber.Bytes()))
}

// With verify: files, an instance that serves the certificate nowhere Ottr
// can connect to is rotated and verified from the chain in place, read
// through SSM.
func TestVerifyFromFiles(t *testing.T) {
	t.Parallel()
	h := startHost(t)
	open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
		c := h.config(a, cred)
		c.Serve, c.Verify = "127.0.0.1:1", ssm.VerifyFiles // nothing listens there
		return ssm.New(c)
	}
	env := rotatetest.New(t, "web01.example.com", "www.example.com")
	rot, err := env.Rotate(t, webAsset(), h.inst.Addr, open)
	if err != nil || rot.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
	}
	chain, _ := ottr.ParseChain(mustRead(t, h.inst.CertPath))
	if chain[0].SerialNumber.Text(16) != rot.NewSerial {
		t.Errorf("the file holds %x, the rotation recorded %s", chain[0].SerialNumber, rot.NewSerial)
	}
	c := h.config(webAsset(), cred)
	c.Verify = "disk"
	if _, err := ssm.New(c); len(ottr.ErrorProblems(err)) != 1 || ottr.ErrorProblems(err)[0].Field != "verify" {
		t.Errorf("verify: disk: %v", err)
	}
}
