package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/bindtest"
	"github.com/ottr-dev/ottr/internal/dnstest"
)

const testZone = "acme.example.test"

// freeDNSPort returns a 127.0.0.1 port free for both UDP and TCP just now.
func freeDNSPort(t *testing.T) string {
	t.Helper()
	pc, ln, err := ottrdns.ListenPair("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	pc.Close()
	ln.Close()
	return pc.LocalAddr().String()
}

// acmeCLI is a CLI with a config file naming an in-process Pebble, a
// resolver holding the production zones' CNAMEs, and the built-in DNS
// server (started by the commands) for the delegate zone.
func acmeCLI(t *testing.T) (*cli, *dnstest.Resolver, string) {
	t.Helper()
	c := newCLI(t)
	res := dnstest.Start(t)
	dnsAddr := freeDNSPort(t)
	res.Delegate(testZone, dnsAddr)
	p, err := acmetest.Start(acmetest.Options{Resolver: res.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	dir := t.TempDir()
	dirCA := filepath.Join(dir, "directory-ca.pem")
	roots := filepath.Join(dir, "roots.pem")
	os.WriteFile(dirCA, p.TLSRootPEM, 0o644)
	os.WriteFile(roots, p.RootPEM(), 0o644)
	cfg := filepath.Join(dir, "ottr.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `
certificate_authorities:
  pebble:
    directory: %s
    email: pki@example.com
    directory_ca: %s
    trusted_roots: %s
dns:
  listen: %s
  zones: [%s]
  resolvers: [%s]
`, p.Directory, dirCA, roots, dnsAddr, testZone, res.Addr), 0o644)
	return c, res, cfg
}

func writeCSR(t *testing.T, cn string, sans ...string) string {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: sans}, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "req.csr")
	os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644)
	return path
}

func TestACMEIssueCommand(t *testing.T) {
	c, res, cfg := acmeCLI(t)
	cn := "fw01.example.com"
	res.CNAME("_acme-challenge."+cn, "_acme-challenge.fw01."+testZone)
	res.CNAME("_acme-challenge.fw01-mgmt.example.com", "_acme-challenge.fw01."+testZone)
	csr := writeCSR(t, cn, cn, "fw01-mgmt.example.com")
	out := filepath.Join(t.TempDir(), "chain.pem")

	_, stderr, err := c.run("", "--config", cfg, "acme", "issue", "--ca", "pebble", "--csr", csr, "--out", out)
	if err != nil {
		t.Fatalf("acme issue: %v\n%s", err, stderr)
	}
	for _, w := range []string{"dns: serving " + testZone, "acme: issued serial", "chain written to"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("progress lacks %q:\n%s", w, stderr)
		}
	}
	b, _ := os.ReadFile(out)
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatalf("no PEM in %s", out)
	}
	leaf, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(leaf.DNSNames)
	if !slices.Equal(leaf.DNSNames, []string{"fw01-mgmt.example.com", cn}) {
		t.Errorf("leaf names %v", leaf.DNSNames)
	}
	// The master key was created beside the database, owner-only.
	st, err := os.Stat(filepath.Join(c.dataDir, "master.key"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("master.key: %v %v", st, err)
	}

	// Failure: a name without delegation, with the reason and no chain.
	bad := writeCSR(t, "nodeleg.example.com", "nodeleg.example.com")
	stdout, stderr, err := c.run("", "--config", cfg, "acme", "issue", "--ca", "pebble", "--csr", bad)
	if err == nil || exitCode(err) != 1 || stdout != "" {
		t.Fatalf("undelegated name: err %v, stdout %q", err, stdout)
	}
	if !strings.Contains(stderr, "_acme-challenge.nodeleg.example.com has no CNAME") {
		t.Errorf("stderr lacks the reason:\n%s", stderr)
	}
	// Usage errors exit 2.
	if _, _, err := c.run("", "--config", cfg, "acme", "issue", "--csr", bad); exitCode(err) != 2 {
		t.Errorf("missing --ca: exit %d", exitCode(err))
	}
	if _, stderr, err := c.run("", "--config", cfg, "acme", "issue", "--ca", "pebble", "--csr", cfg); err == nil || !strings.Contains(stderr, "not a certificate request") {
		t.Errorf("not a CSR: %v %s", err, stderr)
	}
}

func TestDNSCheckAndRecords(t *testing.T) {
	c, res, cfg := acmeCLI(t)
	res.CNAME("_acme-challenge.fw01.example.com", "_acme-challenge.fw01."+testZone)
	res.CNAME("_acme-challenge.bad.example.com", "_acme-challenge.bad.other.example.net")

	out := c.ok("--config", cfg, "dns", "check", "fw01.example.com", "-o", "json")
	var results []checkResult
	if err := json.Unmarshal([]byte(out), &results); err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || !results[0].OK || results[0].Zone != testZone || len(results[0].Chain) != 2 {
		t.Errorf("check = %+v", results)
	}
	stdout, stderr, err := c.run("", "--config", cfg, "dns", "check", "fw01.example.com", "bad.example.com", "none.example.com")
	if exitCode(err) != 1 {
		t.Fatalf("exit %d, want 1", exitCode(err))
	}
	for _, w := range []string{"fw01.example.com", "yes", "bad.example.com", "NO", "ends outside the delegate zones", "none.example.com has no CNAME"} {
		if !strings.Contains(stdout+stderr, w) {
			t.Errorf("output lacks %q:\n%s%s", w, stdout, stderr)
		}
	}
	if _, _, err := c.run("", "--config", cfg, "dns", "check", "not a name"); exitCode(err) != 2 {
		t.Errorf("bad name: exit %d", exitCode(err))
	}

	c.ok("--config", cfg, "asset", "add", "fw01.dc1.example.com", "--common-name", "fw01.dc1.example.com",
		"--san", "fw01.dc1.example.com,vpn.example.com", "--host-platform", "panos", "--certificate-authority", "lets_encrypt")
	zoneFile := c.ok("--config", cfg, "dns", "records", "fw01.dc1.example.com")
	for _, w := range []string{
		"_acme-challenge.fw01.dc1.example.com.\t3600\tIN\tCNAME\t_acme-challenge.fw01.dc1." + testZone + ".",
		"_acme-challenge.vpn.example.com.\t3600\tIN\tCNAME\t_acme-challenge.fw01.dc1." + testZone + ".",
	} {
		if !strings.Contains(zoneFile, w) {
			t.Errorf("records lack %q:\n%s", w, zoneFile)
		}
	}
	if _, _, err := c.run("", "--config", cfg, "dns", "records", "nope"); exitCode(err) != exitNotFound {
		t.Errorf("unknown asset: exit %d", exitCode(err))
	}
}

func TestMasterKeyMode(t *testing.T) {
	c := newCLI(t)
	// A command that writes makes the key; one that reads never does.
	c.ok("asset", "list")
	path := filepath.Join(c.dataDir, "master.key")
	if _, err := os.Stat(path); err == nil {
		t.Error("asset list made a master key")
	}
	c.ok("migrate")
	os.Chmod(path, 0o644)
	_, stderr, err := c.run("", "asset", "list")
	if err == nil || !strings.Contains(stderr, "mode 0644") {
		t.Errorf("loose master key mode accepted: %v %s", err, stderr)
	}
	c.env["OTTR_MASTER_KEY"] = "tooshort"
	if _, stderr, err := c.run("", "asset", "list"); err == nil || !strings.Contains(stderr, "OTTR_MASTER_KEY") {
		t.Errorf("bad OTTR_MASTER_KEY accepted: %v %s", err, stderr)
	}
}

// The delegate zone lives on a real BIND, written by RFC 2136 updates.
func TestACMEIssueRFC2136(t *testing.T) {
	bind := bindtest.Start(t, bindtest.Options{}, testZone)
	c := newCLI(t)
	res := dnstest.Start(t)
	res.Delegate(testZone, bind.Addr)
	p, err := acmetest.Start(acmetest.Options{Resolver: res.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	dir := t.TempDir()
	dirCA := filepath.Join(dir, "directory-ca.pem")
	os.WriteFile(dirCA, p.TLSRootPEM, 0o644)
	cfg := filepath.Join(dir, "ottr.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `
certificate_authorities:
  pebble: {directory: %s, directory_ca: %s}
dns:
  zones: [%s]
  resolvers: [%s]
  nameservers: [%s]
  providers:
    %s: {type: rfc2136, server: "%s", key_name: %s, secret: "%s"}
`, p.Directory, dirCA, testZone, res.Addr, bind.Addr, testZone, bind.Addr, bind.KeyName, bind.Secret), 0o644)
	cn := "lb01.example.com"
	res.CNAME("_acme-challenge."+cn, "_acme-challenge.lb01."+testZone)
	res.CNAME("_acme-challenge.www.example.com", "_acme-challenge.lb01."+testZone)
	csr := writeCSR(t, cn, cn, "www.example.com")
	out, stderr, err := c.run("", "--config", cfg, "acme", "issue", "--ca", "pebble", "--csr", csr)
	if err != nil {
		t.Fatalf("acme issue: %v\n%s\nnamed:\n%s", err, stderr, bind.Log())
	}
	if !strings.Contains(out, "BEGIN CERTIFICATE") {
		t.Errorf("stdout has no chain: %q", out)
	}
	if vals, _ := bind.TXT("_acme-challenge.lb01." + testZone); len(vals) != 0 {
		t.Errorf("TXT left on BIND: %v", vals)
	}
	if strings.Contains(stderr, bind.Secret) {
		t.Error("TSIG secret in the output")
	}

	// A misconfigured provider is reported with its field.
	os.WriteFile(cfg, fmt.Appendf(nil, "dns:\n  zones: [%s]\n  providers:\n    %s: {type: rfc2136, server: nope}\n    other.test: {type: carrier-pigeon}\n", testZone, testZone), 0o644)
	_, stderr, err = c.run("", "--config", cfg, "dns", "check", "x.example.com")
	for _, w := range []string{"dns.providers." + testZone + ".server", "dns.providers." + testZone + ".key_name", "dns.providers.other.test: is not one of dns.zones", `"carrier-pigeon" is not one of rfc2136, cloudflare, route53`} {
		if !strings.Contains(stderr, w) {
			t.Errorf("config error lacks %q:\n%s", w, stderr)
		}
	}
	if err == nil {
		t.Error("bad provider config accepted")
	}
}
