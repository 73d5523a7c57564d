package panos_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PaloAltoNetworks/pango"
	"github.com/PaloAltoNetworks/pango/commit"
	"github.com/PaloAltoNetworks/pango/dev/certificate"
	panoserr "github.com/PaloAltoNetworks/pango/errors"

	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/panos"
)

// pangoFirewall is Palo Alto's Go SDK pointed at the simulator.
func pangoFirewall(t *testing.T, dev *panos.Device, user, password string) (*pango.Firewall, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(dev.Addr)
	p, _ := strconv.Atoi(port)
	fw := &pango.Firewall{Client: pango.Client{Hostname: host, Port: uint(p), Protocol: "https",
		Username: user, Password: password, Timeout: 10}}
	return fw, fw.Initialize()
}

func panosCode(t *testing.T, err error) int {
	t.Helper()
	var pe panoserr.Panos
	if !errors.As(err, &pe) {
		t.Fatalf("want a PAN-OS error, got %v", err)
	}
	return pe.Code
}

// TestPango runs Palo Alto's Go SDK against the simulator: login and
// system info, a key made on the device and its request, certificate,
// private-key and keypair imports, configuration get/set/edit/delete
// (with the xpaths quoted both ways pango's users write), commit and job
// polling; it asserts what pango returns and what the device then holds
// and serves.
func TestPango(t *testing.T) {
	dev, err := panos.Start("admin", "Adm1n.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()

	// Login: refused credentials come back as PAN-OS error 403.
	if _, err := pangoFirewall(t, dev, "admin", "wrong"); err == nil || panosCode(t, err) != 403 || err.Error() != "Invalid Credential" {
		t.Fatalf("bad password: %v", err)
	}
	fw, err := pangoFirewall(t, dev, "admin", "Adm1n.Passw0rd")
	if err != nil {
		t.Fatalf("Initialize: %v", err)
	}
	if !strings.HasPrefix(fw.ApiKey, "LUFRPT") {
		t.Errorf("API key %q", fw.ApiKey)
	}
	if fw.SystemInfo["hostname"] != dev.Hostname || fw.SystemInfo["model"] != "PA-VM" || fw.Version.String() != "10.2.4" {
		t.Errorf("system info %v, version %s", fw.SystemInfo, fw.Version)
	}
	if ss := dev.Sessions(); len(ss) != 1 || ss[0].User != "admin" || ss[0].Calls < 2 {
		t.Errorf("sessions %+v: want one admin session used for keygen and system info", ss)
	}

	// A key made on the device; pango sends commands as given, here with
	// whitespace between the elements.
	gen := `<request>
	  <certificate>
	    <generate>
	      <certificate-name>onbox</certificate-name><name>fw.example.com</name>
	      <algorithm><ECDSA><ecdsa-nbits>256</ecdsa-nbits></ECDSA></algorithm>
	      <hostname><member>fw.example.com</member><member>vpn.example.com</member></hostname>
	      <country-code>US</country-code><state>California</state><locality>San Francisco</locality>
	      <organization>Example</organization><organization-unit><member>Security</member></organization-unit>
	      <signed-by>external</signed-by><ca>no</ca>
	    </generate>
	  </certificate>
	</request>`
	if _, err := fw.Op(gen, "", nil, nil); err != nil {
		t.Fatalf("generate: %v", err)
	}
	_, csrPEM, err := fw.Export("certificate", 0, url.Values{"certificate-name": {"onbox"}, "format": {"pkcs10"}, "include-key": {"no"}}, nil)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	block, _ := pem.Decode(csrPEM)
	if block == nil {
		t.Fatalf("export gave %q", csrPEM)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil || csr.Subject.String() != "CN=fw.example.com,OU=Security,O=Example,L=San Francisco,ST=California,C=US" ||
		!slices.Equal(csr.DNSNames, []string{"fw.example.com", "vpn.example.com"}) || csr.CheckSignature() != nil {
		t.Fatalf("CSR %v: %+v", err, csr)
	}
	badCountry := strings.Replace(strings.Replace(gen, "onbox", "usa", 1), "<country-code>US<", "<country-code>USA<", 1)
	if _, err := fw.Op(badCountry, "", nil, nil); err == nil || panosCode(t, err) != 12 || !strings.Contains(err.Error(), "country-code 'USA'") {
		t.Errorf("generate with a three-letter country: %v", err)
	}
	e, err := fw.Device.Certificate.Get("", "onbox")
	if err != nil || e.Csr == "" || e.PrivateKey == "" || e.PublicKey != "" || e.Algorithm != "ECDSA" || e.CommonName != "fw.example.com" {
		t.Fatalf("entry after generate: %v %+v", err, e)
	}

	ca := testpki.NewCA("Test CA")
	chain := ca.Sign(csr, 24*time.Hour)
	if err := fw.Device.Certificate.ImportPem("", 0, certificate.Pem{Name: "onbox",
		Certificate: string(testpki.EncodeChain(chain)), CertificateFilename: "onbox.pem"}); err != nil {
		t.Fatalf("import onto the device's key: %v", err)
	}
	e, err = fw.Device.Certificate.Get("", "onbox")
	if err != nil || e.PublicKey != string(testpki.EncodeChain(chain[:1])) || e.ExpiryEpoch != strconv.FormatInt(chain[0].NotAfter.Unix(), 10) || e.PrivateKey == "" {
		t.Fatalf("entry after import: %v %+v", err, e)
	}
	// A certificate for another key cannot be put on the device's key.
	foreignCSR, _ := testpki.CSR("fw.example.com")
	err = fw.Device.Certificate.ImportPem("", 0, certificate.Pem{Name: "onbox", Certificate: string(testpki.EncodeChain(ca.Sign(foreignCSR, time.Hour))), CertificateFilename: "x.pem"})
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("certificate for another key: %v", err)
	}

	// acme.sh's way: certificate, then its key (encrypted) with a passphrase.
	outCSR, outKey := testpki.CSR("portal.example.com", "portal.example.com")
	outChain := ca.Sign(outCSR, 48*time.Hour)
	der, _ := x509.MarshalECPrivateKey(outKey.(*ecdsa.PrivateKey))
	//lint:ignore SA1019 how OpenSSL -traditional writes keys, which acme.sh sends
	encKey, _ := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", der, []byte("s3cret.Phrase"), x509.PEMCipherAES256)
	keyPEM := string(pem.EncodeToMemory(encKey))
	err = fw.Device.Certificate.ImportPem("", 0, certificate.Pem{Name: "portal", Certificate: string(testpki.EncodeChain(outChain)), CertificateFilename: "portal.pem",
		PrivateKey: keyPEM, PrivateKeyFilename: "portal.key", Passphrase: "wrong"})
	if err == nil || !strings.Contains(err.Error(), "passphrase") {
		t.Errorf("key with a wrong passphrase: %v", err)
	}
	if e, err := fw.Device.Certificate.Get("", "portal"); err != nil || e.PublicKey == "" || e.PrivateKey != "" {
		t.Errorf("after a refused key the entry has its certificate and no key: %v %+v", err, e)
	}
	_, otherKey := testpki.CSR("other")
	otherPEM, _ := testpki.MarshalKey(otherKey)
	err = fw.Device.Certificate.ImportPem("", 0, certificate.Pem{Name: "portal", Certificate: string(testpki.EncodeChain(outChain)), CertificateFilename: "portal.pem",
		PrivateKey: string(otherPEM), PrivateKeyFilename: "other.key", Passphrase: "unused"})
	if err == nil || !strings.Contains(err.Error(), "does not match") {
		t.Errorf("key for another certificate: %v", err)
	}
	if err := fw.Device.Certificate.ImportPem("", 0, certificate.Pem{Name: "portal", Certificate: string(testpki.EncodeChain(outChain)), CertificateFilename: "portal.pem",
		PrivateKey: keyPEM, PrivateKeyFilename: "portal.key", Passphrase: "s3cret.Phrase"}); err != nil {
		t.Fatalf("certificate and key: %v", err)
	}
	if e, err := fw.Device.Certificate.Get("", "portal"); err != nil || e.PrivateKey == "" || e.PublicKey != string(testpki.EncodeChain(outChain[:1])) {
		t.Errorf("entry with its key: %v %+v", err, e)
	}

	// A keypair: certificate and clear key in one file.
	kpCSR, kpKey := testpki.CSR("kp.example.com")
	kpChain := ca.Sign(kpCSR, time.Hour)
	kpKeyPEM, _ := testpki.MarshalKey(kpKey)
	if _, err := fw.Import("keypair", string(testpki.EncodeChain(kpChain))+string(kpKeyPEM), "kp.pem", "file", 0,
		url.Values{"certificate-name": {"kp"}, "format": {"pem"}, "passphrase": {"unused"}}, nil); err != nil {
		t.Fatalf("keypair: %v", err)
	}
	if _, err := fw.Import("keypair", string(testpki.EncodeChain(kpChain)), "kp.pem", "file", 0,
		url.Values{"certificate-name": {"kp2"}, "format": {"pem"}, "passphrase": {"unused"}}, nil); err == nil || !strings.Contains(err.Error(), "No private key") {
		t.Errorf("keypair without a key: %v", err)
	}
	names, err := fw.Device.Certificate.GetList("")
	if err != nil || !slices.Equal(names, []string{"kp", "onbox", "portal"}) {
		t.Errorf("GetList: %v %v", names, err)
	}

	// Configuration: set merges, edit replaces the node the xpath names,
	// with the name quoted either way.
	type profileAns struct {
		Cert string `xml:"result>entry>certificate"`
		Min  string `xml:"result>entry>protocol-settings>min-version"`
		Max  string `xml:"result>entry>protocol-settings>max-version"`
	}
	prof := `/config/shared/ssl-tls-service-profile/entry[@name="mgmt"]`
	if _, err := fw.Set(prof, "<protocol-settings><min-version>tls1-2</min-version></protocol-settings><certificate>onbox</certificate>", nil, nil); err != nil {
		t.Fatalf("set profile: %v", err)
	}
	if _, err := fw.Set([]string{"config", "shared", "ssl-tls-service-profile", "entry[@name='mgmt']", "protocol-settings"}, "<max-version>tls1-3</max-version>", nil, nil); err != nil {
		t.Fatalf("set max-version: %v", err)
	}
	var pa profileAns
	if _, err := fw.Get(prof, nil, &pa); err != nil || pa != (profileAns{"onbox", "tls1-2", "tls1-3"}) {
		t.Errorf("profile after set: %v %+v", err, pa)
	}
	if _, err := fw.Edit(prof, `<entry name="mgmt"><certificate>portal</certificate></entry>`, nil, nil); err != nil {
		t.Fatalf("edit profile: %v", err)
	}
	pa = profileAns{}
	if _, err := fw.Get(`/config/shared/ssl-tls-service-profile/entry[@name='mgmt']`, nil, &pa); err != nil || pa != (profileAns{Cert: "portal"}) {
		t.Errorf("profile after edit (protocol settings replaced away): %v %+v", err, pa)
	}
	if _, err := fw.Edit(prof, `<entry name="other"><certificate>portal</certificate></entry>`, nil, nil); err == nil || panosCode(t, err) != 12 {
		t.Errorf("edit with another entry's name: %v", err)
	}
	if _, err := fw.Set(prof, "<certificate>nope</certificate>", nil, nil); err == nil || !strings.Contains(err.Error(), "not a valid reference") {
		t.Errorf("set to a missing certificate: %v", err)
	}
	if _, err := fw.Edit(prof, `<entry name="mgmt"><protocol-settings><min-version>tls1-2</min-version><max-version>max</max-version></protocol-settings><certificate>portal</certificate></entry>`, nil, nil); err != nil {
		t.Fatalf("edit profile: %v", err)
	}
	sys := "/config/devices/entry[@name='localhost.localdomain']/deviceconfig/system"
	if _, err := fw.Set(sys, "<ssl-tls-service-profile>mgmt</ssl-tls-service-profile>", nil, nil); err != nil {
		t.Fatalf("set system: %v", err)
	}
	var mg struct {
		Profile string `xml:"result>ssl-tls-service-profile"`
	}
	if _, err := fw.Get(sys+"/ssl-tls-service-profile", nil, &mg); err != nil || mg.Profile != "mgmt" {
		t.Errorf("management profile: %v %+v", err, mg)
	}
	// Parts of the configuration the simulator does not model are refused.
	if _, err := fw.Set(sys, "<hostname>fw2</hostname>", nil, nil); err == nil || !strings.Contains(err.Error(), "not simulated") {
		t.Errorf("set hostname: %v", err)
	}
	if err := fw.Device.Certificate.Delete("", "portal"); err == nil || panosCode(t, err) != 10 {
		t.Errorf("delete a certificate in use: %v", err)
	}
	if err := fw.Device.Certificate.Delete("", "kp"); err != nil {
		t.Errorf("delete kp: %v", err)
	}
	if _, err := fw.Device.Certificate.Get("", "kp"); err == nil || !err.(panoserr.Panos).ObjectNotFound() {
		t.Errorf("kp after delete: %v", err)
	}
	if _, err := fw.Show(prof, nil, nil); err == nil || !strings.Contains(err.Error(), "No such node") {
		t.Errorf("running config before the commit: %v", err)
	}

	// Commit (pango's partial commit, without action=partial) and wait.
	id, _, err := fw.Commit(commit.FirewallCommit{Description: "portal certificate", Admins: []string{"admin"}}, "", nil)
	if err != nil || id == 0 {
		t.Fatalf("commit: %d %v", id, err)
	}
	if err := fw.WaitForJob(id, 5*time.Millisecond, nil, nil); err != nil {
		t.Fatalf("WaitForJob: %v", err)
	}
	running, bound := dev.Running()
	if bound != "portal" || running["portal"] == nil || !running["portal"].Chain[0].Equal(outChain[0]) || running["kp"] != nil {
		t.Errorf("running configuration: bound %q, certificates %v", bound, slices.Sorted(mapKeys(running)))
	}
	if got := servedLeaf(t, dev.Addr); !got.Equal(outChain[0]) {
		t.Errorf("served %s after the commit", got.Subject)
	}
	if e, err := fw.Device.Certificate.Show("", "portal"); err != nil || e.PublicKey != string(testpki.EncodeChain(outChain[:1])) {
		t.Errorf("Show portal: %v %+v", err, e)
	}
	if id, _, err := fw.Commit(commit.FirewallCommit{}, "", nil); err != nil || id != 0 {
		t.Errorf("commit with nothing to commit: %d %v", id, err)
	}

	// A commit that fails validation: the profile names a certificate
	// without a key. The job fails and nothing changes.
	if _, err := fw.Import("certificate", string(testpki.EncodeChain(ca.Sign(foreignCSR, time.Hour))), "c.pem", "file", 0,
		url.Values{"certificate-name": {"nokey"}, "format": {"pem"}}, nil); err != nil {
		t.Fatalf("import without key: %v", err)
	}
	if _, err := fw.Set(prof, "<certificate>nokey</certificate>", nil, nil); err != nil {
		t.Fatal(err)
	}
	id, _, err = fw.Commit("<commit/>", "", nil)
	if err != nil || id == 0 {
		t.Fatalf("commit: %d %v", id, err)
	}
	if err := fw.WaitForJob(id, 5*time.Millisecond, nil, nil); err == nil || !strings.Contains(err.Error(), "has no private key") {
		t.Errorf("failing commit: %v", err)
	}
	if _, bound := dev.Running(); bound != "portal" {
		t.Errorf("after a failed commit the running configuration binds %q", bound)
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
