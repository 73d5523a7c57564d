package discover_test

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/discover"
	"github.com/ottr-dev/ottr/internal/testpki"
	simbigip "github.com/ottr-dev/ottr/sim/bigip"
	simfortigate "github.com/ottr-dev/ottr/sim/fortigate"
	simjunos "github.com/ottr-dev/ottr/sim/junos"
	simlighthouse "github.com/ottr-dev/ottr/sim/lighthouse"
	simnetscaler "github.com/ottr-dev/ottr/sim/netscaler"
	simpanos "github.com/ottr-dev/ottr/sim/panos"
	simredfish "github.com/ottr-dev/ottr/sim/redfish"
	"github.com/ottr-dev/ottr/sim/tlsdir"
)

// target is the scan target of a simulator's address.
func target(t *testing.T, addr string) discover.Target {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return discover.Target{Host: host, Port: p}
}

// TestSimulators scans every simulated device and checks what it is
// called, why, and the certificate it serves: the platform Ottr would
// rotate it as, the product, the driver, and the chain's fields.
func TestSimulators(t *testing.T) {
	ca := testpki.NewCA("Discovery Test CA")
	type want struct {
		platform, product, driver, evidence string
		cn                                  string
		issuer                              string // a substring of the issuer
		trusted, selfSigned                 bool
	}
	type device struct {
		name  string
		start func(t *testing.T) (addr string, chainSerial string)
		want  want
	}
	devices := []device{
		{"PAN-OS", func(t *testing.T) (string, string) {
			d, err := simpanos.Start("admin", "Adm1n.Passw0rd")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			csr, key := testpki.CSR("fw01.example.com", "fw01.example.com", "fw01-mgmt.example.com")
			chain := ca.Sign(csr, 30*24*time.Hour)
			d.Preload("corp", "ottr", key, chain)
			return d.Addr, fmt.Sprintf("%x", chain[0].SerialNumber)
		}, want{platform: "panos", product: "PAN-OS", driver: "panos", evidence: "GET /api/", cn: "fw01.example.com", issuer: "Discovery Test CA", trusted: true}},
		{"BIG-IP", func(t *testing.T) (string, string) {
			d, err := simbigip.Start("admin", "Adm1n.Passw0rd", "clientssl-lb")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d.Addr, ""
		}, want{platform: "f5", product: "BIG-IP", driver: "bigip", evidence: `Basic realm="Enterprise Manager"`, cn: "localhost.localdomain", issuer: "MyCompany", selfSigned: true}},
		{"Lighthouse", func(t *testing.T) (string, string) {
			d, err := simlighthouse.Start("root", "Root.Passw0rd")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			csr, key := testpki.CSR("console01.example.com", "console01.example.com")
			chain := ca.Sign(csr, 20*24*time.Hour)
			d.Preload(key, chain)
			return d.Addr, fmt.Sprintf("%x", chain[0].SerialNumber)
		}, want{platform: "lighthouse", product: "Opengear Lighthouse", driver: "lighthouse", evidence: "Lighthouse REST error", cn: "console01.example.com", issuer: "Discovery Test CA", trusted: true}},
		{"Junos J-Web", func(t *testing.T) (string, string) {
			d, err := simjunos.Start("netops", "Netops.Passw0rd")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d.WebAddr, ""
		}, want{platform: "junos", product: "Junos J-Web", driver: "junos", evidence: "Juniper Web Device Manager", cn: "srx1", issuer: "Juniper Networks", selfSigned: true}},
		{"FortiGate", func(t *testing.T) (string, string) {
			d, err := simfortigate.Start("token-0123456789")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d.Addr, ""
		}, want{platform: "fortigate", product: "FortiGate", driver: "fortigate", evidence: "xxxxxxxx-xxxxx", cn: simfortigate.Serial, issuer: "Fortinet", selfSigned: true}},
		{"FortiGate SSL-VPN", func(t *testing.T) (string, string) {
			d, err := simfortigate.Start("token-0123456789")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d.VPNAddr, ""
		}, want{platform: "fortigate", product: "FortiGate SSL-VPN", driver: "fortigate", evidence: "/remote/login", cn: simfortigate.Serial, issuer: "Fortinet", selfSigned: true}},
		{"NetScaler", func(t *testing.T) (string, string) {
			d, err := simnetscaler.Start("nsroot", "Nsroot.Passw0rd", "vs_www")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			return d.Addr, ""
		}, want{platform: "netscaler", product: "NetScaler ADC", driver: "netscaler", evidence: "NITRO envelope", cn: "netscaler", issuer: "NetScaler", selfSigned: true}},
		{"tlsdir", func(t *testing.T) (string, string) {
			d, err := tlsdir.Start(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			csr, key := testpki.CSR("app1.example.com", "app1.example.com")
			chain := ca.Sign(csr, 10*24*time.Hour)
			keyPEM, _ := testpki.MarshalKey(key)
			if err := os.WriteFile(filepath.Join(d.Dir, "served.pem"), append(keyPEM, testpki.EncodeChain(chain)...), 0o600); err != nil {
				t.Fatal(err)
			}
			return d.Addr, fmt.Sprintf("%x", chain[0].SerialNumber)
		}, want{platform: "", product: ottr.ProductTLS, evidence: "no probe matched", cn: "app1.example.com", issuer: "Discovery Test CA", trusted: true}},
		{"nginx", func(t *testing.T) (string, string) {
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Server", "nginx/1.22.1")
				http.NotFound(w, r)
			}))
			srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.ServerCert("web.example.com")}}
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.Listener.Addr().String(), ""
		}, want{platform: "", product: ottr.ProductNginx, driver: "linux", evidence: "Server: nginx/1.22.1", cn: "localhost", issuer: "Discovery Test CA", trusted: true}},
	}
	for _, p := range []struct{ profile, platform, product string }{
		{"idrac", "idrac", "Dell iDRAC"}, {"ilo", "ilo", "HPE iLO"}, {"xcc", "xcc", "Lenovo XClarity Controller"},
		{"supermicro", "supermicro", "Supermicro BMC"}, {"openbmc", "redfish", "Redfish BMC"},
	} {
		devices = append(devices, device{"Redfish " + p.profile, func(t *testing.T) (string, string) {
			d, err := simredfish.Start("admin", "Adm1n.Passw0rd", simredfish.Options{Profile: simredfish.Profiles[p.profile]})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { d.Close() })
			csr, key := testpki.CSR("bmc-"+p.profile+".example.com", "bmc-"+p.profile+".example.com")
			chain := ca.Sign(csr, 20*24*time.Hour)
			d.Preload(key, chain)
			return d.Addr, fmt.Sprintf("%x", chain[0].SerialNumber)
		}, want{platform: p.platform, product: p.product, driver: "redfish", evidence: "Redfish service root", cn: "bmc-" + p.profile + ".example.com", issuer: "Discovery Test CA", trusted: true}})
	}
	for _, dev := range devices {
		t.Run(dev.name, func(t *testing.T) {
			t.Parallel()
			addr, serial := dev.start(t)
			s := &discover.Scanner{RootCAs: ca.Pool(), Timeout: 3 * time.Second}
			res, err := s.Scan(t.Context(), []discover.Target{target(t, addr)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Addresses != 1 || len(res.Endpoints) != 1 {
				t.Fatalf("scan of %s: %+v", addr, res)
			}
			ep := res.Endpoints[0]
			w := dev.want
			if ep.Error != "" || ep.Platform != w.platform || ep.Product != w.product || ep.Driver != w.driver || !strings.Contains(ep.Evidence, w.evidence) {
				t.Errorf("%s classified as platform %q product %q driver %q (%s), error %q; want %q %q %q with evidence %q",
					addr, ep.Platform, ep.Product, ep.Driver, ep.Evidence, ep.Error, w.platform, w.product, w.driver, w.evidence)
			}
			if ep.Address != addr || ep.IP != "127.0.0.1" || !strings.HasPrefix(ep.TLSVersion, "TLS 1.") {
				t.Errorf("address %q ip %q version %q", ep.Address, ep.IP, ep.TLSVersion)
			}
			c := ep.Certificate
			if c == nil {
				t.Fatal("no certificate recorded")
			}
			if c.CommonName != w.cn || !strings.Contains(c.Issuer, w.issuer) || c.Trusted != w.trusted || c.SelfSigned != w.selfSigned ||
				c.KeyType == "" || len(c.SHA256) != 64 || c.NotAfter.Before(time.Now()) || !c.NotBefore.Before(c.NotAfter) {
				t.Errorf("certificate %+v; want CN %q, issuer with %q, trusted %v, self-signed %v", c, w.cn, w.issuer, w.trusted, w.selfSigned)
			}
			if serial != "" && c.Serial != serial {
				t.Errorf("serial %s, want %s", c.Serial, serial)
			}
		})
	}
}
