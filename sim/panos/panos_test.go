package panos_test

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"crypto/x509"

	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/panos"
)

// client is what the vendor documents, written without the driver: GET
// query strings with key= (PAN-OS 8 style, pan-python's GET mode) and
// multipart imports with every parameter as a form field (acme.sh style).
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func (c *client) get(q url.Values) (int, string) {
	c.t.Helper()
	resp, err := c.http.Get(c.base + "/api/?" + q.Encode())
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (c *client) upload(fields map[string]string, file []byte) string {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "cert.pem")
	fw.Write(file)
	mw.Close()
	resp, err := c.http.Post(c.base+"/api/", mw.FormDataContentType(), &buf)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func between(s, open, close string) string {
	i := strings.Index(s, open)
	if i < 0 {
		return ""
	}
	s = s[i+len(open):]
	j := strings.Index(s, close)
	if j < 0 {
		return ""
	}
	return s[:j]
}

func TestDocumentedClient(t *testing.T) {
	dev, err := panos.Start("admin", "Adm1n.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	c := &client{t: t, base: "https://" + dev.Addr, http: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}} //nolint:gosec // the factory certificate

	code, body := c.get(url.Values{"type": {"keygen"}, "user": {"admin"}, "password": {"nope"}})
	if code != 403 || !strings.Contains(body, "Invalid Credential") || !strings.Contains(body, "status = 'error'") {
		t.Errorf("bad keygen: %d %s", code, body)
	}
	_, body = c.get(url.Values{"type": {"keygen"}, "user": {"admin"}, "password": {"Adm1n.Passw0rd"}})
	key := between(body, "<key>", "</key>")
	if key == "" {
		t.Fatalf("keygen: %s", body)
	}
	if code, body := c.get(url.Values{"type": {"version"}, "key": {"bogus"}}); code != 403 || !strings.Contains(body, `code="403"`) {
		t.Errorf("bad key: %d %s", code, body)
	}
	if _, body := c.get(url.Values{"type": {"version"}, "key": {key}}); !strings.Contains(body, "<sw-version>") {
		t.Errorf("version: %s", body)
	}
	// An absent node is success with code 7, not an error.
	_, body = c.get(url.Values{"type": {"config"}, "action": {"get"}, "key": {key}, "xpath": {"/config/shared/certificate/entry[@name='nope']"}})
	if !strings.Contains(body, `status="success" code="7"`) {
		t.Errorf("absent node: %s", body)
	}
	// Bad xpath: HTTP 200 with status="error".
	if code, body := c.get(url.Values{"type": {"config"}, "action": {"get"}, "key": {key}, "xpath": {"/config/nonsense"}}); code != 200 || !strings.Contains(body, `status="error"`) {
		t.Errorf("bad xpath: %d %s", code, body)
	}
	if _, body := c.get(url.Values{"type": {"commit"}, "key": {key}, "cmd": {"<commit></commit>"}}); !strings.Contains(body, "There are no changes to commit.") || strings.Contains(body, "<job>") {
		t.Errorf("empty commit: %s", body)
	}

	// Generate RSA on the box, export the CSR, sign, import, bind, commit.
	gen := "<request><certificate><generate><certificate-name>acme-fw</certificate-name><name>fw.example.com</name>" +
		"<algorithm><RSA><rsa-nbits>2048</rsa-nbits></RSA></algorithm><digest>sha256</digest>" +
		"<hostname><member>fw.example.com</member><member>gp.example.com</member></hostname><ca>no</ca><signed-by>external</signed-by></generate></certificate></request>"
	if _, body := c.get(url.Values{"type": {"op"}, "key": {key}, "cmd": {gen}}); !strings.Contains(body, `status="success"`) {
		t.Fatalf("generate: %s", body)
	}
	if _, body := c.get(url.Values{"type": {"op"}, "key": {key}, "cmd": {gen}}); !strings.Contains(body, "already exists") {
		t.Errorf("duplicate name: %s", body)
	}
	_, csrPEM := c.get(url.Values{"type": {"export"}, "key": {key}, "category": {"certificate"}, "certificate-name": {"acme-fw"}, "format": {"pkcs10"}, "include-key": {"no"}})
	block, _ := pem.Decode([]byte(csrPEM))
	if block == nil {
		t.Fatalf("export: %s", csrPEM)
	}
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil || csr.Subject.CommonName != "fw.example.com" || len(csr.DNSNames) != 2 || csr.CheckSignature() != nil {
		t.Fatalf("CSR: %v %+v", err, csr)
	}
	ca := testpki.NewCA("Test CA")
	chain := ca.Sign(csr, 24*time.Hour)
	var full []byte
	for _, x := range chain {
		full = append(full, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: x.Raw})...)
	}
	if body := c.upload(map[string]string{"type": "import", "category": "certificate", "certificate-name": "acme-fw", "format": "pem", "key": key}, full); !strings.Contains(body, `status="success"`) {
		t.Fatalf("import: %s", body)
	}
	other2 := testpki.NewCA("Other").Sign(csr, time.Hour) // same key: accepted
	if body := c.upload(map[string]string{"type": "import", "category": "certificate", "certificate-name": "acme-fw", "format": "pem", "key": key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: other2[0].Raw})); !strings.Contains(body, `status="success"`) {
		t.Errorf("re-import on the same key: %s", body)
	}
	c.upload(map[string]string{"type": "import", "category": "certificate", "certificate-name": "acme-fw", "format": "pem", "key": key}, full)
	set := func(xpath, element string) string {
		_, body := c.get(url.Values{"type": {"config"}, "action": {"set"}, "key": {key}, "xpath": {xpath}, "element": {element}})
		return body
	}
	if body := set("/config/shared/ssl-tls-service-profile/entry[@name='mgmt']",
		"<protocol-settings><min-version>tls1-2</min-version><max-version>max</max-version></protocol-settings><certificate>acme-fw</certificate>"); !strings.Contains(body, `code="20"`) {
		t.Fatalf("set profile: %s", body)
	}
	if body := set("/config/devices/entry[@name='localhost.localdomain']/deviceconfig/system", "<ssl-tls-service-profile>mgmt</ssl-tls-service-profile>"); !strings.Contains(body, `code="20"`) {
		t.Fatalf("set system: %s", body)
	}
	// Still the factory certificate: nothing is live before the commit.
	if got := servedLeaf(t, dev.Addr); got.Equal(chain[0]) {
		t.Fatal("candidate changes served before commit")
	}
	_, body = c.get(url.Values{"type": {"commit"}, "key": {key}, "cmd": {"<commit><partial><admin><member>admin</member></admin></partial></commit>"}})
	job := between(body, "<job>", "</job>")
	if job == "" {
		t.Fatalf("commit: %s", body)
	}
	for i := 0; ; i++ {
		_, body = c.get(url.Values{"type": {"op"}, "key": {key}, "cmd": {"<show><jobs><id>" + job + "</id></jobs></show>"}})
		if between(body, "<status>", "</status>") == "FIN" {
			break
		}
		if i > 10 {
			t.Fatalf("job never finished: %s", body)
		}
	}
	if between(body, "<result><job>", "</job>") == "" || !strings.Contains(body, "<result>OK</result>") {
		t.Errorf("job: %s", body)
	}
	if got := servedLeaf(t, dev.Addr); !got.Equal(chain[0]) {
		t.Errorf("after commit the device serves %s", got.Subject)
	}
	// In use: cannot be deleted.
	_, body = c.get(url.Values{"type": {"config"}, "action": {"delete"}, "key": {key}, "xpath": {"/config/shared/certificate/entry[@name='acme-fw']"}})
	if !strings.Contains(body, `status="error"`) || !strings.Contains(body, "references") {
		t.Errorf("delete in use: %s", body)
	}
	// The running config shows the entry with its expiry.
	_, body = c.get(url.Values{"type": {"config"}, "action": {"show"}, "key": {key}, "xpath": {"/config/shared/certificate"}})
	if !strings.Contains(body, "<expiry-epoch>") || !strings.Contains(body, `<entry name="acme-fw">`) {
		t.Errorf("show certificates: %s", body)
	}
}

func servedLeaf(t *testing.T, addr string) *x509.Certificate {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading what is served
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

// Each API key is a session: who generated it, when, and when it was last
// used, so a test can tell whether two clients worked on one device at once.
func TestSessions(t *testing.T) {
	dev, err := panos.Start("admin", "Adm1n.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	dev.AddUser("ottr-r1", "R1.Passw0rd")
	c := &client{t: t, base: "https://" + dev.Addr, http: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}} //nolint:gosec // the factory certificate
	login := func(user, pw string) string {
		_, body := c.get(url.Values{"type": {"keygen"}, "user": {user}, "password": {pw}})
		key := between(body, "<key>", "</key>")
		if key == "" {
			t.Fatalf("keygen as %s: %s", user, body)
		}
		return key
	}
	k1 := login("admin", "Adm1n.Passw0rd")
	k2 := login("ottr-r1", "R1.Passw0rd")
	c.get(url.Values{"type": {"version"}, "key": {k2}})
	c.get(url.Values{"type": {"version"}, "key": {k1}})
	c.get(url.Values{"type": {"version"}, "key": {k1}})
	c.get(url.Values{"type": {"version"}, "key": {"bogus"}})
	ss := dev.Sessions()
	if len(ss) != 2 {
		t.Fatalf("%d sessions, want 2: %+v", len(ss), ss)
	}
	if ss[0].User != "admin" || ss[0].Calls != 3 || ss[1].User != "ottr-r1" || ss[1].Calls != 2 {
		t.Errorf("sessions %+v: want admin with 3 calls (keygen included), then ottr-r1 with 2", ss)
	}
	// admin's key was used after ottr-r1's was made: the spans overlap.
	if !ss[1].First.Before(ss[0].Last) || !ss[0].First.Before(ss[1].First) {
		t.Errorf("spans %v–%v and %v–%v: want the second inside the first", ss[0].First, ss[0].Last, ss[1].First, ss[1].Last)
	}
}
