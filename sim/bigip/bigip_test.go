package bigip_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/bigip"
)

// TestDocumentedClient drives the simulator the way F5's documentation and
// Ottr's own f5 container do, without the driver: HTTP Basic, the util/bash
// CSR listing, chunked uploads, crypto cert install, certKeyChain.
func TestDocumentedClient(t *testing.T) {
	dev, err := bigip.Start("admin", "Adm1n.Passw0rd", "clientssl")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // factory certificate
	call := func(method, path string, body any, hdr map[string]string) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		switch b := body.(type) {
		case []byte:
			rd = bytes.NewReader(b)
		case nil:
		default:
			j, _ := json.Marshal(b)
			rd = bytes.NewReader(j)
		}
		req, _ := http.NewRequest(method, "https://"+dev.Addr+path, rd)
		req.SetBasicAuth("admin", "Adm1n.Passw0rd")
		req.Header.Set("Content-Type", "application/json")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}

	// Without credentials: the framework's error body, and httpd's
	// Basic realm.
	resp, _ := hc.Get("https://" + dev.Addr + "/mgmt/tm/sys")
	var e map[string]any
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if resp.StatusCode != 401 || e["kind"] != ":resterrorresponse" {
		t.Errorf("no auth: %d %v", resp.StatusCode, e)
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != `Basic realm="Enterprise Manager"` {
		t.Errorf("no auth: WWW-Authenticate %q, want the Enterprise Manager realm", got)
	}
	if code, body := call("POST", "/mgmt/shared/authn/login", map[string]string{"username": "admin", "password": "x", "loginProviderName": "tmos"}, nil); code != 401 || body["message"] != "Authentication failed." {
		t.Errorf("bad login: %d %v", code, body)
	}

	// Ottr's v14 calls: key, then CSR listed through the advanced shell.
	if code, body := call("POST", "/mgmt/tm/sys/crypto/key", map[string]any{"name": "otter.key", "commonName": "lb.example.com",
		"subjectAlternativeName": "DNS:lb.example.com, DNS:www.example.com", "options": []map[string]string{{"gen-csr": "otter"}}}, nil); code != 200 {
		t.Fatalf("create key: %d %v", code, body)
	}
	if code, body := call("POST", "/mgmt/tm/sys/crypto/key", map[string]any{"name": "otter.key"}, nil); code != 409 || !strings.Contains(fmt.Sprint(body["message"]), "already exists") {
		t.Errorf("duplicate key: %d %v", code, body)
	}
	_, res := call("POST", "/mgmt/tm/util/bash", map[string]string{"command": "run", "utilCmdArgs": "-c 'tmsh list sys crypto csr otter'"}, nil)
	out := fmt.Sprint(res["commandResult"])
	block, _ := pem.Decode([]byte(out[strings.LastIndex(out, "-----BEGIN CERTIFICATE REQUEST-----"):]))
	if block == nil {
		t.Fatalf("bash: %v", res)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil || len(csr.DNSNames) != 2 {
		t.Fatalf("CSR: %v %v", err, csr)
	}
	chain := testpki.NewCA("Test CA").Sign(csr, 24*time.Hour)
	leafPEM := ottr.EncodeChain(chain[:1])

	// Install from a file that was never uploaded: F5's message.
	if code, body := call("POST", "/mgmt/tm/sys/crypto/cert", map[string]string{"command": "install", "name": "otter.crt", "from-local-file": "/var/config/rest/downloads/otter.crt"}, nil); code != 400 || !strings.Contains(fmt.Sprint(body["message"]), "does not exist") {
		t.Errorf("install without upload: %d %v", code, body)
	}
	// Two chunks, then a chunk that does not follow.
	half := len(leafPEM) / 2
	for _, part := range [][2]int{{0, half}, {half, len(leafPEM)}} {
		rng := fmt.Sprintf("%d-%d/%d", part[0], part[1]-1, len(leafPEM))
		if code, body := call("POST", "/mgmt/shared/file-transfer/uploads/otter.crt", leafPEM[part[0]:part[1]], map[string]string{"Content-Type": "application/octet-stream", "Content-Range": rng}); code != 200 {
			t.Fatalf("upload %s: %d %v", rng, code, body)
		}
	}
	if code, _ := call("POST", "/mgmt/shared/file-transfer/uploads/x.crt", []byte("abc"), map[string]string{"Content-Range": "5-7/10"}); code != 400 {
		t.Errorf("out-of-order chunk: %d", code)
	}
	if code, body := call("POST", "/mgmt/tm/sys/crypto/cert", map[string]string{"command": "install", "name": "otter.crt", "from-local-file": "/var/config/rest/downloads/otter.crt"}, nil); code != 200 {
		t.Fatalf("install: %d %v", code, body)
	}
	// A key that does not match is refused; the right one is accepted.
	if code, body := call("PATCH", "/mgmt/tm/ltm/profile/client-ssl/~Common~clientssl", map[string]any{"certKeyChain": []map[string]string{{"name": "default", "cert": "/Common/otter.crt", "key": "/Common/default.key"}}}, nil); code != 400 || !strings.Contains(fmt.Sprint(body["message"]), "do not match") {
		t.Errorf("mismatched key: %d %v", code, body)
	}
	if code, body := call("PATCH", "/mgmt/tm/ltm/profile/client-ssl/~Common~clientssl", map[string]any{"certKeyChain": []map[string]string{{"name": "default", "cert": "/Common/otter.crt", "key": "/Common/otter.key"}}}, nil); code != 200 {
		t.Fatalf("bind: %d %v", code, body)
	}
	if _, _, saved := dev.State(); saved {
		t.Error("a change counts as saved before sys config save")
	}
	if code, body := call("DELETE", "/mgmt/tm/sys/file/ssl-cert/~Common~otter.crt", nil, nil); code != 400 || !strings.Contains(fmt.Sprint(body["message"]), "in use") {
		t.Errorf("delete in use: %d %v", code, body)
	}
	if code, _ := call("POST", "/mgmt/tm/sys/config", map[string]string{"command": "save"}, nil); code != 200 {
		t.Error("save")
	}
	if _, _, saved := dev.State(); !saved {
		t.Error("not saved after sys config save")
	}
	conn, err := tls.Dial("tcp", dev.VirtualAddr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading what is served
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if !conn.ConnectionState().PeerCertificates[0].Equal(chain[0]) {
		t.Error("the virtual server does not present the bound certificate")
	}
}
