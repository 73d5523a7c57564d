package linux_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/driver/linux"
	"github.com/ottr-dev/ottr/driver/served"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/dnstest"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/linuxhost"
	"github.com/ottr-dev/ottr/store"
	"golang.org/x/crypto/ssh"
)

type host struct{ *linuxhost.Host }

// startHost starts a real sshd and nginx (sim/linuxhost) for one test.
func startHost(t *testing.T) *host {
	t.Helper()
	if m := linuxhost.Missing(); len(m) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v not installed; .ci/run installs openssh-server and nginx", m)
		}
		t.Skipf("%v not installed (apt-get install openssh-server nginx)", m)
	}
	csr, key := testpki.CSR("web.example.com", "web.example.com")
	chain := testpki.NewCA("Old Internal CA").Sign(csr, 24*time.Hour)
	h, err := linuxhost.Start(t.TempDir(), key, chain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return &host{h}
}

func (h *host) config(a *ottr.Asset) linux.Config {
	return linux.Config{
		Address: h.SSHAddr, KnownHosts: h.KnownHosts, CertPath: h.CertPath, KeyPath: h.KeyPath,
		Reload: h.ReloadCommand(), Serve: h.HTTPSAddr, Asset: a, Timeout: 30 * time.Second,
		Credential: ottr.Credential{"username": ottr.Secret(h.User), "private_key": ottr.Secret(h.ClientKey)},
	}
}

func webAsset() *ottr.Asset {
	return &ottr.Asset{SystemName: "web.example.com", CommonName: "web.example.com",
		SubjectAlternativeName: []string{"web.example.com", "www.example.com"}, CertificateAuthority: "pebble", HostPlatform: "Ubuntu"}
}

func TestConformance(t *testing.T) {
	t.Parallel()
	h := startHost(t)
	var drivers []*linux.Driver
	drivertest.Run(t, drivertest.Harness{
		New: func(t *testing.T) ottr.Driver {
			d, err := linux.New(h.config(webAsset()))
			if err != nil {
				t.Fatal(err)
			}
			drivers = append(drivers, d)
			t.Cleanup(func() { d.Close() })
			return d
		},
		CommonName: "web.example.com", SANs: []string{"web.example.com", "www.example.com"},
		KeyTypes: []string{"p256", "rsa2048"},
		Break: func(t *testing.T) {
			h.Close()
			for _, d := range drivers {
				d.Close()
			}
		},
	})
}

// After a rotation through Pebble, nginx serves the new certificate.
func TestNginxServesPebbleCertificate(t *testing.T) {
	t.Parallel()
	h := startHost(t)
	const zone = "acme.example.test"
	db, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir(), Sealer: mustSealer()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Migrate(t.Context())
	srv, res := dnstest.StartZone(t, db, zone)
	for _, n := range []string{"web", "www"} {
		res.CNAME("_acme-challenge."+n+".example.com", "_acme-challenge.web."+zone)
	}
	p, err := acmetest.Start(acmetest.Options{Resolver: res.Addr})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	is := &acme.Issuer{CAs: map[string]acme.CA{"pebble": {Directory: p.Directory, DirectoryCA: p.TLSRootPEM, TrustedRoots: p.RootPEM()}},
		Secrets: db, DNS: &ottrdns.Challenges{Zones: map[string]ottr.DNSZone{zone: &ottrdns.StoreZone{Store: db}},
			Resolvers: []string{res.Addr}, Nameservers: []string{srv.Addr()}}}

	a := webAsset()
	d, err := linux.New(h.config(a))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var log []string
	ctx := ottr.WithStepLog(t.Context(), func(l string) { log = append(log, l) })
	before, err := d.Current(ctx)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := d.CSR(ctx, ottr.CSRRequest{CommonName: a.CommonName, DNSNames: a.Names()})
	if err != nil {
		t.Fatal(err)
	}
	chain, err := is.Issue(ctx, ottr.IssueRequest{CA: "pebble", CSR: csr, Names: a.Names()})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Install(ctx, chain); err != nil {
		t.Fatalf("install: %v\n%s", err, strings.Join(log, "\n"))
	}
	if os.Getenv("DEBUG_LOG") != "" {
		t.Log(strings.Join(log, "\n"))
	}
	now, err := served.Chain(ctx, h.HTTPSAddr, a.CommonName)
	if err != nil || !now[0].Equal(chain[0]) {
		t.Fatalf("nginx serves %v (%v), want the Pebble certificate %x", now[0].SerialNumber, err, chain[0].SerialNumber)
	}
	if now[0].Equal(before[0]) {
		t.Fatal("nginx still serves the old certificate")
	}
	// The key never left the host: only the host has it, 0600.
	st, err := os.Stat(h.KeyPath)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, %v", st.Mode().Perm(), err)
	}
	if !strings.Contains(strings.Join(log, "\n"), "installed") {
		t.Errorf("log: %v", log)
	}
	// Restore puts the previous certificate back.
	if err := d.Restore(ctx, before); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		cur, _ := served.Chain(ctx, h.HTTPSAddr, a.CommonName)
		if len(cur) > 0 && cur[0].Equal(before[0]) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("previous certificate not served after Restore")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestHostKeysAndCredentials(t *testing.T) {
	t.Parallel()
	h := startHost(t)
	a := webAsset()
	ctx := t.Context()

	// Unknown host: refused unless trust on first use, which records it.
	c := h.config(a)
	c.KnownHosts = filepath.Join(t.TempDir(), "known_hosts")
	d, _ := linux.New(c)
	if _, err := d.CSR(ctx, ottr.CSRRequest{CommonName: a.CommonName}); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !strings.Contains(err.Error(), "trust_on_first_use") {
		t.Errorf("unknown host: %v", err)
	}
	c.TrustOnFirstUse = true
	d, _ = linux.New(c)
	if _, err := d.CSR(ctx, ottr.CSRRequest{CommonName: a.CommonName}); err != nil {
		t.Fatalf("trust on first use: %v", err)
	}
	d.Close()
	if b, _ := os.ReadFile(c.KnownHosts); !strings.Contains(string(b), "ssh-ed25519") {
		t.Errorf("host key not recorded: %q", b)
	}
	// A changed host key is refused even with trust on first use.
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	op, _ := ssh.NewPublicKey(other)
	_, port, _ := net.SplitHostPort(h.SSHAddr)
	os.WriteFile(c.KnownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%s %s", port, ssh.MarshalAuthorizedKey(op))), 0o600)
	d, _ = linux.New(c)
	if _, err := d.CSR(ctx, ottr.CSRRequest{CommonName: a.CommonName}); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !strings.Contains(err.Error(), "changed") {
		t.Errorf("changed host key: %v", err)
	}

	// Wrong key: permanent, and the error says nothing secret.
	_, wrong, _ := ed25519.GenerateKey(rand.Reader)
	blk, _ := ssh.MarshalPrivateKey(wrong, "")
	c = h.config(a)
	c.Credential = ottr.Credential{"username": ottr.Secret(h.User), "private_key": ottr.Secret(pem.EncodeToMemory(blk))}
	d, _ = linux.New(c)
	_, err := d.CSR(ctx, ottr.CSRRequest{CommonName: a.CommonName})
	if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !ottr.IsPermanent(err) || strings.Contains(err.Error(), "PRIVATE KEY") {
		t.Errorf("wrong key: %v", err)
	}
	// Misconfiguration lists every problem.
	_, err = linux.New(linux.Config{Asset: a, CertPath: "relative/path", CertMode: "rw"})
	for _, w := range []string{"user", "credential", "known_hosts", "cert_path", "cert_mode"} {
		if !strings.Contains(fmt.Sprint(err), w) {
			t.Errorf("config error %v lacks %q", err, w)
		}
	}
}

func mustSealer() *ottr.Sealer {
	s, _ := ottr.NewSealer(bytes.Repeat([]byte{5}, 32))
	return s
}

// Paths that cannot be used safely in a host script are refused when the
// driver is configured, naming the field; no SSH server is needed.
func TestUnsafePathsRefused(t *testing.T) {
	t.Parallel()
	_, err := linux.New(linux.Config{Asset: webAsset(), Credential: ottr.Credential{"username": "ottr", "password": "pw-for-test"},
		KnownHosts: filepath.Join(t.TempDir(), "known_hosts"), KeyPath: "/etc/ssl/web.key\ntouch /tmp/x", CertPath: "/etc/ssl/../web.crt"})
	probs := ottr.ErrorProblems(err)
	if ottr.ErrorCode(err) != ottr.EINVALID || len(probs) != 2 || probs[0].Field != "cert_path" || probs[1].Field != "key_path" {
		t.Errorf("New: %v, problems %v", err, probs)
	}
}
