package fortigate_test

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/fortigate"
)

const modelToken = "modelToken0123456789abcdefghij"

type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func newClient(t *testing.T, dev *fortigate.Device) *client {
	return &client{t: t, base: "https://" + dev.Addr + "/api/v2/",
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}} //nolint:gosec // the simulator's own certificate
}

// do sends a request with the token and returns the HTTP status and the
// envelope (nil for a body that is not JSON), or the transport error.
func (c *client) do(method, path string, body any) (int, map[string]any, error) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+modelToken)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env map[string]any
	_ = json.Unmarshal(raw, &env)
	return resp.StatusCode, env, nil
}

func (c *client) must(method, path string, body any, status int, code float64) map[string]any {
	c.t.Helper()
	got, env, err := c.do(method, path, body)
	if err != nil || got != status || (code != 0 && env["error"] != code) {
		c.t.Fatalf("%s %s: HTTP %d %v %v, want %d error %v", method, path, got, env, err, status, code)
	}
	return env
}

func startModel(t *testing.T) *fortigate.Device {
	t.Helper()
	dev, err := fortigate.Start(modelToken)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

func generate(c *client, name string) {
	c.t.Helper()
	c.must("POST", "monitor/vpn-certificate/csr/generate", map[string]any{"certname": name, "subject": "fw.example.com", "keytype": "ec",
		"subject_alt_name": "DNS:fw.example.com"}, 200, 0)
}

// The import faults: a connection dropped before the certificate is
// stored changes nothing; one dropped after it leaves it stored, and the
// repeated import is then refused as FortiOS refuses any repeat (-23).
func TestImportFaults(t *testing.T) {
	dev := startModel(t)
	c := newClient(t, dev)
	generate(c, "web")
	ca := testpki.NewCA("CA")
	csr := dev.Certificates()["web"].CSR
	body := map[string]any{"type": "local", "file_content": base64.StdEncoding.EncodeToString(ottr.EncodeChain(ca.Sign(csr, time.Hour)))}
	dev.SetFaults(fortigate.Faults{DropImport: true})
	if _, _, err := c.do("POST", "monitor/vpn-certificate/local/import", body); err == nil {
		t.Fatal("the dropped import answered")
	}
	if dev.Certificates()["web"].CSR == nil {
		t.Fatal("a dropped import stored the certificate")
	}
	dev.SetFaults(fortigate.Faults{DropImportAnswer: true})
	if _, _, err := c.do("POST", "monitor/vpn-certificate/local/import", body); err == nil {
		t.Fatal("the import whose answer is lost answered")
	}
	if e := dev.Certificates()["web"]; e.CSR != nil || len(e.Chain) != 2 {
		t.Fatalf("after the lost answer: %+v", e)
	}
	dev.SetFaults(fortigate.Faults{})
	c.must("POST", "monitor/vpn-certificate/local/import", body, 500, -23)
}

// Binding: the administration port and the portal present what
// admin-server-cert and servercert name; during an httpsd restart the
// administration port still presents the previous certificate.
func TestBindingsAndRestart(t *testing.T) {
	dev := startModel(t)
	c := newClient(t, dev)
	factory := presented(t, dev.Addr)
	ca := testpki.NewCA("CA")
	csr, key := testpki.CSR("fw.example.com", "fw.example.com")
	chain := ca.Sign(csr, time.Hour)
	dev.Preload("corp", key, chain)
	dev.SetFaults(fortigate.Faults{RestartFor: 300 * time.Millisecond})
	env := c.must("PUT", "cmdb/system/global", map[string]any{"admin-server-cert": "corp"}, 200, 0)
	if env["revision_changed"] != true || env["old_revision"] == env["revision"] {
		t.Errorf("PUT: %v", env)
	}
	if !presented(t, dev.Addr).Equal(factory) {
		t.Error("the new certificate is presented before httpsd restarted")
	}
	time.Sleep(400 * time.Millisecond)
	if !presented(t, dev.Addr).Equal(chain[0]) {
		t.Error("the new certificate is not presented after the restart")
	}
	if env := c.must("PUT", "cmdb/system/global", map[string]any{"admin-server-cert": "corp"}, 200, 0); env["revision_changed"] != false {
		t.Errorf("the same binding again: %v", env)
	}
	c.must("PUT", "cmdb/vpn.ssl/settings", map[string]any{"json": map[string]any{"servercert": "corp"}}, 200, 0)
	if !presented(t, dev.VPNAddr).Equal(chain[0]) {
		t.Error("the portal does not present servercert")
	}
	c.must("PUT", "cmdb/vpn.ssl/settings", map[string]any{"port": 1}, 400, 0)
	c.must("PUT", "cmdb/system/global", map[string]any{"admin-server-cert": 7}, 424, 0)
	c.must("DELETE", "cmdb/system/global", nil, 405, 0)
}

// The local table: creating an entry from a PEM certificate and key,
// replacing them, refusals, references from unmodelled tables, factory
// certificates, the scope and parameters.
func TestLocalTable(t *testing.T) {
	dev := startModel(t)
	c := newClient(t, dev)
	ca := testpki.NewCA("CA")
	csr, key := testpki.CSR("a.example.com", "a.example.com")
	keyPEM, _ := testpki.MarshalKey(key)
	certPEM := string(ottr.EncodeChain(ca.Sign(csr, time.Hour)))
	env := c.must("POST", "cmdb/vpn.certificate/local", map[string]any{"name": "a", "certificate": certPEM, "private-key": string(keyPEM), "comments": "c"}, 200, 0)
	if env["mkey"] != "a" {
		t.Errorf("POST: %v", env)
	}
	c.must("POST", "cmdb/vpn.certificate/local", map[string]any{"name": "a", "certificate": certPEM, "private-key": string(keyPEM)}, 500, -5)
	other, otherKey := testpki.CSR("b.example.com", "b.example.com")
	otherKeyPEM, _ := testpki.MarshalKey(otherKey)
	c.must("POST", "cmdb/vpn.certificate/local", map[string]any{"name": "b", "certificate": certPEM, "private-key": string(otherKeyPEM)}, 500, -651)
	c.must("POST", "cmdb/vpn.certificate/local", map[string]any{"name": "b", "certificate": certPEM}, 500, -651)
	c.must("POST", "cmdb/vpn.certificate/local", map[string]any{"name": "b", "csr": "x"}, 400, 0)
	newCert := string(ottr.EncodeChain(ca.Sign(other, time.Hour)))
	if env := c.must("PUT", "cmdb/vpn.certificate/local/a", map[string]any{"certificate": newCert, "private-key": string(otherKeyPEM)}, 200, 0); env["revision_changed"] != true {
		t.Errorf("PUT: %v", env)
	}
	if !ottr.SamePublicKey(dev.Certificates()["a"].Key, otherKey.Public()) {
		t.Error("the certificate and key were not replaced")
	}
	c.must("PUT", "cmdb/vpn.certificate/local/nope", map[string]any{"comments": "x"}, 404, -3)
	c.must("PUT", "cmdb/vpn.certificate/local/"+fortigate.FactoryVPN, map[string]any{"certificate": newCert, "private-key": string(otherKeyPEM)}, 500, -37)
	dev.AddReference("a", fortigate.Reference{Path: "firewall", Name: "ssl-ssh-profile", Attribute: "server-cert"})
	c.must("DELETE", "cmdb/vpn.certificate/local/a", nil, 500, -23)
	if err := dev.Bind("", "a"); err != nil {
		t.Fatal(err)
	}
	if env := c.must("DELETE", "cmdb/vpn.certificate/local/a", nil, 500, -23); !strings.Contains(env["cli_error"].(string), "used by other 2 entries") {
		t.Errorf("DELETE: %v", env)
	}
	if err := dev.Bind("", fortigate.FactoryVPN); err != nil {
		t.Fatal(err)
	}
	generate(c, "pending")
	c.must("DELETE", "cmdb/vpn.certificate/local/pending", nil, 200, 0)
	// A factory certificate nothing uses is still not deleted.
	c.must("PUT", "cmdb/vpn.ssl/settings", map[string]any{"servercert": fortigate.FactoryGUI}, 200, 0)
	c.must("DELETE", "cmdb/vpn.certificate/local/"+fortigate.FactoryVPN, nil, 500, -37)

	c.must("POST", "monitor/vpn-certificate/csr/generate", map[string]any{"certname": "v", "subject": "v.example.com", "keytype": "rsa", "keysize": "1024"}, 200, 0)
	env = c.must("GET", "cmdb/vpn.certificate/local?scope=vdom&format=name|range", nil, 200, 0)
	if list := env["results"].([]any); len(list) != 1 || list[0].(map[string]any)["name"] != "v" || len(list[0].(map[string]any)) != 2 || env["size"] != 1.0 {
		t.Errorf("scope=vdom: %v", env)
	}
	env = c.must("GET", "cmdb/vpn.certificate/local?filter=name=@fortinet,name==v&filter=source!=factory", nil, 200, 0)
	if list := env["results"].([]any); len(list) != 1 {
		t.Errorf("filters: %v", list)
	}
	c.must("GET", "cmdb/vpn.certificate/local?filter=name", nil, 400, 0)
	c.must("GET", "cmdb/vpn.certificate/local?with_meta=1", nil, 400, 0)
	c.must("GET", "cmdb/vpn.certificate/local?start=0", nil, 400, 0)
	c.must("GET", "cmdb/system/global?global=1", nil, 200, 0)
	c.must("GET", "cmdb/firewall/address", nil, 404, 0)
	c.must("POST", "monitor/vpn-certificate/csr/generate", map[string]any{"certname": "p", "subject": "p.example.com", "keytype": "rsa", "password": "x"}, 424, 0)
	c.must("POST", "monitor/vpn-certificate/local/import", map[string]any{"type": "pkcs12", "file_content": "AA=="}, 424, 0)
	c.must("GET", "monitor/vpn-certificate/csr/generate", nil, 405, 0)
}
