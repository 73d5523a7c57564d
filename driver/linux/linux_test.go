package linux_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/driver/drivertest"
	execdriver "github.com/ottr-dev/ottr/driver/exec"
	"github.com/ottr-dev/ottr/driver/linux"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/dnstest"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/store"
	"golang.org/x/crypto/ssh"
)

// host is a real sshd and a real nginx, started for one test on free
// 127.0.0.1 ports with their own configuration.
type host struct {
	dir        string
	sshAddr    string
	httpsAddr  string
	cert, key  string
	nginxConf  string
	clientKey  []byte // OpenSSH private key PEM
	knownHosts string
	user       string
	mu         sync.Mutex
	procs      []*exec.Cmd
}

func need(t *testing.T, bins ...string) {
	t.Helper()
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not installed; .ci/run installs openssh-server and nginx", b)
			}
			t.Skipf("%s not installed (apt-get install openssh-server nginx)", b)
		}
	}
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// lockedBuffer collects a process's output while it runs.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitListen(t *testing.T, addr string, p *exec.Cmd, exited <-chan struct{}, out *lockedBuffer) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return
		}
		select {
		case <-exited:
			t.Fatalf("%s exited before listening on %s:\n%s", p.Path, addr, out)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("%s did not listen on %s:\n%s", p.Path, addr, out)
}

func startHost(t *testing.T) *host {
	t.Helper()
	need(t, "sshd", "nginx", "ssh-keygen", "openssl")
	u, _ := user.Current()
	h := &host{dir: t.TempDir(), sshAddr: freePort(t), httpsAddr: freePort(t), user: u.Username}
	h.cert, h.key = filepath.Join(h.dir, "tls", "web.crt"), filepath.Join(h.dir, "tls", "web.key")
	os.MkdirAll(filepath.Join(h.dir, "tls"), 0o755)
	os.MkdirAll("/run/sshd", 0o755) // sshd's privilege separation directory

	// sshd: its own host key, our client key authorized.
	hostKey := filepath.Join(h.dir, "ssh_host_ed25519_key")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	sshPub, _ := ssh.NewPublicKey(pub)
	blk, _ := ssh.MarshalPrivateKey(priv, "")
	h.clientKey = pem.EncodeToMemory(blk)
	os.WriteFile(filepath.Join(h.dir, "authorized_keys"), ssh.MarshalAuthorizedKey(sshPub), 0o600)
	_, port, _ := net.SplitHostPort(h.sshAddr)
	conf := filepath.Join(h.dir, "sshd_config")
	os.WriteFile(conf, fmt.Appendf(nil, `Port %s
ListenAddress 127.0.0.1
HostKey %s
PidFile %s/sshd.pid
AuthorizedKeysFile %s/authorized_keys
PermitRootLogin yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
`, port, hostKey, h.dir, h.dir), 0o600)
	h.start(t, h.sshAddr, "/usr/sbin/sshd", "-D", "-e", "-f", conf)
	// The test's known_hosts holds the real host key.
	hk, _ := os.ReadFile(hostKey + ".pub")
	hostPub, _, _, _, err := ssh.ParseAuthorizedKey(hk)
	if err != nil {
		t.Fatal(err)
	}
	h.knownHosts = filepath.Join(h.dir, "known_hosts")
	os.WriteFile(h.knownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%s %s", port, ssh.MarshalAuthorizedKey(hostPub))), 0o600)

	// nginx with a first certificate from an old internal CA.
	csr, key := testpki.CSR("web.example.com", "web.example.com")
	chain := testpki.NewCA("Old Internal CA").Sign(csr, 24*time.Hour)
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	os.WriteFile(h.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	os.WriteFile(h.cert, testpki.EncodeChain(chain), 0o644)
	h.nginxConf = filepath.Join(h.dir, "nginx.conf")
	tmp := filepath.Join(h.dir, "nginx-tmp")
	os.MkdirAll(tmp, 0o777)
	os.WriteFile(h.nginxConf, fmt.Appendf(nil, `daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/nginx-error.log;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path %[2]s/body; proxy_temp_path %[2]s/proxy; fastcgi_temp_path %[2]s/fcgi;
  uwsgi_temp_path %[2]s/uwsgi; scgi_temp_path %[2]s/scgi;
  server {
    listen %[3]s ssl;
    ssl_certificate %[4]s;
    ssl_certificate_key %[5]s;
    location / { return 200 "ok\n"; }
  }
}
`, h.dir, tmp, h.httpsAddr, h.cert, h.key), 0o644)
	h.start(t, h.httpsAddr, "nginx", "-c", h.nginxConf, "-e", filepath.Join(h.dir, "nginx-start.log"))
	return h
}

func (h *host) start(t *testing.T, addr string, name string, args ...string) {
	t.Helper()
	out := &lockedBuffer{}
	p := exec.Command(name, args...)
	p.Stdout, p.Stderr = out, out
	// Its own process group, so nginx's workers and sshd's session
	// processes go down with it.
	p.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	h.procs = append(h.procs, p)
	h.mu.Unlock()
	exited := make(chan struct{})
	go func() { p.Wait(); close(exited) }()
	t.Cleanup(func() { syscall.Kill(-p.Process.Pid, syscall.SIGKILL); <-exited })
	waitListen(t, addr, p, exited, out)
}

func (h *host) config(a *ottr.Asset) linux.Config {
	return linux.Config{
		Address: h.sshAddr, KnownHosts: h.knownHosts, CertPath: h.cert, KeyPath: h.key,
		Reload: []string{"nginx", "-c", h.nginxConf, "-s", "reload"},
		Serve:  h.httpsAddr, Asset: a, Timeout: 30 * time.Second,
		Credential: ottr.Credential{"username": ottr.Secret(h.user), "private_key": ottr.Secret(h.clientKey)},
	}
}

func webAsset() *ottr.Asset {
	return &ottr.Asset{SystemName: "web.example.com", CommonName: "web.example.com",
		SubjectAlternativeName: []string{"web.example.com", "www.example.com"}, CertificateAuthority: "pebble", HostPlatform: "Ubuntu"}
}

func TestConformance(t *testing.T) {
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
			h.mu.Lock()
			for _, p := range h.procs {
				syscall.Kill(-p.Process.Pid, syscall.SIGKILL)
			}
			h.mu.Unlock()
			for _, d := range drivers {
				d.Close()
			}
		},
	})
}

// After a rotation through Pebble, nginx serves the new certificate.
func TestNginxServesPebbleCertificate(t *testing.T) {
	h := startHost(t)
	const zone = "acme.example.test"
	db, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir(), Sealer: mustSealer()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.Migrate(t.Context())
	srv := &ottrdns.Server{Zones: []string{zone}, Store: db}
	if err := srv.Listen(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	res := dnstest.Start(t)
	res.Delegate(zone, srv.Addr())
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
	served, err := execdriver.Served(ctx, h.httpsAddr, a.CommonName)
	if err != nil || !served[0].Equal(chain[0]) {
		t.Fatalf("nginx serves %v (%v), want the Pebble certificate %x", served[0].SerialNumber, err, chain[0].SerialNumber)
	}
	if served[0].Equal(before[0]) {
		t.Fatal("nginx still serves the old certificate")
	}
	// The key never left the host: only the host has it, 0600.
	st, err := os.Stat(h.key)
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
		cur, _ := execdriver.Served(ctx, h.httpsAddr, a.CommonName)
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
	_, port, _ := net.SplitHostPort(h.sshAddr)
	os.WriteFile(c.KnownHosts, []byte(fmt.Sprintf("[127.0.0.1]:%s %s", port, ssh.MarshalAuthorizedKey(op))), 0o600)
	d, _ = linux.New(c)
	if _, err := d.CSR(ctx, ottr.CSRRequest{CommonName: a.CommonName}); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !strings.Contains(err.Error(), "changed") {
		t.Errorf("changed host key: %v", err)
	}

	// Wrong key: permanent, and the error says nothing secret.
	_, wrong, _ := ed25519.GenerateKey(rand.Reader)
	blk, _ := ssh.MarshalPrivateKey(wrong, "")
	c = h.config(a)
	c.Credential = ottr.Credential{"username": ottr.Secret(h.user), "private_key": ottr.Secret(pem.EncodeToMemory(blk))}
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
