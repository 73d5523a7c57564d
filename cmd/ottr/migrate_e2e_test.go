package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	bigipdriver "github.com/ottr-dev/ottr/driver/bigip"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/dnstest"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/internal/testtool"
	simbigip "github.com/ottr-dev/ottr/sim/bigip"
	simlighthouse "github.com/ottr-dev/ottr/sim/lighthouse"
	simpanos "github.com/ottr-dev/ottr/sim/panos"
	simssm "github.com/ottr-dev/ottr/sim/ssm"
)

// migrationData is an Ottr deployment's files as docs/migrating-from-ottr.md
// has them exported: the DynamoDB scan of the assets table and Ottr's
// route.json, byte for byte as Ottr ran with it. The users table and the
// signing key are made by the test (bcrypt hashes and tokens need
// Python's libraries, as Ottr made them).
const migrationData = "testdata/ottr-migration"

// ottrDeploymentSubject is the deployment's CSR fields (Ottr's Terraform
// variables country, state, locality, organization, organization_unit,
// email), given as csr.subject.
var ottrDeploymentSubject = ottr.Subject{Country: "US", State: "California", Locality: "San Francisco",
	Organization: "Example Inc", OrganizationalUnit: "Infrastructure Security", Email: "pki@example.com"}

// TestMigrateFromOttr plays docs/migrating-from-ottr.md end to end. An
// Ottr deployment's assets scan, users table, route.json and signing key
// are imported as the guide says; one device per otter-* recipe is left
// as Ottr left it (PAN-OS profile otter naming otter_panos_<date>; BIG-IP
// httpd's server.crt/key with Ottr's *.backup and otter.key/otter.csr
// still on the box; an SSM instance with /opt/otter/certs and hook
// directories; a Lighthouse). 'ottr serve' runs with a config that adds
// only what Ottr kept elsewhere: the CA, the DNS delegation, the device
// credentials, and where the SSM instance's / is. A token Ottr's key
// minted drives the API; every asset rotates in Ottr's places.
func TestMigrateFromOttr(t *testing.T) {
	start := time.Now()
	testtool.Need(t, "openssl", "openssl") // the SSM instance's commands
	testtool.Need(t, "bash", "bash")       // Ottr's hooks run with bash
	dir := t.TempDir()
	dataDir := filepath.Join(dir, "data")
	routes := filepath.Join(migrationData, "route.json")
	routesBefore, err := os.ReadFile(routes)
	if err != nil {
		t.Fatal(err)
	}

	// Ottr's signing key ({PREFIX}/otter/private_key), its users table
	// with bcrypt hashes, and tokens it would have issued.
	signingKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyFile := filepath.Join(dir, "otter-private-key.pem")
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(signingKey)}), 0o600)
	aliceHash, aliceToken := ottrMint(t, keyFile, "alice", "ADMIN", "Al1ce.Passw0rd", "4")
	bobHash, bobToken := ottrMint(t, keyFile, "bob", "DEVELOPER", "B0b!Passw0rd", "4")
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	otherKeyFile := filepath.Join(dir, "other-key.pem")
	writeFile(t, otherKeyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(otherKey)}), 0o600)
	_, forgedToken := ottrMint(t, otherKeyFile, "alice", "ADMIN", "Al1ce.Passw0rd", "4")
	users, _ := json.Marshal([]map[string]any{ // psql -At -c 'SELECT json_agg(u) FROM "user" u'
		{"username": "alice", "password": aliceHash, "role": "ADMIN", "timestamp": "2021-11-02T20:41:55.123456"},
		{"username": "bob", "password": bobHash, "role": "DEVELOPER", "timestamp": "2022-01-10T09:00:00"},
	})
	usersFile := filepath.Join(dir, "ottr-users.json")
	writeFile(t, usersFile, users, 0o600)

	// What Ottr kept outside its tables: the CA (Pebble stands in for
	// Let's Encrypt), the zone its challenges are delegated to, and the
	// production resolvers where the _acme-challenge CNAMEs are.
	const zone = "acme-delegate.example.net"
	res := dnstest.Start(t)
	dnsAddr := freeDNSPort(t)
	res.Delegate(zone, dnsAddr)
	pebble, err := acmetest.Start(acmetest.Options{Resolver: res.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pebble.Close() })
	writeFile(t, filepath.Join(dir, "directory-ca.pem"), pebble.TLSRootPEM, 0o644)
	// The BIG-IP's management port serves its leaf alone, as Ottr placed
	// it: the issuers that sign the CA's leaves are trusted too, or a
	// device Ottr rotated could not be verified. The old CA stands for
	// the issuer of the certificates Ottr installed.
	old := testpki.NewCA("Old Issuing CA")
	writeFile(t, filepath.Join(dir, "roots.pem"), slices.Concat(pebble.RootPEM(), pebble.IntermediatePEM(), old.PEM()), 0o644)

	// The devices, as Ottr left them.
	fw := startOttrFirewall(t, old)
	lb := startOttrBigIP(t, old)
	lh := startOttrLighthouse(t, old)
	host := startOttrSSMHost(t, old)

	cfg := filepath.Join(dir, "ottr.yaml")
	writeFile(t, cfg, fmt.Appendf(nil, `api:
  token_signing_key: %s
certificate_authorities:
  lets_encrypt:
    directory: %s
    directory_ca: %s
    trusted_roots: %s
    email: pki@example.com
dns: {listen: "%s", zones: [%s], resolvers: ["%s"]}
csr:
  subject: {country: US, state: California, locality: San Francisco, organization: Example Inc,
            organizational_unit: Infrastructure Security, email: pki@example.com}
workers: {max_attempts: 1}
devices:
  platforms:
    # Pebble refuses a request that names the host in the subject only,
    # which is all the Lighthouse API can ask for; Let's Encrypt accepted it.
    lighthouse:
      driver: lighthouse
      credential: lighthouse
      settings: {key_off_device: true}
    # The SSM instance's commands run on this machine: its / is a temp dir.
    Ubuntu:
      driver: ssm
      credential: Ubuntu
      settings:
        endpoint: %s
        poll: 50ms
        cert_path: %s
        key_path: %s
        leaf_path: %s
        ca_path: %s
        pre_hook: %s
        post_hook: %s
`, keyFile, pebble.Directory, filepath.Join(dir, "directory-ca.pem"), filepath.Join(dir, "roots.pem"), dnsAddr, zone, res.Addr,
		host.aws.URL, host.fullchain, host.key, host.leaf, host.ca, filepath.Join(host.hooks, "pre"), filepath.Join(host.hooks, "post")), 0o600)

	env := map[string]string{}
	cli := func(stdin string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		full := append([]string{"--config", cfg, "--data-dir", dataDir, "--routes", routes, "-q"}, args...)
		if err := run(t.Context(), full, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb); err != nil {
			t.Fatalf("ottr %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}
	cli("", "config", "check")

	// 1. Assets: Ottr's scan, as it is.
	cli("", "asset", "import", filepath.Join(migrationData, "otter-assets.json"))
	var imported []*ottr.Asset
	if err := json.Unmarshal([]byte(cli("", "asset", "list", "-o", "json")), &imported); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"fw01.example.com": "otter-panos-9x-lets-encrypt", "lb01.example.com": "otter-f5-14x-lets-encrypt",
		"console01.example.com": "otter-lighthouse-21x-lets-encrypt", "web01.example.com": "otter-linux-aws-ssm-lets-encrypt"}
	if got := names(imported); !slices.Equal(got, []string{"console01.example.com", "fw01.example.com", "lb01.example.com", "web01.example.com"}) {
		t.Fatalf("imported %v", got)
	}
	for name, recipe := range want {
		if out := cli("", "route", "explain", name); !strings.Contains(out, recipe) {
			t.Errorf("%s: Ottr's route.json does not send it to %s:\n%s", name, recipe, out)
		}
	}
	// Ottr reached every device on 443; these listen where the test could.
	for name, addr := range map[string]string{"fw01.example.com": fw.dev.Addr, "lb01.example.com": lb.dev.Addr,
		"console01.example.com": lh.dev.Addr, "web01.example.com": host.inst.Addr} {
		_, port, _ := net.SplitHostPort(addr)
		cli("", "asset", "update", name, "--port", port)
	}

	// 2. Users and 3. the signing key (api.token_signing_key above).
	cli("", "user", "import", usersFile)

	// 4. Device credentials, one set per platform as Ottr kept them.
	cli("username=ottr-api\npassword="+fw.password+"\n", "credential", "set", "panos")
	cli("username=admin\npassword="+lb.password+"\n", "credential", "set", "f5")
	cli("username=root\npassword="+lh.password+"\n", "credential", "set", "lighthouse")
	cli("access_key_id="+host.accessKey+"\nsecret_access_key="+host.secretKey+"\n", "credential", "set", "Ubuntu")

	// 5. DNS: the CNAMEs 'ottr dns records' prints, created where Ottr's
	// Route 53 records were.
	var dnsNames []string
	for _, as := range imported {
		var recs []struct{ Name, Target string }
		if err := json.Unmarshal([]byte(cli("", "dns", "records", as.SystemName, "-o", "json")), &recs); err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			res.CNAME(r.Name, r.Target)
		}
		dnsNames = append(dnsNames, as.Names()...)
	}
	if len(dnsNames) != 5 { // four common names and www.example.com
		t.Fatalf("names to delegate: %v", dnsNames)
	}
	cli("", append([]string{"dns", "check"}, dnsNames...)...)

	// 6. The server. Pebble's chains name no issuer organization, so
	// route.json's certificate_authority_organization (Let's Encrypt,
	// DigiCert) is dropped from the table the server holds in memory;
	// the file stays Ottr's.
	rt, err := readRouteTable(routes)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rt.CertificateAuthorityOrganization, []string{"Let's Encrypt", "DigiCert Inc"}) {
		t.Fatalf("route.json is not Ottr's: %v", rt.CertificateAuthorityOrganization)
	}
	rt.CertificateAuthorityOrganization = nil
	listen := freeDNSPort(t)
	base := "http://" + listen
	stop := serveInProcess(t, rt, "--config", cfg, "--data-dir", dataDir, "--routes", routes, "serve", "--listen", listen)
	defer stop()
	waitHealthy(t, base)

	api := func(method, path, token string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), method, base+path, nil)
		if token != "" {
			req.Header.Set("Authorization", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}

	// A token minted with Ottr's key is accepted; one minted with another
	// key is not; a DEVELOPER's cannot rotate. Ottr's passwords log in.
	if code, body := api("GET", "/admin/v1/users", "Bearer "+aliceToken); code != 200 || !strings.Contains(string(body), `"username":"bob"`) {
		t.Fatalf("Ottr's ADMIN token on GET /admin/v1/users: %d %s", code, body)
	}
	if code, body := api("GET", "/admin/v1/users", "Bearer "+forgedToken); code != 401 {
		t.Errorf("a token signed with another key: %d %s", code, body)
	}
	if code, body := api("POST", "/api/v1/certificate/rotate/web01.example.com", "Bearer "+bobToken); code != 403 {
		t.Errorf("Ottr's DEVELOPER token rotating: %d %s", code, body)
	}
	login, _ := http.Post(base+"/user/v1/authenticate", "application/json", strings.NewReader(`{"username":"bob","password":"B0b!Passw0rd"}`))
	var tok struct{ Token string }
	json.NewDecoder(login.Body).Decode(&tok)
	login.Body.Close()
	if login.StatusCode != 200 || !strings.HasPrefix(tok.Token, "Bearer ") {
		t.Errorf("bob's Ottr password: %d %q", login.StatusCode, tok.Token)
	}

	// Every asset rotates, asked for with Ottr's token as Ottr's clients ask.
	ids := map[string]string{}
	for name := range want {
		code, body := api("POST", "/api/v1/certificate/rotate/"+name, "Bearer "+aliceToken)
		var r struct{ ID string }
		if err := json.Unmarshal(body, &r); code != 202 || err != nil || r.ID == "" {
			t.Fatalf("rotate %s: %d %s", name, code, body)
		}
		ids[name] = r.ID
	}
	rots := map[string]*ottr.Rotation{}
	deadline := time.Now().Add(90 * time.Second)
	for name, id := range ids {
		for {
			code, body := api("GET", "/api/v1/rotations/"+id, "Bearer "+aliceToken)
			var r ottr.Rotation
			if code != 200 || json.Unmarshal(body, &r) != nil {
				t.Fatalf("rotation %s of %s: %d %s", id, name, code, body)
			}
			if !r.State.Live() {
				rots[name] = &r
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("rotation of %s still %s", name, r.State)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	failed := false
	for name, r := range rots {
		if r.State != ottr.StateSucceeded || r.Recipe != want[name] {
			failed = true
			t.Errorf("%s: %s (recipe %q, want %s): %s\n%s", name, r.State, r.Recipe, want[name], r.Error, rotationLog(r))
		}
	}
	if failed {
		t.FailNow()
	}

	// Each device serves the new certificate, made for a request with an
	// RSA-2048 key and the deployment's subject, in Ottr's places.
	for name, r := range rots {
		csr := parseCSR(t, r.CSR)
		if k, ok := csr.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
			t.Errorf("%s: request key %T, want RSA-2048 as Ottr's recipe", name, csr.PublicKey)
		}
		// The fields each Ottr container sent (docs/ottr-compat.md): PAN-OS
		// C, ST, L, O, OU; F5 ST, L, O, OU; Lighthouse and SSM all six.
		wantSubj := ottrDeploymentSubject
		switch name {
		case "fw01.example.com":
			wantSubj.Email = ""
		case "lb01.example.com":
			wantSubj.Country, wantSubj.Email = "", ""
		}
		s := csr.Subject
		got := ottr.Subject{Country: first(s.Country), State: first(s.Province), Locality: first(s.Locality),
			Organization: first(s.Organization), OrganizationalUnit: first(s.OrganizationalUnit), Email: subjectEmail(s.Names)}
		if s.CommonName != name || got != wantSubj {
			t.Errorf("%s: request subject CN=%s %+v, want CN=%s %+v", name, s.CommonName, got, name, wantSubj)
		}
	}
	servedSerial := func(name, addr string) string {
		t.Helper()
		leaf := servedLeaf(t, addr, name)
		if k, ok := leaf.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
			t.Errorf("%s serves a %T key, want RSA-2048", name, leaf.PublicKey)
		}
		return leaf.SerialNumber.Text(16)
	}
	for name, addr := range map[string]string{"fw01.example.com": fw.dev.Addr, "lb01.example.com": lb.dev.Addr,
		"console01.example.com": lh.dev.Addr, "web01.example.com": host.inst.Addr} {
		if got := servedSerial(name, addr); got != rots[name].NewSerial || got == rots[name].OldSerial {
			t.Errorf("%s serves serial %s; the rotation recorded %s (old %s)", name, got, rots[name].NewSerial, rots[name].OldSerial)
		}
	}
	fw.check(t, rots["fw01.example.com"])
	lb.check(t, rots["lb01.example.com"])
	host.check(t, rots["web01.example.com"])

	// The inventory records the new certificates, as Ottr's search shows.
	code, body := api("GET", "/api/v1/search?host_platform=f5", "Bearer "+aliceToken)
	var found []ottr.Asset
	if json.Unmarshal(body, &found); code != 200 || len(found) != 1 || found[0].CertificateSerial != rots["lb01.example.com"].NewSerial {
		t.Errorf("search after the rotation: %d %s", code, body)
	}
	if after, _ := os.ReadFile(routes); !bytes.Equal(after, routesBefore) {
		t.Error("route.json changed")
	}
	t.Logf("the migration, four rotations included, took %s", time.Since(start).Round(time.Millisecond))
}

// ottrFirewall is a PAN-OS firewall Ottr's otter-panos-9x recipe rotated:
// the SSL/TLS service profile otter on the management interface names a
// certificate otter_panos_<date>.
type ottrFirewall struct {
	dev      *simpanos.Device
	password string
}

const ottrPanosCert = "otter_panos_2021_09_14"

func startOttrFirewall(t *testing.T, old *testpki.CA) *ottrFirewall {
	t.Helper()
	f := &ottrFirewall{password: "Fw01.Api.Passw0rd"}
	dev, err := simpanos.Start("ottr-api", f.password)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	csr, key := testpki.CSR("fw01.example.com", "fw01.example.com")
	dev.Preload(ottrPanosCert, "otter", key, old.Sign(csr, 20*24*time.Hour))
	f.dev = dev
	return f
}

// check: the profile otter now names a new otter_panos_ certificate
// holding the new serial, and the management interface is bound to it.
func (f *ottrFirewall) check(t *testing.T, r *ottr.Rotation) {
	t.Helper()
	cert, _, _, ok := f.dev.RunningProfile("otter")
	if !ok || !strings.HasPrefix(cert, "otter_panos_") || cert == ottrPanosCert {
		t.Errorf("PAN-OS: profile otter names %q, want a new otter_panos_<date>", cert)
	}
	if _, _, _, ok := f.dev.RunningProfile("ottr"); ok {
		t.Error("PAN-OS: a profile ottr was made beside Ottr's otter")
	}
	certs, bound := f.dev.Running()
	if certs[ottrPanosCert] == nil {
		t.Errorf("PAN-OS: %s, the certificate replaced, is gone (a rollback needs it)", ottrPanosCert)
	}
	if bound != cert {
		t.Errorf("PAN-OS: the management interface is bound to %q, not through profile otter (%q)", bound, cert)
	}
	if c := certs[cert]; c == nil || c.Chain[0].SerialNumber.Text(16) != r.NewSerial {
		t.Errorf("PAN-OS: %s does not hold serial %s", cert, r.NewSerial)
	}
}

// ottrBigIP is a BIG-IP whose management GUI Ottr's otter-f5-14x recipe
// rotated: httpd serves Ottr's certificate from server.crt/server.key,
// the factory pair is in *.backup, and otter.key and otter.csr are still
// in sys crypto (Ottr removed them at the start of its next run).
type ottrBigIP struct {
	dev      *simbigip.Device
	password string
	ottrLeaf *x509.Certificate
}

func startOttrBigIP(t *testing.T, old *testpki.CA) *ottrBigIP {
	t.Helper()
	b := &ottrBigIP{password: "Lb01.Admin.Passw0rd"}
	dev, err := simbigip.Start("admin", b.password, "clientssl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	factoryCert, factoryKey := dev.File(simbigip.HTTPDCert), dev.File(simbigip.HTTPDKey)
	// Ottr's run: otter.key and otter.csr made on the box, the certificate
	// for them copied over httpd's pair after a backup.
	host, port, _ := net.SplitHostPort(dev.Addr)
	p, _ := strconv.Atoi(port)
	d, err := bigipdriver.New(bigipdriver.Config{Asset: &ottr.Asset{SystemName: "lb01.example.com", CommonName: "lb01.example.com",
		SubjectAlternativeName: []string{"lb01.example.com"}, HostPlatform: "f5", OSVersion: "14.1.0", IPAddress: host, Port: p},
		Credential: ottr.Credential{"username": "admin", "password": ottr.Secret(b.password)}})
	if err != nil {
		t.Fatal(err)
	}
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "lb01.example.com", DNSNames: []string{"lb01.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	key := dev.Key("/Common/otter.key")
	if key == nil || len(dev.CSRs()) == 0 {
		t.Fatal("Ottr's otter.key and otter.csr are not on the box")
	}
	chain := old.Sign(csr, 20*24*time.Hour)
	dev.WriteFile(simbigip.HTTPDCert+".backup", factoryCert)
	dev.WriteFile(simbigip.HTTPDKey+".backup", factoryKey)
	if err := dev.PreloadHTTPD(key, chain[:1]); err != nil {
		t.Fatal(err)
	}
	b.dev, b.ottrLeaf = dev, chain[0]
	return b
}

// check: server.crt holds the new leaf and server.key its key, the
// backup is the certificate Ottr had placed, and nothing of the run is
// left on the box.
func (b *ottrBigIP) check(t *testing.T, r *ottr.Rotation) {
	t.Helper()
	chain, err := ottr.ParseChain(b.dev.File(simbigip.HTTPDCert))
	if err != nil || len(chain) == 0 || chain[0].SerialNumber.Text(16) != r.NewSerial {
		t.Errorf("BIG-IP: %s holds %v (%v), want serial %s", simbigip.HTTPDCert, chain, err, r.NewSerial)
	} else if _, err := tls.X509KeyPair(b.dev.File(simbigip.HTTPDCert), b.dev.File(simbigip.HTTPDKey)); err != nil {
		t.Errorf("BIG-IP: server.crt and server.key are not a pair: %v", err)
	}
	if backup, _ := ottr.ParseChain(b.dev.File(simbigip.HTTPDCert + ".backup")); len(backup) == 0 || !backup[0].Equal(b.ottrLeaf) {
		t.Error("BIG-IP: server.crt.backup is not the certificate Ottr placed")
	}
	if b.dev.Key("/Common/otter.key") != nil || len(b.dev.CSRs()) > 0 || len(b.dev.Uploads()) > 0 {
		t.Errorf("BIG-IP: left on the box: otter.key %v, requests %v, uploads %v\n%s", b.dev.Key("/Common/otter.key") != nil, b.dev.CSRs(), b.dev.Uploads(), rotationLog(r))
	}
	if running, why, _ := b.dev.HTTPD(); !running {
		t.Errorf("BIG-IP: httpd is down: %s", why)
	}
}

// ottrLighthouse is a Lighthouse serving a certificate Ottr installed.
type ottrLighthouse struct {
	dev      *simlighthouse.Device
	password string
}

func startOttrLighthouse(t *testing.T, old *testpki.CA) *ottrLighthouse {
	t.Helper()
	l := &ottrLighthouse{password: "Console01.Root.Passw0rd"}
	dev, err := simlighthouse.Start("root", l.password)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	csr, key := testpki.CSR("console01.example.com", "console01.example.com")
	dev.Preload(key, old.Sign(csr, 20*24*time.Hour))
	l.dev = dev
	return l
}

// ottrSSMHost is an EC2 instance Ottr's otter-linux-aws-ssm recipe
// rotated, under a temp dir standing for its /: tagged Name=web01, its key
// and certificates in /opt/otter/certs, hook directories in
// /opt/otter/hooks whose scripts leave marker lines in /var/log.
type ottrSSMHost struct {
	aws                        *simssm.Service
	inst                       *simssm.Instance
	accessKey, secretKey       string
	certs, hooks, marks        string
	fullchain, key, leaf, ca   string
	oldSerial                  string
	ottrKey, ottrLeaf, ottrTop []byte
}

func startOttrSSMHost(t *testing.T, old *testpki.CA) *ottrSSMHost {
	t.Helper()
	root := t.TempDir()
	h := &ottrSSMHost{accessKey: "AKIAOTTRMIGRATION01", secretKey: "migration/secret/access/key"}
	h.certs, h.hooks = filepath.Join(root, "opt/otter/certs"), filepath.Join(root, "opt/otter/hooks")
	h.marks = filepath.Join(root, "var/log/otter-hooks.log")
	for _, d := range []string{h.certs, filepath.Join(h.hooks, "pre"), filepath.Join(h.hooks, "post"), filepath.Dir(h.marks)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	h.fullchain, h.key = filepath.Join(h.certs, "fullchain.cer"), filepath.Join(h.certs, "web01.example.com.key")
	h.leaf, h.ca = filepath.Join(h.certs, "web01.example.com.cer"), filepath.Join(h.certs, "ca.cer")
	csr, key := testpki.CSR("web01.example.com", "web01.example.com", "www.example.com")
	chain := old.Sign(csr, 20*24*time.Hour)
	keyPEM, _ := testpki.MarshalKey(key)
	// Ottr wrote the files with echo "<pem>" > path: a newline after each.
	h.ottrKey, h.ottrLeaf, h.ottrTop = keyPEM, append(ottr.EncodeChain(chain[:1]), '\n'), append(ottr.EncodeChain(chain[1:]), '\n')
	writeFile(t, h.key, h.ottrKey, 0o600)
	writeFile(t, h.fullchain, append(ottr.EncodeChain(chain), '\n'), 0o644)
	writeFile(t, h.leaf, h.ottrLeaf, 0o644)
	writeFile(t, h.ca, h.ottrTop, 0o644)
	h.oldSerial = opensslSerialOf(chain[0])

	hook := func(dir, name, body string, mode os.FileMode) {
		writeFile(t, filepath.Join(h.hooks, dir, name), []byte("#!/bin/bash\nLOG="+shellQuote(h.marks)+"\nCERTS="+shellQuote(h.certs)+"\n"+body+"\n"), mode)
	}
	serial := `$(openssl x509 -in "$CERTS/web01.example.com.cer" -noout -serial | cut -d= -f2)`
	// Ottr's placeholder (not executable: Ottr ran every *.sh with bash),
	// and a site's hooks; a file that is not a hook must not run.
	hook("pre", "template.sh", `echo "pre template" >> "$LOG"`, 0o644)
	hook("pre", "10-drain.sh", `echo "pre 10-drain serial=`+serial+`" >> "$LOG"`, 0o755)
	hook("pre", "README", `echo "README ran" >> "$LOG"`, 0o755)
	hook("post", "10-reload-nginx.sh", `echo "post 10-reload-nginx serial=`+serial+`" >> "$LOG"`, 0o755)
	hook("post", "20-notify.sh", `[[ -s "$CERTS/fullchain.cer" ]] && echo "post 20-notify chain=$(openssl x509 -in "$CERTS/fullchain.cer" -noout -serial | cut -d= -f2)" >> "$LOG"`, 0o644)

	h.aws = simssm.Start(h.accessKey, h.secretKey)
	t.Cleanup(h.aws.Close)
	inst, err := h.aws.AddInstance("web01", h.fullchain, h.key)
	if err != nil {
		t.Fatal(err)
	}
	h.inst = inst
	return h
}

// check: Ottr's four files hold the new pair, leaf and issuers, and the
// hooks ran in order, pre with the old serial and post with the new.
func (h *ottrSSMHost) check(t *testing.T, r *ottr.Rotation) {
	t.Helper()
	chain, err := ottr.ParseChain(mustReadFile(t, h.fullchain))
	if err != nil || len(chain) < 2 || chain[0].SerialNumber.Text(16) != r.NewSerial {
		t.Fatalf("SSM: fullchain.cer holds %d certificates (%v), want the new serial %s and its issuers", len(chain), err, r.NewSerial)
	}
	if got := mustReadFile(t, h.leaf); !bytes.Equal(got, ottr.EncodeChain(chain[:1])) {
		t.Errorf("SSM: web01.example.com.cer is not the new leaf:\n%s", got)
	}
	if got := mustReadFile(t, h.ca); !bytes.Equal(got, ottr.EncodeChain(chain[1:])) {
		t.Errorf("SSM: ca.cer is not the new issuers:\n%s", got)
	}
	if _, err := tls.X509KeyPair(mustReadFile(t, h.leaf), mustReadFile(t, h.key)); err != nil {
		t.Errorf("SSM: web01.example.com.key and .cer are not a pair: %v", err)
	}
	if bytes.Equal(mustReadFile(t, h.key), h.ottrKey) {
		t.Error("SSM: the key is still Ottr's")
	}
	newSerial := opensslSerialOf(chain[0])
	want := []string{"pre 10-drain serial=" + h.oldSerial, "pre template",
		"post 10-reload-nginx serial=" + newSerial, "post 20-notify chain=" + newSerial}
	if got := strings.Split(strings.TrimSpace(string(mustReadFile(t, h.marks))), "\n"); !slices.Equal(got, want) {
		t.Errorf("SSM: the hooks left\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// serveInProcess runs the ottr command line (serve) in this process with
// the route table rt already loaded, until stop is called.
func serveInProcess(t *testing.T, rt *ottr.RouteTable, args ...string) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	logs := &syncBuffer{}
	a := &app{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: logs, stderr: logs}
	a.routes = rt
	a.pollInterval = 50 * time.Millisecond
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(logs)
	root.SetErr(logs)
	done := make(chan error, 1)
	go func() {
		err := root.ExecuteContext(ctx)
		a.close()
		done <- err
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("ottr serve: %v\n%s", err, logs)
				}
			case <-time.After(40 * time.Second):
				t.Errorf("ottr serve did not stop\n%s", logs)
			}
			if t.Failed() {
				t.Logf("ottr serve's log:\n%s", logs)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func waitHealthy(t *testing.T, base string) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server never answered on %s: %v", base, err)
		}
	}
}

// servedLeaf is the leaf a TLS server presents to a client asking for name.
func servedLeaf(t *testing.T, addr, name string) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: true}) //nolint:gosec // reading what is served
	if err != nil {
		t.Fatalf("%s at %s: %v", name, addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

func parseCSR(t *testing.T, p string) *x509.CertificateRequest {
	t.Helper()
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		t.Fatalf("the rotation recorded no CSR: %q", p)
	}
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func rotationLog(r *ottr.Rotation) string {
	var b strings.Builder
	for _, l := range r.Log {
		fmt.Fprintf(&b, "  %-9s %-5s %s\n", l.Step, l.Level, l.Message)
	}
	return b.String()
}

// subjectEmail is the emailAddress attribute of a subject, Ottr's email.
func subjectEmail(names []pkix.AttributeTypeAndValue) string {
	for _, n := range names {
		if n.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}) {
			return fmt.Sprint(n.Value)
		}
	}
	return ""
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// opensslSerialOf is a serial as openssl x509 -serial prints it: upper
// case hex, an even number of digits.
func opensslSerialOf(c *x509.Certificate) string {
	s := strings.ToUpper(c.SerialNumber.Text(16))
	if len(s)%2 == 1 {
		s = "0" + s
	}
	return s
}

func writeFile(t *testing.T, p string, b []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, b, mode); err != nil {
		t.Fatal(err)
	}
}

func mustReadFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
