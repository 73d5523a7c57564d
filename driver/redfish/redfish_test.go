package redfish_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/driver/redfish"
	"github.com/ottr-dev/ottr/internal/testpki"
	simredfish "github.com/ottr-dev/ottr/sim/redfish"
)

const (
	user = "ottr-rotator"
	pass = "BMC.Passw0rd-9"
)

func bmcAsset() *ottr.Asset {
	return &ottr.Asset{SystemName: "bmc01.example.com", CommonName: "bmc01.example.com",
		SubjectAlternativeName: []string{"bmc01.example.com", "ipmi01.example.com"}, HostPlatform: "redfish",
		CertificateAuthority: "pebble", CertificateValidation: false}
}

func start(t *testing.T, profile string) *simredfish.Device {
	t.Helper()
	dev, err := simredfish.Start(user, pass, simredfish.Options{Profile: simredfish.Profiles[profile], Restart: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

func config(dev *simredfish.Device) redfish.Config {
	return redfish.Config{Address: dev.Addr, Asset: bmcAsset(), TaskPoll: 5 * time.Millisecond, ServePoll: 20 * time.Millisecond,
		ServeTimeout: 10 * time.Second, Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}}
}

func newDriver(t *testing.T, c redfish.Config) *redfish.Driver {
	t.Helper()
	d, err := redfish.New(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestConformance runs the conformance suite against every vendor
// profile: each makes its keys, installs its own way and serves the new
// certificate (after a reset on iDRAC, after its own restart on iLO,
// through a task on XCC, by POST to the collection on Supermicro).
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, p := range []struct {
		name string
		keys []string
	}{
		{"openbmc", []string{"p256", "p384", "rsa2048"}},
		{"idrac", []string{"rsa2048"}},
		{"ilo", []string{"p256", "rsa2048"}},
		{"xcc", []string{"p384", "rsa2048"}},
		{"supermicro", []string{"p256", "rsa2048"}},
	} {
		t.Run(p.name, func(t *testing.T) {
			var dev *simredfish.Device
			drivertest.Run(t, drivertest.Harness{
				New: func(t *testing.T) ottr.Driver {
					dev = start(t, p.name)
					return newDriver(t, config(dev))
				},
				CommonName: "bmc01.example.com",
				SANs:       []string{"bmc01.example.com", "ipmi01.example.com"},
				KeyTypes:   p.keys,
				Break:      func(*testing.T) { dev.Close() },
			})
		})
	}
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

// preloaded is a BMC in service with a certificate from the company CA.
func preloaded(t *testing.T, profile string, ca *testpki.CA) (*simredfish.Device, []*x509.Certificate) {
	t.Helper()
	dev := start(t, profile)
	old := leaf(t, ca, "bmc01.example.com")
	dev.Preload(old.key, old.chain)
	return dev, old.chain
}

func servedLeaf(t *testing.T, d *redfish.Driver) *x509.Certificate {
	t.Helper()
	cur, err := d.Current(t.Context())
	if err != nil || len(cur) == 0 {
		t.Fatalf("Current: %v", err)
	}
	return cur[0]
}

var names = ottr.CSRRequest{CommonName: "bmc01.example.com", DNSNames: []string{"bmc01.example.com", "ipmi01.example.com"}}

// install has the BMC make a request and installs a CA-signed chain for it.
func install(t *testing.T, d *redfish.Driver, ca *testpki.CA) ([]*x509.Certificate, error) {
	t.Helper()
	csr, err := d.CSR(t.Context(), names)
	if err != nil {
		t.Fatalf("CSR: %v", err)
	}
	chain := ca.Sign(csr, 24*time.Hour)
	return chain, d.Install(t.Context(), chain)
}

func TestBadCredentialsArePermanent(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	for _, auth := range []string{"session", "basic"} {
		t.Run(auth, func(t *testing.T) {
			dev, _ := preloaded(t, "openbmc", ca)
			c := config(dev)
			c.Auth = auth
			c.Credential = ottr.Credential{"username": ottr.Secret(user), "password": "Wr0ng-Passw0rd"}
			_, err := newDriver(t, c).CSR(t.Context(), names)
			if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !ottr.IsPermanent(err) || strings.Contains(err.Error(), "Wr0ng-Passw0rd") {
				t.Fatalf("wrong password: %v", err)
			}
			if !strings.Contains(err.Error(), "Base.1.16.0.") {
				t.Errorf("the BMC's MessageId is not in %q", err)
			}
		})
	}
	t.Run("account without ConfigureManager", func(t *testing.T) {
		dev, _ := preloaded(t, "openbmc", ca)
		dev.AddUser("viewer", "View.Passw0rd", "ReadOnly")
		c := config(dev)
		c.Credential = ottr.Credential{"username": "viewer", "password": "View.Passw0rd"}
		_, err := newDriver(t, c).CSR(t.Context(), names)
		if ottr.ErrorCode(err) != ottr.EFORBIDDEN || !strings.Contains(err.Error(), "InsufficientPrivilege") || !strings.Contains(err.Error(), "ConfigureManager") {
			t.Fatalf("read-only account: %v", err)
		}
	})
}

// TestFaults: a device error body is surfaced with its ExtendedInfo
// message and is transient; a connection dropped during the upload and a
// failing task too; each leaves the BMC serving its old certificate, and
// the same chain installs once the BMC recovers, by a new driver.
func TestFaults(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	for _, tc := range []struct {
		profile string
		name    string
		faults  simredfish.Faults
		want    string
	}{
		{"openbmc", "replace answers 500 with ExtendedInfo", simredfish.Faults{ErrorOn: "ReplaceCertificate", Message: "Certificate store is busy"}, "Certificate store is busy (Base.1.16.0.InternalError)"},
		{"supermicro", "collection POST answers 503", simredfish.Faults{ErrorOn: "CollectionPOST", Status: 503, Message: "Web server busy"}, "Web server busy"},
		{"openbmc", "connection dropped during the upload", simredfish.Faults{DropUpload: true}, "ReplaceCertificate"},
		{"xcc", "task ends in Exception", simredfish.Faults{TaskFail: "Failed to import the certificate"}, "Failed to import the certificate"},
		{"idrac", "the reset fails", simredfish.Faults{ErrorOn: "Reset", Message: "iDRAC is busy"}, "iDRAC is busy"},
	} {
		t.Run(tc.profile+"/"+tc.name, func(t *testing.T) {
			dev, old := preloaded(t, tc.profile, ca)
			d := newDriver(t, config(dev))
			csr, err := d.CSR(t.Context(), names)
			if err != nil {
				t.Fatal(err)
			}
			chain := ca.Sign(csr, time.Hour)
			dev.SetFaults(tc.faults)
			err = d.Install(t.Context(), chain)
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) || strings.Contains(err.Error(), pass) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			if now := servedLeaf(t, d); !now.Equal(old[0]) {
				t.Errorf("serves %x after the failure, want the old %x", now.SerialNumber, old[0].SerialNumber)
			}
			dev.SetFaults(simredfish.Faults{})
			if err := newDriver(t, config(dev)).Install(t.Context(), chain); err != nil {
				t.Fatalf("retry by a new driver after recovery: %v", err)
			}
			if now := servedLeaf(t, d); !now.Equal(chain[0]) {
				t.Errorf("serves %x after the retry", now.SerialNumber)
			}
		})
	}
}

// A certificate for a key the BMC did not make is refused by the BMC,
// permanently, with its message; nothing changes.
func TestWrongKeyIsRefused(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	for _, profile := range []string{"openbmc", "supermicro", "xcc"} {
		t.Run(profile, func(t *testing.T) {
			dev, old := preloaded(t, profile, ca)
			d := newDriver(t, config(dev))
			if _, err := d.CSR(t.Context(), names); err != nil {
				t.Fatal(err)
			}
			err := d.Install(t.Context(), leaf(t, ca, "bmc01.example.com").chain)
			if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "does not match the private key") ||
				!strings.Contains(err.Error(), "ActionParameterValueError") {
				t.Fatalf("foreign key: %v", err)
			}
			if conf, serving := dev.Certificate(); !conf[0].Equal(old[0]) || !serving[0].Equal(old[0]) {
				t.Error("the BMC changed its certificate")
			}
			if dev.PendingKey() == nil {
				t.Error("the key the BMC made for the request is gone")
			}
		})
	}
}

// A request the BMC made without every name is refused before anything
// is ordered.
func TestRequestWithoutEveryName(t *testing.T) {
	t.Parallel()
	dev := start(t, "openbmc")
	dev.SetFaults(simredfish.Faults{DropSANs: true})
	_, err := newDriver(t, config(dev)).CSR(t.Context(), names)
	if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "ipmi01.example.com") {
		t.Fatalf("dropped SAN: %v", err)
	}
}

// The request carries the subject fields and the key asked for; a key
// the BMC cannot make is refused with its message; a bad country names
// the setting.
func TestRequestSubjectAndKey(t *testing.T) {
	t.Parallel()
	dev := start(t, "idrac")
	d := newDriver(t, config(dev))
	subj := ottr.Subject{Country: "US", State: "Texas", Locality: "Round Rock", Organization: "Example Inc", OrganizationalUnit: "Platform", Email: "pki@example.com"}
	req := names
	req.Subject = subj
	csr, err := d.CSR(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if bad := subj.Missing(csr.Subject); len(bad) > 0 || csr.Subject.CommonName != "bmc01.example.com" {
		t.Errorf("subject %v lacks %v", csr.Subject, bad)
	}
	req.KeyType = "p256"
	if _, err := d.CSR(t.Context(), req); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "ActionParameterValueNotInList") {
		t.Errorf("P-256 on iDRAC: %v", err)
	}
	req.KeyType = "ed25519"
	if _, err := d.CSR(t.Context(), req); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "ed25519") {
		t.Errorf("ed25519: %v", err)
	}
	req.KeyType, req.Subject = "", ottr.Subject{Country: "USA"}
	if _, err := d.CSR(t.Context(), req); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "subject.country") {
		t.Errorf("three-letter country: %v", err)
	}
}

// On iDRAC the new certificate is served only after the driver resets the
// manager; with reset: never the driver says the BMC did not serve it.
func TestResetWhereTheBMCNeedsIt(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev, old := preloaded(t, "idrac", ca)
	c := config(dev)
	c.Reset, c.ServeTimeout = "never", 300*time.Millisecond
	d := newDriver(t, c)
	chain, err := install(t, d, ca)
	if err == nil || !strings.Contains(err.Error(), "not served") || !strings.Contains(err.Error(), "reset: always") {
		t.Fatalf("Install without reset on iDRAC: %v", err)
	}
	if conf, serving := dev.Certificate(); !conf[0].Equal(chain[0]) || !serving[0].Equal(old[0]) {
		t.Fatal("want the new certificate configured and the old one served")
	}
	d = newDriver(t, config(dev))
	if err := d.Install(t.Context(), chain); err != nil {
		t.Fatalf("Install with the default reset: %v", err)
	}
	calls := strings.Join(dev.Calls(), "\n")
	if strings.Count(calls, "Manager.Reset") != 1 || strings.Count(calls, "ReplaceCertificate") != 1 {
		t.Errorf("want one replace and one reset:\n%s", calls)
	}
	if !servedLeaf(t, d).Equal(chain[0]) {
		t.Error("not served after the reset")
	}
}

// Settings are checked with the field they belong to; the address
// defaults to the asset's.
func TestCheck(t *testing.T) {
	t.Parallel()
	probs := redfish.Config{Address: "bmc", Auth: "digest", Reset: "sometimes", Manager: "../1", CertificateCollection: "/api/certs",
		ResetType: "Graceful Restart", TaskPoll: -1}.Check()
	want := map[string]bool{"address": true, "auth": true, "reset": true, "manager": true, "certificate_collection": true, "reset_type": true, "task_poll": true}
	for _, p := range probs {
		delete(want, p.Field)
	}
	if len(want) > 0 || len(probs) != 7 {
		t.Errorf("problems %v; missing %v", probs, want)
	}
	if _, err := redfish.New(redfish.Config{Asset: bmcAsset()}); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "credential") {
		t.Errorf("no credential: %v", err)
	}
}

func nowFunc() time.Time { return time.Now() }

// A session the BMC ended (timeout, reset) is opened again once; a login
// refused then is permanent. The driver logs out when closed.
func TestSessionOpenedAgain(t *testing.T) {
	t.Parallel()
	dev := start(t, "openbmc")
	d := newDriver(t, config(dev))
	if _, err := d.CSR(t.Context(), names); err != nil {
		t.Fatal(err)
	}
	dev.ExpireSessions()
	if _, err := d.CSR(t.Context(), names); err != nil {
		t.Fatalf("after the session expired: %v", err)
	}
	logins := strings.Count(strings.Join(dev.Calls(), "\n"), "POST /redfish/v1/SessionService/Sessions")
	if logins != 2 || dev.Sessions() != 1 {
		t.Errorf("%d logins, %d sessions open", logins, dev.Sessions())
	}
	dev.SetFaults(simredfish.Faults{BadCredentials: true})
	if _, err := d.CSR(t.Context(), names); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Errorf("refused login after expiry: %v", err)
	}
	dev.SetFaults(simredfish.Faults{})
	if _, err := d.CSR(t.Context(), names); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil || dev.Sessions() != 0 {
		t.Errorf("Close: %v, %d sessions", err, dev.Sessions())
	}
}
