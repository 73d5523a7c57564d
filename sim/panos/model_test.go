package panos_test

import (
	"crypto/tls"
	"encoding/pem"
	"encoding/xml"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"crypto/x509"

	"github.com/ottr-dev/ottr/sim/panos"
)

// TestModel checks what the device does beyond the rotation's happy path:
// xpath forms, the schema of the modelled subtrees, and refusals of what is not modelled.
func TestModel(t *testing.T) {
	dev, err := panos.Start("admin", "Adm1n.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	c := &client{t: t, base: "https://" + dev.Addr, http: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}} //nolint:gosec // the factory certificate
	login := func(user, pw string) string {
		_, body := c.get(url.Values{"type": {"keygen"}, "user": {user}, "password": {pw}})
		return between(body, "<key>", "</key>")
	}
	k1 := login("admin", "Adm1n.Passw0rd")
	call := func(key string, kv ...string) answer {
		t.Helper()
		q := url.Values{"key": {key}}
		for i := 0; i < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		_, body := c.get(q)
		var a answer
		if err := xml.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("%v: %v: %s", kv, err, body)
		}
		a.Body = body
		return a
	}
	msg := func(a answer) string { return strings.Join(a.Lines, " ") }

	gen := `<request><certificate><generate><certificate-name>%s</certificate-name><name>fw.example.com</name>
		<algorithm><ECDSA><ecdsa-nbits>256</ecdsa-nbits></ECDSA></algorithm><signed-by>external</signed-by>%s</generate></certificate></request>`
	if a := call(k1, "type", "op", "cmd", strings.NewReplacer("%s", "").Replace(strings.Replace(gen, "%s", "a", 1))); a.Status != "success" {
		t.Fatalf("generate: %s", a.Body)
	}
	if a := call(k1, "type", "op", "cmd", strings.Replace(strings.Replace(gen, "%s", "b", 1), "%s", "<foo>x</foo>", 1)); a.Code != "17" || !strings.Contains(msg(a), "generate -> foo is not simulated") {
		t.Errorf("unknown generate child: %s", a.Body)
	}
	if a := call(k1, "type", "op", "cmd", strings.Replace(strings.Replace(gen, "%s", "ip", 1), "%s", "<ip><member>192.0.2.7</member></ip>", 1)); a.Status != "success" {
		t.Fatalf("generate with an IP: %s", a.Body)
	}
	_, csrPEM := c.get(url.Values{"type": {"export"}, "key": {k1}, "category": {"certificate"}, "certificate-name": {"ip"}, "format": {"pkcs10"}})
	block, _ := pem.Decode([]byte(csrPEM))
	if block == nil {
		t.Fatalf("export: %s", csrPEM)
	}
	if csr, err := x509.ParseCertificateRequest(block.Bytes); err != nil || len(csr.IPAddresses) != 1 || !csr.IPAddresses[0].Equal(net.ParseIP("192.0.2.7")) {
		t.Errorf("CSR IP addresses: %v %v", err, csr)
	}

	for _, tc := range []struct{ xpath, code, want string }{
		{`/config/shared/certificate/entry[ @name = "a" ]`, "19", ""},
		{`/config/shared/certificate/entry[@name='a' or @name='ip']`, "6", "several names"},
		{`config/shared/certificate`, "6", "not absolute"},
		{`/config/shared/certificate/entry[@name='a'`, "6", "expected ]"},
		{`/config/shared/certificate/entry`, "6", "select entries by name"},
	} {
		a := call(k1, "type", "config", "action", "get", "xpath", tc.xpath)
		if a.Code != tc.code || !strings.Contains(msg(a), tc.want) {
			t.Errorf("get %s: %s", tc.xpath, a.Body)
		}
	}

	sys := "/config/devices/entry[@name='localhost.localdomain']/deviceconfig/system"
	prof := "/config/shared/ssl-tls-service-profile/entry[@name='p']"
	for _, tc := range []struct{ action, xpath, element, code, want string }{
		{"set", prof, "<protocol-settings><min-version>ssl3</min-version></protocol-settings>", "12", "'ssl3' is not a valid value"},
		{"set", prof, "<protocol-settings><min-version>tls1-3</min-version><max-version>tls1-1</max-version></protocol-settings>", "12", "below min-version"},
		{"set", prof, "<auth-algo-sha1>no</auth-algo-sha1>", "12", "is not simulated"},
		{"set", prof, "<certificate>a</certificate", "12", "not well-formed"},
		{"set", sys, "<hostname>fw2</hostname>", "12", "system -> hostname is not simulated"},
		{"set", sys, "<ssl-tls-service-profile>nope</ssl-tls-service-profile>", "12", "not a valid reference"},
		{"set", "/config/shared/certificate/entry[@name='a']", "<common-name>x</common-name>", "12", "not simulated"},
		{"edit", prof, `<entry name="q"><certificate>a</certificate></entry>`, "12", `one <entry name="p">`},
	} {
		a := call(k1, "type", "config", "action", tc.action, "xpath", tc.xpath, "element", tc.element)
		if a.Status != "error" || a.Code != tc.code || !strings.Contains(msg(a), tc.want) {
			t.Errorf("%s %s %s: %s", tc.action, tc.xpath, tc.element, a.Body)
		}
	}
	if a := call(k1, "type", "config", "action", "get", "xpath", prof); a.Code != "7" {
		t.Errorf("refused writes left a profile: %s", a.Body)
	}
	// Writes that work: a profile, bound to management; deleting the
	// profile is then refused for its reference.
	call(k1, "type", "config", "action", "set", "xpath", "/config/shared/ssl-tls-service-profile", "element", `<entry name="p"><certificate>a</certificate></entry>`)
	if a := call(k1, "type", "config", "action", "get", "xpath", prof+"/certificate"); a.Code != "19" || !strings.Contains(a.Body, "<certificate>a</certificate>") {
		t.Errorf("profile set through its list: %s", a.Body)
	}
	if a := call(k1, "type", "config", "action", "edit", "xpath", sys+"/ssl-tls-service-profile", "element", "<ssl-tls-service-profile>p</ssl-tls-service-profile>"); a.Code != "20" {
		t.Errorf("edit management profile: %s", a.Body)
	}
	if a := call(k1, "type", "config", "action", "delete", "xpath", prof); a.Code != "10" {
		t.Errorf("delete a profile in use: %s", a.Body)
	}
	if a := call(k1, "type", "config", "action", "delete", "xpath", "/config/shared/certificate/entry[@name='gone']"); a.Status != "success" || a.Code != "7" {
		t.Errorf("delete of an absent entry: %s", a.Body)
	}

	// Commits (partial ones: TestPartialCommit); the commit itself is
	// read as XML.
	for _, cmd := range []string{"<commit><everything/></commit>", "<commit><partial><device-and-network>excluded</device-and-network></partial></commit>", "<show/>"} {
		if a := call(k1, "type", "commit", "cmd", cmd); a.Status != "error" || a.Code != "17" {
			t.Errorf("commit %s: %s", cmd, a.Body)
		}
	}
	// The profile names "a", which has no certificate yet: validation fails.
	a := call(k1, "type", "commit", "cmd", "<commit />")
	if a.Job.ID == "" {
		t.Fatalf("commit: %s", a.Body)
	}
	a = call(k1, "type", "op", "cmd", "<show><jobs><id>"+a.Job.ID+"</id></jobs></show>")
	if a.Job.Status != "FIN" || a.Job.Result != "FAIL" || !strings.Contains(a.Body, "has no certificate") {
		t.Errorf("job: %s", a.Body)
	}
	if a := call(k1, "type", "commit", "cmd", "<commit><force></force></commit>"); a.Job.ID == "" {
		t.Errorf("force commit: %s", a.Body)
	}
	if a := call(k1, "type", "op", "cmd", "<show><jobs><id>x</id></jobs></show>"); a.Code != "17" {
		t.Errorf("bad job id: %s", a.Body)
	}
}
