package lighthouse_test

import (
	"archive/zip"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"crypto/x509"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/lighthouse"
)

// TestDocumentedClient follows Opengear's RAML and Ottr's own Lighthouse
// container, without the driver.
func TestDocumentedClient(t *testing.T) {
	dev, err := lighthouse.Start("root", "Default.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	base := "https://" + dev.Addr + "/api/v3.4"
	send := sender(t)
	code, b := send("POST", base+"/sessions", "", map[string]string{"username": "root", "password": "x"})
	if code != 401 || !strings.Contains(string(b), `"text":"Invalid login credentials"`) {
		t.Errorf("bad login: %d %s", code, b)
	}
	_, b = send("POST", base+"/sessions", "", map[string]string{"username": "root", "password": "Default.Passw0rd"})
	var sess struct{ State, Session string }
	json.Unmarshal(b, &sess)
	if sess.State != "authenticated" || sess.Session == "" {
		t.Fatalf("login: %s", b)
	}
	if code, _ := send("GET", base+"/services/https", "", nil); code != 401 {
		t.Errorf("no token: %d", code)
	}
	// Ottr's calls: a new CSR, then fetch it from the link in the answer.
	_, b = send("PUT", base+"/services/https", sess.Session, map[string]any{"https": map[string]any{"common_name": "lh.example.com",
		"csr": map[string]any{"csr": "new", "common_name": "lh.example.com", "key_length": 2048, "country": "US"}}})
	var out struct {
		HTTPS struct {
			ValidTo string               `json:"valid_to"`
			CSR     struct{ CSR string } `json:"csr"`
		} `json:"https"`
	}
	json.Unmarshal(b, &out)
	if !strings.HasPrefix(out.HTTPS.CSR.CSR, "https://") || !strings.HasSuffix(out.HTTPS.ValidTo, " GMT") {
		t.Fatalf("CSR answer: %s", b)
	}
	_, p := send("GET", out.HTTPS.CSR.CSR, sess.Session, nil)
	block, _ := pem.Decode(p)
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil || csr.Subject.CommonName != "lh.example.com" {
		t.Fatalf("CSR: %v", err)
	}
	// The RAML's download: a zip holding the CSR.
	_, z := send("GET", base+"/services/https?zip=true", sess.Session, nil)
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil || len(zr.File) != 1 {
		t.Fatalf("zip: %v", err)
	}
	// A certificate for another key: 400 with the error envelope.
	other, _ := testpki.CSR("lh.example.com")
	ca := testpki.NewCA("CA")
	code, b = send("PUT", base+"/services/https", sess.Session, map[string]any{"https": map[string]any{"cert": string(ottr.EncodeChain(ca.Sign(other, time.Hour)))}})
	if code != 400 || !strings.Contains(string(b), "does not match") {
		t.Errorf("mismatched cert: %d %s", code, b)
	}
	chain := ca.Sign(csr, time.Hour)
	// Without https.csr the pending request is cancelled before the
	// upload, so the certificate would not match.
	if code, b := send("PUT", base+"/services/https", sess.Session, map[string]any{"https": map[string]any{"cert": string(ottr.EncodeChain(chain))}}); code != 400 ||
		!strings.Contains(string(b), "does not match") {
		t.Fatalf("upload without https.csr: %d %s", code, b)
	}
	if !dev.Pending() {
		t.Fatal("a refused upload cancelled the pending request")
	}
}

// TestUploadKeepsRequest: with https.csr in the body (no "new"), the
// upload is matched against the pending request's key.
func TestUploadKeepsRequest(t *testing.T) {
	dev, err := lighthouse.Start("root", "Default.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	base := "https://" + dev.Addr + "/api/v3.7"
	send := sender(t)
	_, b := send("POST", base+"/sessions", "", map[string]string{"username": "root", "password": "Default.Passw0rd"})
	var sess struct{ Session string }
	json.Unmarshal(b, &sess)
	csrBody := map[string]any{"common_name": "lh.example.com", "key_length": 2048}
	_, b = send("PUT", base+"/services/https", sess.Session, map[string]any{"https": map[string]any{"csr": map[string]any{"csr": "new", "common_name": "lh.example.com"}}})
	var out struct {
		HTTPS struct {
			CSR struct{ CSR string } `json:"csr"`
		} `json:"https"`
	}
	json.Unmarshal(b, &out)
	_, p := send("GET", out.HTTPS.CSR.CSR, sess.Session, nil)
	block, _ := pem.Decode(p)
	if block == nil {
		t.Fatalf("no CSR: %s", p)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	chain := testpki.NewCA("CA").Sign(csr, time.Hour)
	if code, b := send("PUT", base+"/services/https", sess.Session, map[string]any{"https": map[string]any{"cert": string(ottr.EncodeChain(chain)), "csr": csrBody}}); code != 200 {
		t.Fatalf("install: %d %s", code, b)
	}
	// The web server restarts, then serves the new certificate.
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := tls.Dial("tcp", dev.Addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading what is served
		if err == nil {
			got := conn.ConnectionState().PeerCertificates[0]
			conn.Close()
			if got.Equal(chain[0]) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("new certificate never served")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sender makes JSON calls with Go's client, with the session token.
func sender(t *testing.T) func(method, url, token string, body any) (int, []byte) {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed
	return func(method, url, token string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, url, rd)
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Token "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
}
