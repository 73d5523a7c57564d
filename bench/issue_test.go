package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/bindtest"
	"github.com/ottr-dev/ottr/internal/dnstest"
)

// One issuance against a local Pebble, end to end as an operator runs it:
// the `ottr acme issue` binary, the lego CLI and certbot, each signing the
// same kind of CSR with DNS-01 answered in one BIND delegate zone through
// _acme-challenge CNAMEs. Pebble's VA resolves through a non-caching
// resolver that holds the CNAMEs and forwards the delegate zone to BIND.
// Every tool has its account registered before timing starts.

const issueZone = "acme.example.test"

type issueEnv struct {
	dir      string
	ottr     string // binary
	ottrConf string
	pebble   *acmetest.Pebble
	bind     *bindtest.Server
	res      *dnstest.Resolver
	tlsRoot  string
}

var (
	issueOnce sync.Once
	issueE    *issueEnv
	issueErr  error
)

func setupIssue(b *testing.B) *issueEnv {
	b.Helper()
	for _, tool := range []string{"named", "nsupdate", "lego", "certbot"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Skipf("%s not installed: apt-get install bind9 bind9-dnsutils lego certbot", tool)
		}
	}
	issueOnce.Do(func() { issueE, issueErr = newIssueEnv() })
	if issueErr != nil {
		b.Fatal(issueErr)
	}
	return issueE
}

func newIssueEnv() (*issueEnv, error) {
	dir, err := os.MkdirTemp("", "ottr-bench-issue-")
	if err != nil {
		return nil, err
	}
	e := &issueEnv{dir: dir}
	e.bind, err = bindtest.Launch(filepath.Join(dir, "bind"), bindtest.Options{}, issueZone)
	if err != nil {
		return nil, err
	}
	e.res = dnstest.StartDetached()
	e.res.Delegate(issueZone, e.bind.Addr)
	e.pebble, err = acmetest.Start(acmetest.Options{Resolver: e.res.Addr})
	if err != nil {
		return nil, err
	}
	e.tlsRoot = filepath.Join(dir, "pebble-tls-root.pem")
	os.WriteFile(e.tlsRoot, e.pebble.TLSRootPEM, 0o644)
	e.ottr = filepath.Join(dir, "ottr")
	if out, err := exec.Command("go", "build", "-o", e.ottr, "../cmd/ottr").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("build ottr: %v\n%s", err, out)
	}
	e.ottrConf = filepath.Join(dir, "ottr.yaml")
	os.WriteFile(e.ottrConf, fmt.Appendf(nil, `data_dir: %s
certificate_authorities:
  pebble: {directory: %s, directory_ca: %s}
dns:
  zones: [%s]
  resolvers: [%s]
  nameservers: [%s]
  providers:
    %s: {type: rfc2136, server: "%s", key_name: %s, secret: "%s", ttl: 1s}
`, filepath.Join(dir, "ottr-data"), e.pebble.Directory, e.tlsRoot, issueZone, e.res.Addr, e.bind.Addr,
		issueZone, e.bind.Addr, e.bind.KeyName, e.bind.Secret), 0o644)
	return e, nil
}

// csr writes a CSR for names (the first is the CN) and delegates each
// name's challenge to the CN's shared target, Ottr's scheme.
func (e *issueEnv) csr(b *testing.B, names ...string) string {
	b.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: names[0]}, DNSNames: names}, key)
	if err != nil {
		b.Fatal(err)
	}
	target := "_acme-challenge." + strings.SplitN(names[0], ".", 2)[0] + "." + issueZone
	for _, n := range names {
		e.res.CNAME("_acme-challenge."+n, target)
	}
	path := filepath.Join(e.dir, names[0]+fmt.Sprint(len(names))+".csr")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644)
	return path
}

func runTool(b *testing.B, cmd *exec.Cmd) {
	b.Helper()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
}

func (e *issueEnv) ottrCmd(csr string) *exec.Cmd {
	return exec.Command(e.ottr, "--config", e.ottrConf, "-q", "acme", "issue", "--ca", "pebble", "--csr", csr,
		"--out", filepath.Join(e.dir, "ottr-chain.pem"))
}

func (e *issueEnv) legoCmd(csr string) *exec.Cmd {
	cmd := exec.Command("lego", "--server", e.pebble.Directory, "--email", "pki@example.com", "--accept-tos",
		"--path", filepath.Join(e.dir, "lego"), "--dns", "rfc2136", "--dns.resolvers", e.res.Addr,
		// lego would ask the zone's NS on port 53; BIND listens elsewhere,
		// so lego checks through the resolver instead (which forwards to BIND).
		"--dns.disable-cp", "--csr", csr, "run")
	cmd.Env = append(os.Environ(),
		"LEGO_CA_CERTIFICATES="+e.tlsRoot,
		"LEGO_EXPERIMENTAL_CNAME_SUPPORT=true",
		"RFC2136_NAMESERVER="+e.bind.Addr,
		"RFC2136_TSIG_KEY="+e.bind.KeyName+".",
		"RFC2136_TSIG_ALGORITHM=hmac-sha256.",
		"RFC2136_TSIG_SECRET="+e.bind.Secret,
		"RFC2136_TTL=1",
	)
	return cmd
}

func (e *issueEnv) certbotCmd(b *testing.B, csr string) *exec.Cmd {
	// certbot's rfc2136 plugin writes at _acme-challenge.<name> and cannot
	// follow the CNAME, so manual hooks nsupdate the delegated target.
	hook := func(name, verb string) string {
		path := filepath.Join(e.dir, name)
		host, port, _ := strings.Cut(e.bind.Addr, ":")
		rhost, rport, _ := strings.Cut(e.res.Addr, ":")
		script := fmt.Sprintf(`#!/bin/sh
set -e
# Follow the name's CNAME to its delegated target, as an operator's hook would.
target=$(dig +short -p %s @%s CNAME "_acme-challenge.$CERTBOT_DOMAIN")
test -n "$target"
nsupdate -y "hmac-sha256:%s:%s" <<NSUP
server %s %s
zone %s.
update %s $target 1 TXT "$CERTBOT_VALIDATION"
send
NSUP
`, rport, rhost, e.bind.KeyName, e.bind.Secret, host, port, issueZone, verb)
		os.WriteFile(path, []byte(script), 0o700)
		return path
	}
	cb := filepath.Join(e.dir, "certbot")
	// certbot will not overwrite its output files.
	for _, f := range []string{"certbot-cert.pem", "certbot-fullchain.pem", "certbot-chain.pem"} {
		os.Remove(filepath.Join(e.dir, f))
	}
	cmd := exec.Command("certbot", "certonly", "--non-interactive", "--agree-tos", "-m", "pki@example.com",
		"--server", e.pebble.Directory, "--config-dir", cb, "--work-dir", cb, "--logs-dir", cb,
		"--manual", "--preferred-challenges", "dns",
		"--manual-auth-hook", hook("auth.sh", "add"), "--manual-cleanup-hook", hook("cleanup.sh", "delete"),
		"--csr", csr, "--cert-path", filepath.Join(e.dir, "certbot-cert.pem"),
		"--fullchain-path", filepath.Join(e.dir, "certbot-fullchain.pem"), "--chain-path", filepath.Join(e.dir, "certbot-chain.pem"))
	cmd.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+e.tlsRoot)
	cmd.Dir = e.dir
	return cmd
}

// BenchmarkIssue times one issuance per tool for a CSR with one name and
// for a CSR whose CN and SAN share one delegate target.
func BenchmarkIssue(b *testing.B) {
	e := setupIssue(b)
	cases := []struct {
		name  string
		names []string
	}{
		{"one-name", []string{"host1.example.com"}},
		{"cn+san-shared-target", []string{"host2.example.com", "host2-alt.example.com"}},
	}
	// Warm-up: register each tool's account once, outside the timing.
	warm := e.csr(b, "warm.example.com")
	runTool(b, e.ottrCmd(warm))
	runTool(b, e.legoCmd(warm))
	runTool(b, e.certbotCmd(b, warm))

	for _, tc := range cases {
		csr := e.csr(b, tc.names...)
		b.Run(tc.name+"/ottr", func(b *testing.B) {
			for range b.N {
				runTool(b, e.ottrCmd(csr))
			}
		})
		b.Run(tc.name+"/lego", func(b *testing.B) {
			for range b.N {
				runTool(b, e.legoCmd(csr))
			}
		})
		b.Run(tc.name+"/certbot", func(b *testing.B) {
			for range b.N {
				runTool(b, e.certbotCmd(b, csr))
			}
		})
	}
}
