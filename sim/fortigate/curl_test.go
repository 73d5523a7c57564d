package fortigate_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/internal/testtool"
	"github.com/ottr-dev/ottr/sim/fortigate"
)

// answer is one curl call's outcome: HTTP status, headers and the
// envelope.
type answer struct {
	HTTP    string
	Headers string
	Body    string
	meta
	RevisionStr string `json:"revision"`
	Mkey        string `json:"mkey"`
	Path        string `json:"path"`
	Name        string `json:"name"`
	Action      string `json:"action"`
	VDOM        string `json:"vdom"`
}

// TestCurl makes the calls of FortiOS's REST API reference with curl (the
// token as a Bearer header and as access_token, JSON bodies, base64 file
// content, file downloads) and OpenSSL, and asserts the answers: HTTP
// status, the envelope's fields, FortiOS's error numbers and CLI text, the
// files, and what the ports present.
func TestCurl(t *testing.T) {
	curlBin := testtool.Need(t, "curl", "curl")
	opensslBin := testtool.Need(t, "openssl", "openssl")
	const tok = "curlTokenAbCdEf0123456789wxyz"
	dev, err := fortigate.Start(tok)
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	base := "https://" + dev.Addr + "/api/v2/"
	dir := t.TempDir()
	auth := []string{"-H", "Authorization: Bearer " + tok}
	n := 0
	curl := func(args ...string) answer {
		t.Helper()
		n++
		out, hdr := filepath.Join(dir, "body"), filepath.Join(dir, "headers")
		cmd := exec.Command(curlBin, append([]string{"-sS", "-k", "--max-time", "20", "-o", out, "-D", hdr, "-w", "%{http_code}"}, args...)...)
		code, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		body, _ := os.ReadFile(out)
		h, _ := os.ReadFile(hdr)
		a := answer{HTTP: string(code), Body: string(body), Headers: string(h)}
		if strings.Contains(a.Headers, "application/json") {
			if err := json.Unmarshal(body, &a); err != nil {
				t.Fatalf("curl %v: not JSON (%v): %s", args, err, body)
			}
		}
		return a
	}
	openssl := func(stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command(opensslBin, args...)
		cmd.Stdin = strings.NewReader(stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	expect := func(what string, a answer, http string, status string, code int) {
		t.Helper()
		if a.HTTP != http || a.Status != status || a.Error != code || (a.HTTPStatus != 0 && a.HTTPStatus != atoi(http)) {
			t.Errorf("%s: HTTP %s status %q error %d (http_status %d), want HTTP %s %q %d\n%s", what, a.HTTP, a.Status, a.Error, a.HTTPStatus, http, status, code, a.Body)
		}
	}

	// Authentication: none, a wrong token, the token as a parameter and
	// as a header; a refusal tells nothing about the device.
	a := curl(base + "monitor/system/status")
	expect("no token", a, "401", "error", 0)
	if a.Serial != "" || a.Version != "" {
		t.Errorf("an unauthenticated answer tells the device: %s", a.Body)
	}
	expect("wrong token", curl("-H", "Authorization: Bearer nope", base+"monitor/system/status"), "401", "error", 0)
	a = curl(base + "monitor/system/status?vdom=root&access_token=" + tok)
	expect("access_token", a, "200", "success", 0)
	if a.Serial != fortigate.Serial || a.Version != fortigate.Version || a.Build != fortigate.Build || a.VDOM != "root" || a.Path != "system" || a.Name != "status" {
		t.Errorf("status envelope: %s", a.Body)
	}
	expect("bearer", curl(append(auth, base+"monitor/system/status")...), "200", "success", 0)
	expect("another VDOM", curl(append(auth, base+"monitor/system/status?vdom=branch")...), "403", "error", 0)
	expect("unknown endpoint", curl(append(auth, base+"monitor/system/nonesuch")...), "404", "error", 0)

	// A key and request made on the device, downloaded as a file.
	a = curl(append(auth, "-X", "POST", "-H", "Content-Type: application/json", "-d",
		`{"certname":"web-2025","subject":"web.example.com","keytype":"ec","curvename":"secp256r1","org":"Example Inc","orgunits":["IT","Security"],`+
			`"countrycode":"DE","sub_alt_name":"DNS:web.example.com,DNS:www.example.com,IP:192.0.2.10","scope":"global"}`,
		base+"monitor/vpn-certificate/csr/generate?vdom=root")...)
	expect("csr/generate", a, "200", "success", 0)
	if a.Path != "vpn-certificate" || a.Name != "csr" || a.Action != "generate" {
		t.Errorf("csr/generate envelope: %s", a.Body)
	}
	expect("csr/generate without keytype", curl(append(auth, "-X", "POST", "-d", `{"certname":"x","subject":"x.example.com"}`,
		base+"monitor/vpn-certificate/csr/generate")...), "424", "error", 0)
	a = curl(append(auth, base+"monitor/system/certificate/download?mkey=web-2025&type=csr&scope=global")...)
	if a.HTTP != "200" || !strings.Contains(a.Headers, `attachment; filename="web-2025.csr"`) {
		t.Fatalf("download: %s %s", a.HTTP, a.Headers)
	}
	csrPEM := a.Body
	if got := openssl(csrPEM, "req", "-noout", "-verify", "-subject", "-nameopt", "RFC2253"); !strings.Contains(got, "subject=CN=web.example.com,OU=Security,OU=IT,O=Example Inc,C=DE") {
		t.Errorf("openssl req: %s", got)
	}
	if got := openssl(csrPEM, "req", "-noout", "-text"); !strings.Contains(got, "DNS:web.example.com, DNS:www.example.com, IP Address:192.0.2.10") ||
		!strings.Contains(got, "prime256v1") {
		t.Errorf("request text:\n%s", got)
	}

	// OpenSSL signs it; the certificate is imported as base64 of the PEM.
	ca := testpki.NewCA("Corp CA")
	caKey, _ := testpki.MarshalKey(ca.Key)
	for name, b := range map[string][]byte{"ca.pem": ca.PEM(), "ca.key": caKey, "web.csr": []byte(csrPEM),
		"ext.cnf": []byte("subjectAltName=DNS:web.example.com,DNS:www.example.com\nextendedKeyUsage=serverAuth\n")} {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	openssl("", "x509", "-req", "-in", filepath.Join(dir, "web.csr"), "-CA", filepath.Join(dir, "ca.pem"), "-CAkey", filepath.Join(dir, "ca.key"),
		"-CAcreateserial", "-days", "2", "-extfile", filepath.Join(dir, "ext.cnf"), "-out", filepath.Join(dir, "web.pem"))
	certPEM, _ := os.ReadFile(filepath.Join(dir, "web.pem"))
	b64 := strings.TrimSpace(openssl(string(certPEM), "base64", "-A"))
	importBody := `{"type":"local","file_content":"` + b64 + `","scope":"global"}`
	a = curl(append(auth, "-X", "POST", "-d", importBody, base+"monitor/vpn-certificate/local/import")...)
	expect("import", a, "200", "success", 0)
	if a.Name != "local" || a.Action != "import" {
		t.Errorf("import envelope: %s", a.Body)
	}
	expect("import again", curl(append(auth, "-X", "POST", "-d", importBody, base+"monitor/vpn-certificate/local/import")...), "500", "error", -23)
	other, _ := testpki.CSR("web.example.com", "web.example.com")
	foreign := strings.TrimSpace(openssl(string(testpki.EncodeChain(ca.Sign(other, 3600e9))), "base64", "-A"))
	expect("import for another key", curl(append(auth, "-X", "POST", "-d", `{"type":"local","file_content":"`+foreign+`"}`,
		base+"monitor/vpn-certificate/local/import")...), "500", "error", -1)
	expect("import with whitespace", curl(append(auth, "-X", "POST", "-d", `{"type":"local","file_content":"`+b64[:20]+`\n`+b64[20:]+`"}`,
		base+"monitor/vpn-certificate/local/import")...), "424", "error", 0)
	a = curl(append(auth, base+"monitor/system/certificate/download?mkey=web-2025&type=local")...)
	if fp := openssl(a.Body, "x509", "-noout", "-fingerprint", "-sha256"); fp != openssl(string(certPEM), "x509", "-noout", "-fingerprint", "-sha256") {
		t.Errorf("downloaded certificate %s", fp)
	}

	// The CMDB: the entry, filtered and formatted; the binding, refused
	// for a certificate that does not exist; what the port presents.
	a = curl(append(auth, base+"cmdb/vpn.certificate/local?vdom=root&format=name|source|range&filter=source==user")...)
	expect("list", a, "200", "success", 0)
	if strings.TrimSpace(string(a.Results)) != `[
    {
      "name": "web-2025",
      "range": "global",
      "source": "user"
    }
  ]` {
		t.Errorf("filtered list: %s", a.Results)
	}
	a = curl(append(auth, "-X", "PUT", "-d", `{"admin-server-cert":"web-2026"}`, base+"cmdb/system/global?vdom=root")...)
	expect("bind a missing certificate", a, "500", "error", -651)
	if !strings.Contains(a.CLIError, "node_check_object fail! for admin-server-cert web-2026") || !strings.HasSuffix(a.CLIError, "Command fail. Return code -651\n") ||
		a.RevisionChanged == nil || *a.RevisionChanged {
		t.Errorf("refused binding: %s", a.Body)
	}
	before := a.RevisionStr
	a = curl(append(auth, "-X", "PUT", "-d", `{"admin-server-cert":"web-2025"}`, base+"cmdb/system/global?vdom=root")...)
	expect("bind", a, "200", "success", 0)
	if a.RevisionChanged == nil || !*a.RevisionChanged || a.RevisionStr == before || a.RevisionStr == "" {
		t.Errorf("bind envelope: %s", a.Body)
	}
	served := openssl("", "s_client", "-connect", dev.Addr, "-servername", "web.example.com", "-showcerts")
	if got := openssl(served, "x509", "-noout", "-fingerprint", "-sha256"); got != openssl(string(certPEM), "x509", "-noout", "-fingerprint", "-sha256") {
		t.Errorf("the administration port presents %s", got)
	}
	expect("POST to a table of one object", curl(append(auth, "-X", "POST", "-d", `{"admin-server-cert":"web-2025"}`, base+"cmdb/system/global")...), "405", "error", 0)
	a = curl(append(auth, "-X", "DELETE", base+"cmdb/vpn.certificate/local/web-2025?vdom=root")...)
	expect("delete in use", a, "500", "error", -23)
	if a.CLIError != "The entry is used by other 1 entries\nCommand fail. Return code -23\n" || a.Mkey != "web-2025" {
		t.Errorf("delete in use: %s", a.Body)
	}
	a = curl(append(auth, "-X", "DELETE", base+"cmdb/vpn.certificate/local/web-2024?vdom=root")...)
	expect("delete a missing entry", a, "404", "error", -3)
	if admin, _ := dev.Bindings(); admin != "web-2025" {
		t.Errorf("admin-server-cert %q", admin)
	}
	for _, c := range dev.Calls() {
		if strings.Contains(c, tok) {
			t.Errorf("the token reached the call log: %s", c)
		}
	}
}

func atoi(s string) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}
