package netscaler_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/netscaler"
)

const (
	user = "nsroot"
	pass = "Nitro.Passw0rd"
)

func start(t *testing.T, vservers ...string) *netscaler.Device {
	t.Helper()
	d, err := netscaler.Start(user, pass, vservers...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// client speaks NITRO with X-NITRO-USER/PASS, or a session cookie once
// token is set.
type client struct {
	t     *testing.T
	d     *netscaler.Device
	token string
}

type answer struct {
	status int
	body   map[string]any
	header http.Header
}

func (a answer) code() int {
	if c, ok := a.body["errorcode"].(float64); ok {
		return int(c)
	}
	return -1
}

func (c *client) do(method, path string, body any) answer {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "https://"+c.d.Addr+"/nitro/v1/config/"+path, rd)
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Cookie", "NITRO_AUTH_TOKEN="+c.token)
	} else {
		req.Header.Set("X-NITRO-USER", user)
		req.Header.Set("X-NITRO-PASS", pass)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the simulator's self-signed management certificate
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			c.t.Fatalf("%s %s: answer %q is not JSON", method, path, raw)
		}
	}
	return a
}

// must asserts a call's HTTP status and errorcode (0 for success, whose
// configuration changes come without a body).
func (c *client) must(status, code int, method, path string, body any) answer {
	c.t.Helper()
	a := c.do(method, path, body)
	got := a.code()
	if got == -1 && a.status < 300 {
		got = 0
	}
	if a.status != status || got != code {
		c.t.Fatalf("%s %s: %d %v, want %d errorcode %d", method, path, a.status, a.body, status, code)
	}
	return a
}

func TestSessions(t *testing.T) {
	d := start(t)
	c := &client{t: t, d: d}
	c.token = "none"
	c.must(401, 444, "GET", "nsversion", nil)
	c.token = ""
	if a := c.must(401, 354, "POST", "login", map[string]any{"login": map[string]any{"username": user, "password": "wrong"}}); a.body["message"] != "Invalid username or password" {
		t.Errorf("wrong password: %v", a.body)
	}
	a := c.must(201, 0, "POST", "login", map[string]any{"login": map[string]any{"username": user, "password": pass}})
	id, _ := a.body["sessionid"].(string)
	if !strings.HasPrefix(id, "##") || !strings.Contains(a.header.Get("Set-Cookie"), "NITRO_AUTH_TOKEN="+id) {
		t.Fatalf("login: %v, Set-Cookie %q", a.body, a.header.Get("Set-Cookie"))
	}
	c.token = id
	if v := c.must(200, 0, "GET", "nsversion", nil).body["nsversion"].(map[string]any)["version"]; v != netscaler.Version {
		t.Errorf("version %v", v)
	}
	if d.Sessions() != 1 {
		t.Errorf("%d sessions", d.Sessions())
	}
	d.ExpireSessions()
	c.must(401, 444, "GET", "nsversion", nil)
	c.token = ""
	c.token, _ = c.must(201, 0, "POST", "login", map[string]any{"login": map[string]any{"username": user, "password": pass}}).body["sessionid"].(string)
	c.must(201, 0, "POST", "logout", map[string]any{"logout": map[string]any{}})
	c.must(401, 444, "GET", "nsversion", nil)
	c.token = ""
	d.SetFaults(netscaler.Faults{BadCredentials: true})
	c.must(401, 354, "GET", "nsversion", nil)
	d.SetFaults(netscaler.Faults{})
	c.must(400, 1240, "GET", "lbvserver", nil)
	c.must(400, 1233, "POST", "nsconfig?action=save", "[")
}

// A whole rotation by hand: key and request on the box, the signed
// certificate uploaded, a pair, its issuer linked, bound, saved; what the
// appliance refuses on the way, and an update in place.
func TestCertificateLifecycle(t *testing.T) {
	d := start(t, "vs_www")
	c := &client{t: t, d: d}
	ca := testpki.NewCA("Corp CA")

	c.must(200, 0, "POST", "sslecdsakey?action=create", map[string]any{"sslecdsakey": map[string]any{"keyfile": "www.key", "curve": "P_256"}})
	c.must(409, 1642, "POST", "sslecdsakey?action=create", map[string]any{"sslecdsakey": map[string]any{"keyfile": "www.key", "curve": "P_256"}})
	c.must(599, 1645, "POST", "sslrsakey?action=create", map[string]any{"sslrsakey": map[string]any{"keyfile": "/var/tmp/x.key", "bits": 2048}})
	c.must(400, 1095, "POST", "sslcertreq?action=create", map[string]any{"sslcertreq": map[string]any{"reqfile": "www.csr", "keyfile": "www.key", "countryname": "US"}})
	c.must(400, 278, "POST", "sslcertreq?action=create", map[string]any{"sslcertreq": map[string]any{"reqfile": "www.csr", "keyfile": "www.key", "bogus": 1}})
	c.must(200, 0, "POST", "sslcertreq?action=create", map[string]any{"sslcertreq": map[string]any{"reqfile": "www.csr", "keyfile": "www.key",
		"countryname": "US", "statename": "California", "organizationname": "Example", "commonname": "www.example.com",
		"subjectaltname": "DNS:www.example.com DNS:example.com", "digestmethod": "SHA256"}})
	got := c.must(200, 0, "GET", "systemfile?args=filename:www.csr,filelocation:%2Fnsconfig%2Fssl", nil)
	f := got.body["systemfile"].([]any)[0].(map[string]any)
	raw, _ := base64.StdEncoding.DecodeString(f["filecontent"].(string))
	b, _ := pem.Decode(raw)
	csr, err := x509.ParseCertificateRequest(b.Bytes)
	if err != nil || csr.CheckSignature() != nil || !slices.Equal(csr.DNSNames, []string{"www.example.com", "example.com"}) ||
		csr.Subject.CommonName != "www.example.com" || csr.Subject.Organization[0] != "Example" {
		t.Fatalf("CSR %+v %v", csr, err)
	}
	if _, ok := csr.PublicKey.(*ecdsa.PublicKey); !ok {
		t.Errorf("CSR key %T", csr.PublicKey)
	}
	list := c.must(200, 0, "GET", "systemfile?args=filelocation:%2Fnsconfig%2Fssl", nil).body["systemfile"].([]any)
	if len(list) < 3 || list[0].(map[string]any)["filecontent"] != nil {
		t.Errorf("listing: %v", list)
	}
	c.must(404, 258, "GET", "systemfile/nope.csr?args=filelocation:%2Fnsconfig%2Fssl", nil)

	chain := ca.Sign(csr, time.Hour)
	upload := func(name string, data []byte) {
		c.must(201, 0, "POST", "systemfile", map[string]any{"systemfile": map[string]any{"filename": name, "filelocation": "/nsconfig/ssl/",
			"filecontent": base64.StdEncoding.EncodeToString(data), "fileencoding": "BASE64"}})
	}
	upload("www.crt", testpki.EncodeChain(chain[:1]))
	c.must(409, 1642, "POST", "systemfile", map[string]any{"systemfile": map[string]any{"filename": "www.crt", "filelocation": "/nsconfig/ssl",
		"filecontent": "eA==", "fileencoding": "BASE64"}})
	upload("ca.crt", ca.PEM())
	// The key of another pair does not match.
	c.must(599, 1538, "POST", "sslcertkey", map[string]any{"sslcertkey": map[string]any{"certkey": "www", "cert": "www.crt", "key": "ns-server.key"}})
	c.must(599, 1647, "POST", "sslcertkey", map[string]any{"sslcertkey": map[string]any{"certkey": "www", "cert": "www.crt", "key": "gone.key"}})
	c.must(201, 0, "POST", "sslcertkey", map[string]any{"sslcertkey": map[string]any{"certkey": "www", "cert": "www.crt", "key": "www.key", "inform": "PEM"}})
	c.must(409, 273, "POST", "sslcertkey", map[string]any{"sslcertkey": map[string]any{"certkey": "www2", "cert": "www.crt", "key": "www.key"}})
	c.must(201, 0, "POST", "sslcertkey", map[string]any{"sslcertkey": map[string]any{"certkey": "corp-ca", "cert": "ca.crt"}})
	c.must(599, 1548, "POST", "sslcertkey?action=link", map[string]any{"sslcertkey": map[string]any{"certkey": "www", "linkcertkeyname": "ns-server-certificate"}})
	c.must(200, 0, "POST", "sslcertkey?action=link", map[string]any{"sslcertkey": map[string]any{"certkey": "www", "linkcertkeyname": "corp-ca"}})
	c.must(599, 1547, "PUT", "sslvserver_sslcertkey_binding", map[string]any{"sslvserver_sslcertkey_binding": map[string]any{"vservername": "vs_www", "certkeyname": "corp-ca"}})
	c.must(599, 3712, "PUT", "sslvserver_sslcertkey_binding", map[string]any{"sslvserver_sslcertkey_binding": map[string]any{"vservername": "vs_nope", "certkeyname": "www"}})
	c.must(201, 0, "PUT", "sslvserver_sslcertkey_binding", map[string]any{"sslvserver_sslcertkey_binding": map[string]any{"vservername": "vs_www", "certkeyname": "www"}})
	if d.Saved() {
		t.Error("saved before nsconfig save")
	}
	c.must(200, 0, "POST", "nsconfig?action=save", map[string]any{"nsconfig": map[string]any{}})
	if !d.Saved() || !strings.Contains(d.SavedConfig(), "bind ssl vserver vs_www -certkeyName www\n") || !strings.Contains(d.SavedConfig(), "link ssl certKey www corp-ca\n") {
		t.Errorf("saved configuration:\n%s", d.SavedConfig())
	}
	if peer := served(t, d.VServer("vs_www")); len(peer) != 2 || !peer[0].Equal(chain[0]) || !peer[1].Equal(ca.Cert) {
		t.Fatalf("vs_www presents %d certificates, not the leaf and its issuer", len(peer))
	}
	obj := c.must(200, 0, "GET", "sslcertkey/www", nil).body["sslcertkey"].([]any)[0].(map[string]any)
	if obj["linkcertkeyname"] != "corp-ca" || obj["key"] != "www.key" || obj["status"] != "Valid" || obj["publickey"] != "id-ecPublicKey" {
		t.Errorf("sslcertkey/www: %v", obj)
	}
	c.must(599, 1541, "DELETE", "sslcertkey/www", nil)
	c.must(599, 1541, "DELETE", "sslcertkey/corp-ca", nil)
	c.must(599, 3719, "DELETE", "sslcertkey/ns-server-certificate", nil)

	// Renewal in place: the same key, a new certificate; the binding stays.
	renewed := ca.Sign(csr, 2*time.Hour)
	upload("www-2.crt", testpki.EncodeChain(renewed[:1]))
	c.must(200, 0, "POST", "sslcertkey?action=update", map[string]any{"sslcertkey": map[string]any{"certkey": "www", "cert": "www-2.crt", "key": "www.key", "nodomaincheck": true}})
	if peer := served(t, d.VServer("vs_www")); !peer[0].Equal(renewed[0]) || len(peer) != 2 {
		t.Error("the update is not served")
	}
	if d.Saved() || d.Bound("vs_www") != "www" {
		t.Errorf("after update: saved %v, bound %q", d.Saved(), d.Bound("vs_www"))
	}
	// Another domain needs nodomaincheck.
	other, _ := testpki.CSR("other.example.com", "other.example.com")
	upload("other.crt", testpki.EncodeChain(ca.Sign(other, time.Hour)[:1]))
	c.must(599, 3585, "POST", "sslcertkey?action=update", map[string]any{"sslcertkey": map[string]any{"certkey": "www", "cert": "other.crt", "key": "www.key"}})
	c.must(599, 1538, "POST", "sslcertkey?action=update", map[string]any{"sslcertkey": map[string]any{"certkey": "www", "cert": "other.crt", "key": "www.key", "nodomaincheck": true}})
	// Unbind, unlink, delete.
	c.must(599, 1542, "DELETE", "sslvserver_sslcertkey_binding/vs_www?args=certkeyname:corp-ca", nil)
	c.must(200, 0, "DELETE", "sslvserver_sslcertkey_binding/vs_www?args=certkeyname:www", nil)
	c.must(200, 0, "POST", "sslcertkey?action=unlink", map[string]any{"sslcertkey": map[string]any{"certkey": "www"}})
	c.must(599, 1545, "POST", "sslcertkey?action=unlink", map[string]any{"sslcertkey": map[string]any{"certkey": "www"}})
	c.must(200, 0, "DELETE", "sslcertkey/www", nil)
	c.must(404, 258, "GET", "sslcertkey/www", nil)
	c.must(200, 0, "DELETE", "systemfile/www.crt?args=filelocation:%2Fnsconfig%2Fssl", nil)
	if slices.Contains(d.Files(), "www.crt") || !slices.Contains(d.Files(), "www.key") {
		t.Errorf("files: %v", d.Files())
	}
	if _, err := tls.Dial("tcp", d.VServer("vs_www"), &tls.Config{InsecureSkipVerify: true}); err == nil { //nolint:gosec // probing
		t.Error("a virtual server without a certificate completed a handshake")
	}
}

func TestRSAKeysAndFaults(t *testing.T) {
	d := start(t)
	c := &client{t: t, d: d}
	c.must(200, 0, "POST", "sslrsakey?action=create", map[string]any{"sslrsakey": map[string]any{"keyfile": "r.key", "bits": "2048", "exponent": "F4", "keyform": "PEM"}})
	c.must(599, 1654, "POST", "sslrsakey?action=create", map[string]any{"sslrsakey": map[string]any{"keyfile": "big.key", "bits": 8192}})
	c.must(400, 1240, "POST", "sslrsakey?action=create", map[string]any{"sslrsakey": map[string]any{"keyfile": "enc.key", "bits": 2048, "des3": true, "password": "x"}})
	if b, _ := pem.Decode(d.File("r.key")); b == nil || b.Type != "RSA PRIVATE KEY" {
		t.Errorf("r.key: %q", d.File("r.key"))
	}
	d.SetFaults(netscaler.Faults{DropSANs: true})
	c.must(200, 0, "POST", "sslcertreq?action=create", map[string]any{"sslcertreq": map[string]any{"reqfile": "r.csr", "keyfile": "r.key",
		"countryname": "US", "statename": "CA", "organizationname": "Ex", "commonname": "a.example.com", "subjectaltname": "DNS:a.example.com"}})
	b, _ := pem.Decode(d.File("r.csr"))
	if csr, err := x509.ParseCertificateRequest(b.Bytes); err != nil || len(csr.DNSNames) != 0 {
		t.Errorf("DropSANs: %v %v", csr.DNSNames, err)
	}
	d.SetFaults(netscaler.Faults{ErrorOn: "nsconfig", Errorcode: 293, Message: "Saving the configuration failed"})
	if a := c.do("POST", "nsconfig?action=save", map[string]any{"nsconfig": map[string]any{}}); a.status != 599 || a.body["message"] != "Saving the configuration failed" {
		t.Errorf("fault: %d %v", a.status, a.body)
	}
}

func served(t *testing.T, addr string) []*x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading what is served
	if err != nil {
		t.Fatalf("handshake with %s: %v", addr, err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates
}
