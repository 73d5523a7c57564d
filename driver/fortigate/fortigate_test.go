package fortigate_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/driver/fortigate"
	"github.com/ottr-dev/ottr/internal/rotatetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	simfortigate "github.com/ottr-dev/ottr/sim/fortigate"
)

const token = "y7Qz5fGh1kq3N0x8bHw6r4mJcTp2sV"

func fgAsset() *ottr.Asset {
	return &ottr.Asset{SystemName: "fgt01.example.com", CommonName: "fgt01.example.com",
		SubjectAlternativeName: []string{"fgt01.example.com", "vpn.example.com"}, HostPlatform: "fortigate", OSVersion: "7.4.4",
		CertificateAuthority: "pebble", CertificateValidation: false}
}

func start(t *testing.T) *simfortigate.Device {
	t.Helper()
	dev, err := simfortigate.Start(token)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

// config is the driver's configuration for dev, polling quickly.
func config(dev *simfortigate.Device) fortigate.Config {
	return fortigate.Config{Address: dev.Addr, Asset: fgAsset(), Credential: ottr.Credential{"api_token": token},
		ServePoll: 10 * time.Millisecond, ServeTimeout: 5 * time.Second}
}

func open(t *testing.T, c fortigate.Config) *fortigate.Driver {
	t.Helper()
	d, err := fortigate.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func newDriver(t *testing.T, dev *simfortigate.Device) *fortigate.Driver {
	t.Helper()
	return open(t, config(dev))
}

func TestConformance(t *testing.T) {
	t.Parallel()
	var dev *simfortigate.Device
	drivertest.Run(t, drivertest.Harness{
		New: func(t *testing.T) ottr.Driver {
			dev = start(t)
			return newDriver(t, dev)
		},
		CommonName: "fgt01.example.com",
		SANs:       []string{"fgt01.example.com", "vpn.example.com"},
		KeyTypes:   []string{"p256", "p384", "rsa2048"},
		Break:      func(*testing.T) { dev.Close() },
	})
}

type keyed struct {
	key   crypto.Signer
	chain []*x509.Certificate
}

func leaf(t *testing.T, ca *testpki.CA, cn string) keyed {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{cn}}, key)
	csr, _ := x509.ParseCertificateRequest(der)
	return keyed{key, ca.Sign(csr, 30*24*time.Hour)}
}

// preloaded is a FortiGate in service: a certificate from the company CA
// ("corp-gui", which Ottr did not make) bound to the administration port
// and to the SSL-VPN portal.
func preloaded(t *testing.T, ca *testpki.CA) (*simfortigate.Device, []*x509.Certificate) {
	t.Helper()
	dev := start(t)
	old := leaf(t, ca, "fgt01.example.com")
	dev.Preload("corp-gui", old.key, old.chain)
	if err := dev.Bind("corp-gui", "corp-gui"); err != nil {
		t.Fatal(err)
	}
	return dev, old.chain
}

// leafAt is the certificate a TLS server presents.
func leafAt(t *testing.T, addr string) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading what is served
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

var fgReq = ottr.CSRRequest{CommonName: "fgt01.example.com", DNSNames: []string{"fgt01.example.com", "vpn.example.com"}}

// install has the FortiGate make a request and installs a CA-signed chain
// for it, returning the chain.
func install(t *testing.T, d *fortigate.Driver, ca *testpki.CA) ([]*x509.Certificate, error) {
	t.Helper()
	csr, err := d.CSR(t.Context(), fgReq)
	if err != nil {
		t.Fatalf("CSR: %v", err)
	}
	chain := ca.Sign(csr, 24*time.Hour)
	return chain, d.Install(t.Context(), chain)
}

func ours(certs map[string]simfortigate.Cert) []string {
	var out []string
	for n := range certs {
		if strings.HasPrefix(n, "ottr-") {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// TestPebbleRotation runs a whole rotation against the simulated
// FortiGate: key and request on the device, Pebble through DNS-01,
// import, admin-server-cert, verify by TLS handshake, record.
func TestPebbleRotation(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, ca)
	env := rotatetest.New(t, "fgt01.example.com", "vpn.example.com")
	a := fgAsset()
	opener := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
		c := config(dev)
		c.Asset = a
		return fortigate.New(c)
	}
	rot, err := env.Rotate(t, a, dev.Addr, opener)
	if err != nil || rot.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
	}
	chain, err := newDriver(t, dev).Current(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	now := chain[0]
	if now.Equal(old[0]) || now.SerialNumber.Text(16) != rot.NewSerial {
		t.Fatalf("the FortiGate serves %x, the rotation recorded %s", now.SerialNumber, rot.NewSerial)
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	for _, name := range []string{"fgt01.example.com", "vpn.example.com"} {
		if _, err := now.Verify(x509.VerifyOptions{Roots: env.Roots, Intermediates: inter, DNSName: name}); err != nil {
			t.Errorf("the served chain does not verify for %s against Pebble: %v", name, err)
		}
	}
	admin, vpn := dev.Bindings()
	certs := dev.Certificates()
	if !strings.HasPrefix(admin, "ottr-") || certs[admin].Range != "global" || certs[admin].CSR != nil {
		t.Errorf("admin-server-cert %q: %+v", admin, certs[admin])
	}
	if _, ok := certs[admin].Key.(*ecdsa.PublicKey); ok {
		t.Errorf("the key is ECDSA; the default is RSA 2048")
	}
	if vpn != "corp-gui" || certs["corp-gui"].Chain == nil {
		t.Errorf("the SSL-VPN binding (not configured) moved to %q, or the company certificate went", vpn)
	}
	stored, _ := env.DB.GetAsset(t.Context(), a.SystemName)
	if stored.CertificateExpiration == nil || !stored.CertificateExpiration.Equal(now.NotAfter) {
		t.Errorf("asset expiry %v, served %v", stored.CertificateExpiration, now.NotAfter)
	}
	log := rotatetest.Log(rot)
	for _, want := range []string{"generated key and request", "imported the chain into", "admin-server-cert (admin) now names", "serves serial"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	calls := strings.Join(dev.Calls(), "\n")
	for _, want := range []string{"POST /api/v2/monitor/vpn-certificate/csr/generate", "POST /api/v2/monitor/vpn-certificate/local/import",
		"PUT /api/v2/cmdb/system/global"} {
		if !strings.Contains(calls, want) {
			t.Errorf("calls lack %q:\n%s", want, calls)
		}
	}
	if strings.Contains(calls, token) || strings.Contains(log, token) {
		t.Error("the API token reached a call or the rotation log")
	}
}

// TestFailedRotations runs whole rotations against a faulty FortiGate:
// each ends failed with the device's reason on the rotation and the asset,
// and the FortiGate still serves its previous certificate.
func TestFailedRotations(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	for _, tc := range []struct {
		name   string
		faults simfortigate.Faults
		want   string
	}{
		{"bad token", simfortigate.Faults{RevokeTokens: true}, "API token was refused"},
		{"error body on import", simfortigate.Faults{ErrorOn: "local/import", Code: -4, CLIError: "Maximum number of entries has been reached.\nCommand fail. Return code -4\n"},
			"Maximum number of entries has been reached"},
		{"connection dropped during import", simfortigate.Faults{DropImport: true}, "local/import"},
		{"request without every name", simfortigate.Faults{DropSANs: true}, "leaves out vpn.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, old := preloaded(t, ca)
			dev.SetFaults(tc.faults)
			env := rotatetest.New(t, "fgt01.example.com", "vpn.example.com")
			opener := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
				c := config(dev)
				c.Asset = a
				return fortigate.New(c)
			}
			env.Failed(t, fgAsset(), dev.Addr, opener, tc.want, old[0], func() (*x509.Certificate, error) {
				return leafAt(t, dev.Addr), nil
			})
			if admin, vpn := dev.Bindings(); admin != "corp-gui" || vpn != "corp-gui" {
				t.Errorf("bindings %q, %q after the failed rotation", admin, vpn)
			}
		})
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")

	t.Run("a bad token is permanent and never repeated", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		c := config(dev)
		c.Credential = ottr.Credential{"api_token": "WrongToken0123456789abcdefghij"}
		_, err := open(t, c).CSR(t.Context(), fgReq)
		if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !ottr.IsPermanent(err) || !strings.Contains(err.Error(), "HTTP 401") ||
			strings.Contains(err.Error(), "WrongToken") {
			t.Errorf("wrong token: %v", err)
		}
		dev.SetFaults(simfortigate.Faults{RevokeTokens: true})
		err = newDriver(t, dev).Install(t.Context(), leaf(t, ca, "fgt01.example.com").chain)
		if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || strings.Contains(err.Error(), token) {
			t.Errorf("revoked token: %v", err)
		}
	})

	t.Run("a refused permission is permanent", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		dev.SetFaults(simfortigate.Faults{ErrorOn: "csr/generate", Status: 403})
		_, err := newDriver(t, dev).CSR(t.Context(), fgReq)
		if ottr.ErrorCode(err) != ottr.EFORBIDDEN || !ottr.IsPermanent(err) || !strings.Contains(err.Error(), "profile") {
			t.Errorf("403: %v", err)
		}
	})

	for _, tc := range []struct {
		name   string
		faults simfortigate.Faults
		want   string
	}{
		{"error body on import", simfortigate.Faults{ErrorOn: "local/import", Code: -4,
			CLIError: "Maximum number of entries has been reached.\nCommand fail. Return code -4\n"}, "error -4: Maximum number of entries has been reached.; Command fail. Return code -4"},
		{"binding refused", simfortigate.Faults{ErrorOn: "PUT /api/v2/cmdb/system/global", Code: -651,
			CLIError: "node_check_object fail! for admin-server-cert\nCommand fail. Return code -651\n"}, "error -651 (invalid value): node_check_object fail!"},
		{"connection dropped during import", simfortigate.Faults{DropImport: true}, "POST monitor/vpn-certificate/local/import"},
		{"answer lost after the import", simfortigate.Faults{DropImportAnswer: true}, "POST monitor/vpn-certificate/local/import"},
		{"httpsd never restarts in time", simfortigate.Faults{RestartFor: time.Hour}, "not served"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dev, old := preloaded(t, ca)
			c := config(dev)
			c.ServeTimeout = 300 * time.Millisecond
			csr, err := open(t, c).CSR(t.Context(), fgReq)
			if err != nil {
				t.Fatal(err)
			}
			chain := ca.Sign(csr, time.Hour)
			dev.SetFaults(tc.faults)
			err = open(t, c).Install(t.Context(), chain)
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			dev.SetFaults(simfortigate.Faults{})
			if admin, _ := dev.Bindings(); admin != "corp-gui" {
				t.Errorf("admin-server-cert %q after the failure", admin)
			}
			if now := leafAt(t, dev.Addr); !now.Equal(old[0]) {
				t.Errorf("serves %x after the failure, want the old %x", now.SerialNumber, old[0].SerialNumber)
			}
			// Once the device recovers, a new driver's retry goes through.
			if err := newDriver(t, dev).Install(t.Context(), chain); err != nil {
				t.Fatalf("retry after recovery: %v", err)
			}
			if now := leafAt(t, dev.Addr); !now.Equal(chain[0]) {
				t.Errorf("serves %x after the retry", now.SerialNumber)
			}
		})
	}

	t.Run("a slow httpsd restart is waited for", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		dev.SetFaults(simfortigate.Faults{RestartFor: 300 * time.Millisecond})
		chain, err := install(t, newDriver(t, dev), ca)
		if err != nil {
			t.Fatal(err)
		}
		if !leafAt(t, dev.Addr).Equal(chain[0]) {
			t.Error("not served after the restart")
		}
	})

	t.Run("a request without every name is refused and deleted", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		dev.SetFaults(simfortigate.Faults{DropSANs: true})
		d := newDriver(t, dev)
		_, err := d.CSR(t.Context(), fgReq)
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "vpn.example.com") {
			t.Errorf("dropped SAN: %v", err)
		}
		if o := ours(dev.Certificates()); len(o) != 0 {
			t.Errorf("the refused request is left: %v", o)
		}
	})

	t.Run("a chain for a key the FortiGate lacks is refused", func(t *testing.T) {
		dev, _ := preloaded(t, ca)
		d := newDriver(t, dev)
		if _, err := d.CSR(t.Context(), fgReq); err != nil { // a pending request, for another key
			t.Fatal(err)
		}
		err := d.Install(t.Context(), leaf(t, ca, "fgt01.example.com").chain)
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "no key on the FortiGate") {
			t.Errorf("foreign key: %v", err)
		}
		for _, c := range dev.Calls() {
			if strings.Contains(c, "import") || strings.HasPrefix(c, "PUT") {
				t.Errorf("the device was changed: %s", c)
			}
		}
	})
}
