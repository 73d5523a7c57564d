package bigip_test

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/bigip"
)

// served is the certificate the management port presents, or the error.
func served(dev *bigip.Device) (*x509.Certificate, error) {
	c, err := tls.Dial("tcp", dev.Addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading what is served
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

// awaitServed polls until the management port presents want (httpd
// restarts in the background after the call asking for it).
func awaitServed(t *testing.T, dev *bigip.Device, want *x509.Certificate) {
	t.Helper()
	var got *x509.Certificate
	var err error
	for range 50 {
		if got, err = served(dev); err == nil && got.Equal(want) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the management port serves %v (%v), not serial %x", got, err, want.SerialNumber)
}

// TestOttrManagementGUIRotation drives the simulator the way Ottr's
// f5-14.x container (platforms/f5-14.x/src/app.py) rotated the management
// GUI's certificate, with the certificate uploaded through REST instead
// of scp: the box's default RSA-2048 key, a CSR with the subject fields,
// read back through util/bash, the files backed up and replaced by cp,
// httpd restarted, and the management port then serving the new pair. A
// key that does not match makes httpd fail to start and the port go
// dark, until the backup is put back on the console.
func TestOttrManagementGUIRotation(t *testing.T) {
	dev, err := bigip.Start("admin", "Adm1n.Passw0rd", "clientssl")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	call := restClient(t, dev)
	bash := func(cmd string) string {
		t.Helper()
		code, body := call("POST", "/mgmt/tm/util/bash", map[string]string{"command": "run", "utilCmdArgs": "-c '" + cmd + "'"}, nil)
		if code != 200 || body["kind"] != "tm:util:bash:runstate" {
			t.Fatalf("bash %s: %d %v", cmd, code, body)
		}
		out, _ := body["commandResult"].(string)
		return out
	}
	factory, err := served(dev)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := factory.PublicKey.(*rsa.PublicKey); !ok || factory.Subject.CommonName != "localhost.localdomain" {
		t.Errorf("factory management certificate: %v %T", factory.Subject, factory.PublicKey)
	}
	if code, body := call("GET", "/mgmt/tm/sys/httpd", nil, nil); code != 200 || body["sslCertfile"] != "/etc/httpd/conf/ssl.crt/server.crt" || body["sslCertkeyfile"] != "/etc/httpd/conf/ssl.key/server.key" {
		t.Errorf("sys httpd: %d %v", code, body)
	}
	if code, body := call("PATCH", "/mgmt/tm/sys/httpd", map[string]string{"sslCertfile": "/config/httpd/conf/ssl.crt/x.crt"}, nil); code != 400 || !isTMError(body, 400, "not modelled") {
		t.Errorf("modify sys httpd: %d %v", code, body)
	}
	// Ottr's clean-up of an earlier run: nothing there yet.
	if out := bash("tmsh delete sys crypto csr otter.csr"); !strings.Contains(out, "was not found") {
		t.Errorf("delete of a missing CSR: %q", out)
	}
	if code, body := call("POST", "/mgmt/tm/sys/crypto/key", map[string]string{"name": "otter.key"}, nil); code != 200 {
		t.Fatalf("create key: %d %v", code, body)
	}
	csrBody := map[string]string{"name": "otter.csr", "key": "otter.key", "common-name": "bigip1.example.com", "organization": "Example Inc",
		"ou": "Network", "state": "California", "city": "San Francisco"}
	if code, body := call("POST", "/mgmt/tm/sys/crypto/csr", csrBody, nil); code != 200 || body["commonName"] != "bigip1.example.com" {
		t.Fatalf("create csr: %d %v", code, body)
	}
	if code, body := call("POST", "/mgmt/tm/sys/crypto/csr", csrBody, nil); code != 409 || !isTMError(body, 409, "already exists") {
		t.Errorf("second csr of the same name: %d %v", code, body)
	}
	if code, body := call("POST", "/mgmt/tm/sys/crypto/csr", map[string]string{"name": "x.csr", "key": "otter.key", "commonName": "x", "challenge-password": "p"}, nil); code != 400 || !isTMError(body, 400, "challenge-password is not modelled") {
		t.Errorf("unmodelled csr property: %d %v", code, body)
	}
	out := bash("tmsh list sys crypto csr otter.csr")
	i := strings.LastIndex(out, "-----BEGIN CERTIFICATE REQUEST-----")
	if i < 0 {
		t.Fatalf("csr listing: %q", out)
	}
	block, _ := pem.Decode([]byte(out[i:]))
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := csr.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
		t.Errorf("the box's default key is not RSA-2048: %T", csr.PublicKey)
	}
	s := csr.Subject
	if fmt.Sprint(s.Organization, s.OrganizationalUnit, s.Province, s.Locality) != "[Example Inc] [Network] [California] [San Francisco]" {
		t.Errorf("CSR subject %v", s)
	}
	if cat := bash("cat /config/ssl/ssl.csr/otter.csr"); !strings.Contains(out, cat) || cat == "" {
		t.Errorf("cat of the CSR file %q is not what tmsh lists", cat)
	}
	chain := testpki.NewCA("Test CA").Sign(csr, 24*time.Hour)
	uploadFile(t, call, "otter.crt", ottr.EncodeChain(chain[:1]))

	_, keyItem := call("GET", "/mgmt/tm/sys/file/ssl-key/~Common~otter.key", nil, nil)
	cachePath, _ := keyItem["cachePath"].(string)
	for _, c := range []string{
		"cp /config/httpd/conf/ssl.crt/server.crt /config/httpd/conf/ssl.crt/server.crt.backup",
		"cp /config/httpd/conf/ssl.key/server.key /config/httpd/conf/ssl.key/server.key.backup",
		"cp " + cachePath + " /config/httpd/conf/ssl.key/server.key",
		"cp /var/config/rest/downloads/otter.crt /config/httpd/conf/ssl.crt/server.crt",
	} {
		if out := bash(c); out != "" {
			t.Fatalf("%s: %q", c, out)
		}
	}
	// The files changed; httpd serves what it loaded until it restarts.
	if got, _ := served(dev); !got.Equal(factory) {
		t.Error("httpd picked up the files without a restart")
	}
	pub := bash("openssl pkey -in /config/httpd/conf/ssl.key/server.key -pubout")
	der, _ := x509.MarshalPKIXPublicKey(chain[0].PublicKey)
	if pub != string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})) {
		t.Errorf("public half of the placed key: %q", pub)
	}
	bash("tmsh restart /sys service httpd")
	awaitServed(t, dev, chain[0])

	// Shell errors come back as output, as on the device.
	for cmd, want := range map[string]string{
		"cp /var/tmp/nothing /var/tmp/x": "cp: cannot stat '/var/tmp/nothing': No such file or directory",
		"cat /var/tmp/nothing":           "cat: /var/tmp/nothing: No such file or directory",
		"rm /var/tmp/nothing":            "rm: cannot remove '/var/tmp/nothing': No such file or directory",
		"rm -f /var/tmp/nothing":         "",
	} {
		if out := bash(cmd); strings.TrimSpace(out) != want {
			t.Errorf("%s: %q, want %q", cmd, out, want)
		}
	}
	// What is not modelled is refused, never run.
	for _, cmd := range []string{
		"cp /config/httpd/conf/ssl.crt/server.crt /etc/passwd",
		"cp /config/httpd/conf/ssl.crt/server.crt /tmp/x; rm -rf /config",
		"cat /config/httpd/conf/ssl.crt/*.crt",
		"echo $HOME",
		"openssl x509 -in /config/httpd/conf/ssl.crt/server.crt -noout -text",
		"bigstart stop httpd",
		"tmsh delete sys crypto cert otter.crt",
	} {
		code, body := call("POST", "/mgmt/tm/util/bash", map[string]string{"command": "run", "utilCmdArgs": "-c '" + cmd + "'"}, nil)
		if code != 400 || !isTMError(body, 400, "not modelled") {
			t.Errorf("%s: %d %v", cmd, code, body)
		}
	}

	// A key that is not the certificate's: httpd does not start, and the
	// management port, REST included, refuses connections.
	if out := bash("cp /config/httpd/conf/ssl.key/server.key.backup /config/httpd/conf/ssl.key/server.key"); out != "" {
		t.Fatal(out)
	}
	bash("bigstart restart httpd")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := served(dev); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("httpd still serves after a restart with a key that does not match")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if running, why, _ := dev.HTTPD(); running || !strings.Contains(why, "key values mismatch") {
		t.Errorf("httpd running %v: %s", running, why)
	}
	if err := dev.StartHTTPD(); err == nil {
		t.Error("httpd started with the files unchanged")
	}
	// On the console: the backup put back, httpd starts with the old pair.
	dev.WriteFile(bigip.HTTPDCert, dev.File(bigip.HTTPDCert+".backup"))
	if err := dev.StartHTTPD(); err != nil {
		t.Fatal(err)
	}
	awaitServed(t, dev, factory)
	if code, _ := call("GET", "/mgmt/tm/sys/version", nil, nil); code != 200 {
		t.Errorf("REST after httpd started again: %d", code)
	}
}
