package chaos

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/panos"
	"github.com/ottr-dev/ottr/sim/resolver"
)

// zone is the delegate zone every device's _acme-challenge points into.
const zone = "acme.chaos.test"

// fleet is what the servers under test talk to: simulated PAN-OS
// firewalls, each in service with a certificate from an old internal CA;
// Pebble; and the recursive resolver that holds the devices'
// _acme-challenge CNAMEs and sends the delegate zone to the servers' DNS.
type fleet struct {
	dir     string
	pebble  *acmetest.Pebble
	res     *resolver.Resolver
	names   []string // system names, in order
	devices map[string]*panos.Device
	old     map[string]*x509.Certificate // the leaf each device served at first
}

// startFleet starts n firewalls that accept each of users (name →
// password), the resolver and Pebble, all on 127.0.0.1 and stopped when
// the test ends.
func startFleet(t testing.TB, n int, users map[string]string) *fleet {
	t.Helper()
	res, err := resolver.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(res.Close)
	p, err := acmetest.Start(acmetest.Options{Resolver: res.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	f := &fleet{dir: t.TempDir(), pebble: p, res: res, devices: map[string]*panos.Device{}, old: map[string]*x509.Certificate{}}
	oldCA := testpki.NewCA("Old Internal CA")
	userNames := slices.Sorted(func(yield func(string) bool) {
		for u := range users {
			if !yield(u) {
				return
			}
		}
	})
	for i := range n {
		name := fmt.Sprintf("fw%03d.example.com", i)
		d, err := panos.Start(userNames[0], users[userNames[0]])
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		for _, u := range userNames[1:] {
			d.AddUser(u, users[u])
		}
		csr, key := testpki.CSR(name, name)
		chain := oldCA.Sign(csr, 200*24*time.Hour)
		d.Preload("corp-mgmt", "corp-profile", key, chain)
		res.CNAME("_acme-challenge."+name, ottrdns.SuggestTarget(name, name, zone))
		f.names = append(f.names, name)
		f.devices[name] = d
		f.old[name] = chain[0]
	}
	return f
}

// writeFiles writes the route table, the inventory to import, and
// Pebble's roots, and returns their paths by name.
func (f *fleet) writeFiles(t testing.TB) map[string]string {
	t.Helper()
	paths := map[string]string{}
	write := func(name string, b []byte) {
		p := filepath.Join(f.dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		paths[name] = p
	}
	write("route.json", []byte(`{
  "platform": {"panos": {"os": {"10.2": {"certificate_authority": {"pebble": "otter-panos-10x-pebble"}, "model": ["PA-VM"]}}}},
  "certificate_authorities": ["pebble"]
}
`))
	var assets []*ottr.Asset
	for _, n := range f.names {
		// Not due for months: only the rotations the test asks for run,
		// so each asset is rotated exactly once.
		assets = append(assets, &ottr.Asset{SystemName: n, CommonName: n, SubjectAlternativeName: []string{n},
			CertificateAuthority: "pebble", CertificateExpiration: ottr.NewTime(f.old[n].NotAfter),
			// The old CA is not trusted here: pin the device's key on first
			// contact (the new certificate verifies against Pebble's root).
			CertificateValidation: false,
			HostPlatform:          "panos", OSVersion: "10.2.4", DeviceModel: "PA-VM", DataCenter: "DC1", Origin: ottr.OriginImport})
	}
	b, err := json.Marshal(assets)
	if err != nil {
		t.Fatal(err)
	}
	write("assets.json", b)
	write("pebble-tls.pem", f.pebble.TLSRootPEM)
	write("pebble-roots.pem", f.pebble.RootPEM())
	return paths
}

// settings is what one test varies in the configuration.
type settings struct {
	dataDir, database string
	credential        string // devices.platforms.panos.credential
	concurrency       int
	commitPoll        time.Duration
}

// config writes the ottr.yaml every server of a test shares and returns
// its path. dns.listen is left to each server's OTTR_DNS_LISTEN.
func (f *fleet) config(t testing.TB, s settings) string {
	t.Helper()
	files := f.writeFiles(t)
	var b strings.Builder
	fmt.Fprintf(&b, "data_dir: %s\n", s.dataDir)
	if s.database != "" {
		fmt.Fprintf(&b, "database: %q\n", s.database)
	}
	fmt.Fprintf(&b, `routes: %s
certificate_authorities:
  pebble: {directory: %q, directory_ca: %s, trusted_roots: %s, email: pki@example.com}
dns:
  zones: [%s]
  resolvers: [%q]
  propagation_timeout: 30s
router:
  interval: 1m
workers:
  concurrency: %d
  max_attempts: 20
  backoff: 500ms
  max_backoff: 5s
  step_timeout: 1m
devices:
  platforms:
    panos:
      driver: panos
      credential: %s
      settings: {commit_poll: %s, request_timeout: 20s}
  assets:
`, files["route.json"], f.pebble.Directory, files["pebble-tls.pem"], files["pebble-roots.pem"], zone, f.res.Addr,
		s.concurrency, s.credential, s.commitPoll)
	for _, n := range f.names {
		fmt.Fprintf(&b, "    %s: {address: %q}\n", n, f.devices[n].Addr)
	}
	b.WriteString("log: {level: info}\n")
	p := filepath.Join(f.dir, "ottr.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// served is the chain a device presents on its management interface now:
// what a browser or the next rotation sees.
func (f *fleet) served(name string) ([]*x509.Certificate, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", f.devices[name].Addr, &tls.Config{ServerName: name, InsecureSkipVerify: true}) //nolint:gosec // reads the certificate, sends nothing
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates, nil
}

// serialHex is a serial as Ottr records it.
func serialHex(n *big.Int) string { return fmt.Sprintf("%x", n) }
