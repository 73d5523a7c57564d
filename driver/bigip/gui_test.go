package bigip_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/bigip"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/internal/rotatetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	simbigip "github.com/ottr-dev/ottr/sim/bigip"
)

// ottrAsset is a BIG-IP as Ottr's API registered it: platform f5, OS
// 14.1.0, which route.json sends to otter-f5-14x-lets-encrypt.
func ottrAsset() *ottr.Asset {
	return &ottr.Asset{SystemName: "bigip1.example.com", CommonName: "bigip1.example.com",
		SubjectAlternativeName: []string{"bigip1.example.com", "f5.example.com"}, HostPlatform: "f5", OSVersion: "14.1.0"}
}

// ottrConfig is the driver's configuration when the otter-f5 recipe picks
// it with no devices settings: only the asset and the platform's
// credential. The asset's port stands in for Ottr's 443, which a test
// cannot listen on.
func ottrConfig(dev *simbigip.Device, a *ottr.Asset) bigip.Config {
	host, port, _ := net.SplitHostPort(dev.Addr)
	a.IPAddress = host
	a.Port, _ = strconv.Atoi(port)
	return bigip.Config{Asset: a, Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}}
}

// ottrSubject is the subject Ottr's container put in its requests (the
// country, state, locality, organization, organization_unit and email of
// its environment).
var ottrSubject = ottr.Subject{Country: "US", State: "California", Locality: "San Francisco", Organization: "Example Inc",
	OrganizationalUnit: "Network Engineering", Email: "netops@example.com"}

// withSubject is the driver as the rotation engine calls it once the
// recipe's subject is configured: every CSRRequest carries it. It keeps
// the requests the device made.
type withSubject struct {
	*bigip.Driver
	mu   sync.Mutex
	csrs []*x509.CertificateRequest
}

func (w *withSubject) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	req.Subject = ottrSubject
	csr, err := w.Driver.CSR(ctx, req)
	if err == nil {
		w.mu.Lock()
		w.csrs = append(w.csrs, csr)
		w.mu.Unlock()
	}
	return csr, err
}

func serving(t *testing.T, dev *simbigip.Device) *x509.Certificate {
	t.Helper()
	d, err := bigip.New(ottrConfig(dev, ottrAsset()))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := d.Current(t.Context())
	if err != nil || len(cur) == 0 {
		t.Fatalf("management port: %v", err)
	}
	return cur[0]
}

// checkGUI asserts httpd runs and serves want, its files hold want and a
// key matching it, and nothing of the rotation is left behind.
func checkGUI(t *testing.T, dev *simbigip.Device, what string, want *x509.Certificate) {
	t.Helper()
	if running, why, _ := dev.HTTPD(); !running {
		t.Fatalf("%s: httpd is down: %s", what, why)
	}
	if got := serving(t, dev); !got.Equal(want) {
		t.Errorf("%s: the management port serves serial %x, want %x", what, got.SerialNumber, want.SerialNumber)
	}
	chain, err := ottr.ParseChain(dev.File(simbigip.HTTPDCert))
	if err != nil || len(chain) == 0 || !chain[0].Equal(want) {
		t.Errorf("%s: %s holds %v (%v)", what, simbigip.HTTPDCert, chain, err)
	}
	if up := dev.Uploads(); len(up) > 0 {
		t.Errorf("%s: uploads left: %v", what, up)
	}
	if tmp := dev.Files("/var/tmp/"); len(tmp) > 0 {
		t.Errorf("%s: files left in /var/tmp: %v", what, tmp)
	}
}

// An asset Ottr rotated, with Ottr's route.json recipe and no devices
// settings: the management GUI gets a certificate for the request the
// box made with an RSA-2048 key and the subject fields, placed where
// httpd reads it, the port serves it after the restart, the old pair is
// kept as Ottr's backup, and otter.key, otter.csr and the upload are gone.
func TestOttrRecipeRotatesTheManagementGUI(t *testing.T) {
	t.Parallel()
	if probs := (bigip.Config{}).Check(); len(probs) > 0 {
		t.Fatalf("no settings at all: %v", probs)
	}
	dev := start(t)
	factory := serving(t, dev)
	profileBefore := dev.Profile(dev.ProfileName)
	env := rotatetest.New(t, "bigip1.example.com", "f5.example.com")
	a := ottrAsset()
	var drv *withSubject
	open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
		d, err := bigip.New(ottrConfig(dev, a))
		if err != nil {
			return nil, err
		}
		drv = &withSubject{Driver: d}
		return drv, nil
	}
	rot, err := env.Rotate(t, a, dev.Addr, open)
	if err != nil || rot.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
	}
	leaf := serving(t, dev)
	if leaf.SerialNumber.Text(16) != rot.NewSerial || leaf.Equal(factory) {
		t.Fatalf("the management port serves %x, the rotation recorded %s", leaf.SerialNumber, rot.NewSerial)
	}
	// The rotation's verify step chained it to Pebble's roots; httpd
	// sends the leaf alone, as Ottr placed it.
	if n := servedChainLen(t, dev); n != 1 {
		t.Errorf("the management port sends %d certificates, want the leaf alone as Ottr placed it", n)
	}
	if k, ok := leaf.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
		t.Errorf("served key is %T, want RSA-2048 as Ottr's", leaf.PublicKey)
	}
	if len(drv.csrs) != 1 {
		t.Fatalf("requests made: %d", len(drv.csrs))
	}
	s := drv.csrs[0].Subject
	got := fmt.Sprintf("CN=%s C=%v ST=%v L=%v O=%v OU=%v email=%s", s.CommonName, s.Country, s.Province, s.Locality, s.Organization, s.OrganizationalUnit, emailOf(s.Names))
	if want := "CN=bigip1.example.com C=[US] ST=[California] L=[San Francisco] O=[Example Inc] OU=[Network Engineering] email=netops@example.com"; got != want {
		t.Errorf("the device's request has subject %s, want %s", got, want)
	}
	if !slices.Equal(drv.csrs[0].DNSNames, []string{"bigip1.example.com", "f5.example.com"}) {
		t.Errorf("the device's request names %v", drv.csrs[0].DNSNames)
	}
	checkGUI(t, dev, "after the rotation", leaf)
	if b, _ := ottr.ParseChain(dev.File(simbigip.HTTPDCert + ".backup")); len(b) == 0 || !b[0].Equal(factory) {
		t.Errorf("the backup is not the certificate replaced")
	}
	if dev.Key("/Common/otter.key") != nil || len(dev.CSRs()) > 0 {
		t.Errorf("left on the box: otter.key %v, requests %v", dev.Key("/Common/otter.key") != nil, dev.CSRs())
	}
	if _, _, saved := dev.State(); !saved {
		t.Error("the running configuration differs from the saved one")
	}
	if got := dev.Profile(dev.ProfileName); got != profileBefore {
		t.Errorf("the client-ssl profile changed: %+v", got)
	}
	log := rotatetest.Log(rot)
	for _, want := range []string{"made key otter.key (rsa-private 2048)", "backed up /config/httpd/conf/ssl.crt/server.crt.backup", "restarted httpd", "management port"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func servedChainLen(t *testing.T, dev *simbigip.Device) int {
	t.Helper()
	d, _ := bigip.New(ottrConfig(dev, ottrAsset()))
	cur, _ := d.Current(t.Context())
	return len(cur)
}

func emailOf(names []pkix.AttributeTypeAndValue) string {
	for _, n := range names {
		if n.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}) {
			return fmt.Sprint(n.Value)
		}
	}
	return ""
}

// guiCSR makes the box's request through a driver with no settings.
func guiDriver(t *testing.T, dev *simbigip.Device, restart time.Duration) *bigip.Driver {
	t.Helper()
	c := ottrConfig(dev, ottrAsset())
	c.RestartTimeout = restart
	d, err := bigip.New(c)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A failure after the backup puts the old pair back: httpd serves it,
// and its files hold it, whether the failure came before the restart (a
// copy refused) or after (httpd not serving the new pair in time). A
// certificate whose key was replaced by another run is refused before
// anything is touched. Restore brings the previous pair back, repeatably.
func TestGUIFailuresPutTheBackupBack(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	dev := start(t)
	corpKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "bigip1.example.com"}}, corpKey)
	corpCSR, _ := x509.ParseCertificateRequest(der)
	corp := ca.Sign(corpCSR, 30*24*time.Hour)
	if err := dev.PreloadHTTPD(corpKey, corp[:1]); err != nil {
		t.Fatal(err)
	}
	old := corp[0]
	checkGUI(t, dev, "before", old)
	d := guiDriver(t, dev, time.Second)
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "bigip1.example.com", DNSNames: []string{"bigip1.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	chain := ca.Sign(csr, 24*time.Hour)
	for _, tc := range []struct {
		name    string
		command string
		want    string
	}{
		{"certificate copy refused after the key was placed", "cp /var/config/rest/downloads/otter.crt", "No space left on device"},
		{"httpd does not pick the new pair up", "tmsh restart sys service httpd", "management port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, startsBefore := dev.HTTPD()
			dev.SetFaults(simbigip.Faults{FailCommand: tc.command, Message: "cp: error writing '/config/httpd/conf/ssl.crt/server.crt': No space left on device"})
			err := d.Install(t.Context(), chain)
			dev.SetFaults(simbigip.Faults{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || ottr.IsPermanent(err) {
				t.Fatalf("Install: %v (want a transient error naming %q)", err, tc.want)
			}
			checkGUI(t, dev, "after the failure", old)
			if !ottr.SamePublicKey(keyOf(t, dev), old.PublicKey) {
				t.Error("server.key is not the old certificate's key")
			}
			if _, _, starts := dev.HTTPD(); starts != startsBefore {
				t.Errorf("httpd restarted %d times: nothing new was served, so it needed no restart", starts-startsBefore)
			}
		})
	}

	// httpd does not come back: REST went with it, so the error says what
	// to put back by hand; done on the console, the old pair is served.
	dev.SetFaults(simbigip.Faults{HTTPDFails: "(28)No space left on device: AH00023: Couldn't create the ssl-cache mutex"})
	err = d.Install(t.Context(), chain)
	dev.SetFaults(simbigip.Faults{})
	if err == nil || !strings.Contains(err.Error(), "server.crt.backup") || !strings.Contains(err.Error(), "tmsh restart sys service httpd") {
		t.Fatalf("Install with httpd not starting: %v", err)
	}
	if running, _, _ := dev.HTTPD(); running {
		t.Fatal("httpd runs")
	}
	dev.WriteFile(simbigip.HTTPDCert, dev.File(simbigip.HTTPDCert+".backup"))
	dev.WriteFile(simbigip.HTTPDKey, dev.File(simbigip.HTTPDKey+".backup"))
	if err := dev.StartHTTPD(); err != nil {
		t.Fatal(err)
	}
	if got := serving(t, dev); !got.Equal(old) {
		t.Errorf("after the console put the backup back: serial %x", got.SerialNumber)
	}
	// The upload could not be removed with REST down; the next run does.

	// Another run replaced otter.key: refused before anything is copied.
	backupBefore := dev.File(simbigip.HTTPDCert + ".backup")
	if _, err := guiDriver(t, dev, time.Second).CSR(t.Context(), ottr.CSRRequest{CommonName: "bigip1.example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := d.Install(t.Context(), chain); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "not this certificate's") {
		t.Fatalf("Install with a replaced key: %v", err)
	}
	checkGUI(t, dev, "after the refusal", old)
	if string(dev.File(simbigip.HTTPDCert+".backup")) != string(backupBefore) {
		t.Error("the backup was touched")
	}

	// A whole run, then Restore (as the engine's rollback) by a new driver.
	csr, err = d.CSR(t.Context(), ottr.CSRRequest{CommonName: "bigip1.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	chain = ca.Sign(csr, 24*time.Hour)
	if err := d.Install(t.Context(), chain); err != nil {
		t.Fatal(err)
	}
	checkGUI(t, dev, "after the install", chain[0])
	if err := d.Install(t.Context(), chain); err != nil {
		t.Fatalf("repeated install: %v", err)
	}
	for range 2 {
		if err := guiDriver(t, dev, 5*time.Second).Restore(t.Context(), []*x509.Certificate{old}); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		checkGUI(t, dev, "after Restore", old)
	}
	if err := d.Restore(t.Context(), chain); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("Restore of a certificate not in the backup: %v", err)
	}

	// A run that stopped half-way left server.crt new and server.key old:
	// a restart would keep httpd from starting, so there is none.
	oldFile := dev.File(simbigip.HTTPDCert)
	dev.WriteFile(simbigip.HTTPDCert, ottr.EncodeChain(chain[:1]))
	_, _, startsBefore := dev.HTTPD()
	if err := d.Install(t.Context(), chain); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "httpd was not restarted") {
		t.Errorf("Install over a half-placed pair: %v", err)
	}
	if running, _, starts := dev.HTTPD(); !running || starts != startsBefore {
		t.Errorf("httpd running %v, restarted %d times", running, starts-startsBefore)
	}
	dev.WriteFile(simbigip.HTTPDCert, oldFile)
	checkGUI(t, dev, "at the end", old)
}

func keyOf(t *testing.T, dev *simbigip.Device) any {
	t.Helper()
	block, _ := pem.Decode(dev.File(simbigip.HTTPDKey))
	if block == nil {
		t.Fatal("server.key holds no PEM key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer).Public()
}

// Settings choose the target: profiles alone (configurations written
// before the management GUI was the default) or target
// client_ssl_profiles rotate the profiles and leave httpd alone; a key
// type httpd is not known to take is refused; bad settings are named.
func TestTargets(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA("Corp CA")
	for _, c := range []bigip.Config{
		{Profiles: []string{"/Common/clientssl-www"}},
		{Target: bigip.TargetClientSSLProfiles, Profiles: []string{"/Common/clientssl-www"}},
	} {
		dev := start(t)
		factory := serving(t, dev)
		c.Address, c.Serve, c.Asset = dev.Addr, dev.VirtualAddr, lbAsset()
		c.Credential = ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}
		d, err := bigip.New(c)
		if err != nil {
			t.Fatal(err)
		}
		chain, err := install(t, d, ca)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if cur, _ := d.Current(t.Context()); !cur[0].Equal(chain[0]) {
			t.Errorf("target %q: the virtual server serves %x", c.Target, cur[0].SerialNumber)
		}
		if !strings.HasPrefix(dev.Profile(dev.ProfileName).Cert, "/Common/ottr-") {
			t.Errorf("target %q: profile binds %+v", c.Target, dev.Profile(dev.ProfileName))
		}
		if got := serving(t, dev); !got.Equal(factory) {
			t.Errorf("target %q: the management GUI changed", c.Target)
		}
		if _, _, starts := dev.HTTPD(); starts != 1 {
			t.Errorf("target %q: httpd restarted", c.Target)
		}
	}

	dev := start(t)
	if _, err := guiDriver(t, dev, time.Second).CSR(t.Context(), ottr.CSRRequest{CommonName: "bigip1.example.com", KeyType: "p256"}); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "rsa2048") {
		t.Errorf("p256 for the GUI: %v", err)
	}
	csr, err := guiDriver(t, dev, time.Second).CSR(t.Context(), ottr.CSRRequest{CommonName: "bigip1.example.com", KeyType: "rsa3072"})
	if k, ok := csr.PublicKey.(*rsa.PublicKey); err != nil || !ok || k.N.BitLen() != 3072 {
		t.Errorf("rsa3072 for the GUI: %v", err)
	}
	// httpd pointed at other files (as F5's bigip_device_certificate does
	// for other names) would never serve what Ottr's recipe places there.
	dev.SetHTTPDFiles("/config/httpd/conf/ssl.crt/mgmt.crt", "/config/httpd/conf/ssl.key/mgmt.key")
	if _, err := guiDriver(t, dev, time.Second).CSR(t.Context(), ottr.CSRRequest{CommonName: "bigip1.example.com"}); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "ssl-certfile /config/httpd/conf/ssl.crt/mgmt.crt") {
		t.Errorf("httpd reading other files: %v", err)
	}
	for _, tc := range []struct {
		c     bigip.Config
		field string
	}{
		{bigip.Config{Target: "gui"}, "target"},
		{bigip.Config{Target: bigip.TargetClientSSLProfiles}, "profiles"},
		{bigip.Config{Target: bigip.TargetManagementGUI, Profiles: []string{"/Common/x"}}, "profiles"},
		{bigip.Config{RestartTimeout: -time.Second}, "restart_timeout"},
	} {
		probs := tc.c.Check()
		if len(probs) != 1 || probs[0].Field != tc.field || strings.Contains(probs[0].Message, "string") {
			t.Errorf("%+v: %v, want one problem for %s", tc.c, probs, tc.field)
		}
	}
}

func TestConformanceManagementGUI(t *testing.T) {
	t.Parallel()
	var dev *simbigip.Device
	drivertest.Run(t, drivertest.Harness{
		New: func(t *testing.T) ottr.Driver {
			dev = start(t)
			return guiDriver(t, dev, 5*time.Second)
		},
		CommonName: "bigip1.example.com",
		SANs:       []string{"bigip1.example.com", "f5.example.com"},
		KeyTypes:   []string{"rsa2048"},
		Break:      func(*testing.T) { dev.Close() },
	})
}

// httpd carries REST: when the restart cuts off the answer to the call
// that asked for it, what the port serves afterwards decides.
func TestGUIRestartCutsTheAnswer(t *testing.T) {
	t.Parallel()
	dev := start(t)
	d := guiDriver(t, dev, 5*time.Second)
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "bigip1.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	chain := testpki.NewCA("Corp CA").Sign(csr, time.Hour)
	dev.SetFaults(simbigip.Faults{RestartCutsReply: true})
	if err := d.Install(t.Context(), chain); err != nil {
		t.Fatalf("Install: %v", err)
	}
	checkGUI(t, dev, "after the install", chain[0])
	if dev.Key("/Common/otter.key") != nil {
		t.Error("otter.key left after the restart")
	}
}
