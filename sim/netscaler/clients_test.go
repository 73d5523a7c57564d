package netscaler_test

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/internal/testtool"
	"github.com/ottr-dev/ottr/sim/netscaler"
)

// nitroResult is the part of a netscaler_nitro_request result asserted on.
type nitroResult struct {
	Changed   bool             `json:"changed"`
	Failed    bool             `json:"failed"`
	Errorcode *int             `json:"nitro_errorcode"`
	Message   string           `json:"nitro_message"`
	Severity  string           `json:"nitro_severity"`
	Object    []map[string]any `json:"nitro_object"`
	HTTP      struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"http_response_data"`
}

// nitro is the errorcode and message NITRO answered. For an HTTP error the
// module (with this Ansible's fetch_url) reports errorcode -1 and the
// status text, and keeps NITRO's envelope in http_response_data.body.
func (r nitroResult) nitro() (int, string) {
	if r.Errorcode != nil && *r.Errorcode != -1 {
		return *r.Errorcode, r.Message
	}
	var e struct {
		Errorcode int    `json:"errorcode"`
		Message   string `json:"message"`
		Severity  string `json:"severity"`
	}
	if json.Unmarshal([]byte(r.HTTP.Body), &e) != nil || e.Severity != "ERROR" {
		return -1, r.Message
	}
	return e.Errorcode, e.Message
}

// playbook runs one of testdata/ansible's plays against the simulator
// and returns its registered results.
func playbook(t *testing.T, play string, vars map[string]any) map[string]nitroResult {
	t.Helper()
	py := testtool.NeedPython(t, "ansible_collections.community.network.plugins.modules.netscaler_nitro_request", "ansible")
	rb := testtool.Playbook(t, py, play, vars, nil)
	var res map[string]nitroResult
	if err := json.Unmarshal(rb, &res); err != nil {
		t.Fatalf("results: %v\n%s", err, rb)
	}
	return res
}

// TestAnsibleNITROModule drives the simulator with Ansible's own NITRO
// module (community.network.netscaler_nitro_request, as Debian's ansible
// ships it) through a whole rotation: a key and a request made on the
// appliance and read back, the signed certificate uploaded, paired,
// linked, bound, renewed in place and saved. It asserts what the module
// reports (its changed flag, NITRO's errorcode and the HTTP status it
// read) and what the appliance then holds and serves.
func TestAnsibleNITROModule(t *testing.T) {
	d := start(t, "vs_app")
	_, port, _ := strings.Cut(d.Addr, ":")
	vars := func() map[string]any {
		return map[string]any{"nitro_port": port, "nitro_user": user, "nitro_pass": pass}
	}

	res := playbook(t, "request.yml", vars())
	expect := func(res map[string]nitroResult, name string, failed bool, status, code int) {
		t.Helper()
		r := res[name]
		if got, msg := r.nitro(); r.Failed != failed || r.HTTP.Status != status || got != code || r.Changed == failed {
			t.Errorf("%s: failed=%v changed=%v status %d errorcode %d %q, want failed=%v status %d errorcode %d",
				name, r.Failed, r.Changed, r.HTTP.Status, got, msg, failed, status, code)
		}
	}
	if code, msg := res["bad_login"].nitro(); !res["bad_login"].Failed || res["bad_login"].HTTP.Status != 401 || code != 354 || msg != "Invalid username or password" {
		t.Errorf("refused password: %+v", res["bad_login"])
	}
	expect(res, "key", false, 200, 0)
	expect(res, "key_again", true, 409, 1642)
	expect(res, "csr_bad", true, 400, 1095)
	expect(res, "csr", false, 200, 0)
	if b, _ := pem.Decode(d.File("app.key")); b == nil || b.Type != "RSA PRIVATE KEY" {
		t.Fatal("app.key is not an RSA key on the appliance")
	}
	key, _ := x509.ParsePKCS1PrivateKey(func() []byte { b, _ := pem.Decode(d.File("app.key")); return b.Bytes }())
	if key == nil || key.N.BitLen() != 2048 || key.E != 65537 {
		t.Fatalf("app.key: %v", key)
	}
	objs := res["csr_file"].Object
	if len(objs) != 1 || objs[0]["filename"] != "app.csr" || objs[0]["fileencoding"] != "BASE64" {
		t.Fatalf("systemfile: %v", objs)
	}
	raw, _ := base64.StdEncoding.DecodeString(objs[0]["filecontent"].(string))
	csr, err := ottr.ParseCSR(raw)
	if err != nil || csr.CheckSignature() != nil {
		t.Fatalf("request read back: %v", err)
	}
	if !slices.Equal(csr.DNSNames, []string{"app.example.com", "www.app.example.com"}) || !ottr.SamePublicKey(csr.PublicKey, &key.PublicKey) {
		t.Errorf("request names %v, or not for the appliance's key", csr.DNSNames)
	}
	want := ottr.Subject{Country: "US", State: "California", Locality: "San Jose", Organization: "Example Inc", OrganizationalUnit: "Web", Email: "pki@example.com"}
	if bad := want.Missing(csr.Subject); len(bad) > 0 || csr.Subject.CommonName != "app.example.com" {
		t.Errorf("request subject %s: %v", csr.Subject, bad)
	}

	ca := testpki.NewCA("Corp CA")
	chain := ca.Sign(csr, 24*time.Hour)
	renewed := ca.Sign(csr, 48*time.Hour)
	other, _ := testpki.CSR("app.example.com", "app.example.com")
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	v := vars()
	v["app_cert_b64"], v["ca_cert_b64"] = b64(testpki.EncodeChain(chain[:1])), b64(ca.PEM())
	v["renewed_cert_b64"], v["other_cert_b64"] = b64(testpki.EncodeChain(renewed[:1])), b64(testpki.EncodeChain(ca.Sign(other, time.Hour)[:1]))
	res = playbook(t, "install.yml", v)
	for _, n := range []string{"upload", "upload_ca", "upload_other", "pair", "ca_pair", "bind", "upload_renewed"} {
		expect(res, n, false, 201, 0)
	}
	for _, n := range []string{"link", "update", "delete_file"} {
		expect(res, n, false, 200, 0)
	}
	expect(res, "mismatch", true, 599, 1538)
	expect(res, "in_use", true, 599, 1541)
	if r := res["save"]; r.Failed || r.HTTP.Status != 200 || r.Errorcode == nil || *r.Errorcode != 0 {
		t.Errorf("save_config: %+v", r)
	}
	if _, msg := res["mismatch"].nitro(); msg != "Certificate and private key do not match" {
		t.Errorf("mismatch message %q", msg)
	}
	if p := res["get_pair"].Object; len(p) != 1 || p[0]["linkcertkeyname"] != "corp-ca" || p[0]["key"] != "app.key" ||
		p[0]["publickey"] != "rsaEncryption" || p[0]["publickeysize"] != float64(2048) || p[0]["status"] != "Valid" {
		t.Errorf("sslcertkey app: %v", p)
	}
	if b := res["bindings"].Object; len(b) != 1 || b[0]["certkeyname"] != "app" || b[0]["vservername"] != "vs_app" {
		t.Errorf("bindings: %v", b)
	}

	// The appliance: the pair holds the renewed certificate with the key
	// made on the box, bound and linked, the configuration saved, and the
	// virtual server presents the renewed certificate and its issuer.
	pair := d.CertKeys()["app"]
	if pair.Cert != "app-renewed.crt" || pair.Key != "app.key" || pair.Link != "corp-ca" || !pair.Leaf.Equal(renewed[0]) {
		t.Errorf("pair app: %+v", pair)
	}
	if _, ok := d.CertKeys()["other"]; ok || slices.Contains(d.Files(), "other.crt") {
		t.Errorf("the refused pair or its file remain: %v", d.Files())
	}
	if d.Bound("vs_app") != "app" || !d.Saved() || !strings.Contains(d.SavedConfig(), "add ssl certKey app -cert app-renewed.crt -key app.key\n") {
		t.Errorf("bound %q, saved %v:\n%s", d.Bound("vs_app"), d.Saved(), d.SavedConfig())
	}
	peer := served(t, d.VServer("vs_app"))
	if len(peer) != 2 || !peer[0].Equal(renewed[0]) || !peer[1].Equal(ca.Cert) {
		t.Errorf("vs_app presents %d certificates, not the renewed one and its issuer", len(peer))
	}
	if _, ok := peer[0].PublicKey.(*rsa.PublicKey); !ok {
		t.Errorf("served key %T", peer[0].PublicKey)
	}
}

// curl runs curl with args and returns its output; -w '%{http_code}'
// callers read the status from the last line.
func curl(t *testing.T, args ...string) string {
	t.Helper()
	bin := testtool.Need(t, "curl", "curl")
	out, err := exec.CommandContext(t.Context(), bin, append([]string{"-sk", "--max-time", "20"}, args...)...).Output()
	if err != nil {
		t.Fatalf("curl %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// reply splits curl output written with -w '\n%{http_code}' into the
// NITRO body and the status.
func reply(t *testing.T, out string) (map[string]any, string) {
	t.Helper()
	i := strings.LastIndex(out, "\n")
	body, status := strings.TrimSpace(out[:max(i, 0)]), strings.TrimSpace(out[i+1:])
	var m map[string]any
	if body != "" {
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("answer %q is not JSON", body)
		}
	}
	return m, status
}

// TestCurlNITRO sends the NITRO documentation's calls with curl: a
// session from login carried in the NITRO_AUTH_TOKEN cookie curl keeps,
// refusals in NITRO's envelope, a key and request made on the appliance
// and checked with openssl, the certificate uploaded, paired, bound and
// saved, the virtual server's certificate read with openssl s_client, and
// logout ending the session.
func TestCurlNITRO(t *testing.T) {
	openssl := testtool.Need(t, "openssl", "openssl")
	d := start(t, "vs_www")
	base := "https://" + d.Addr + "/nitro/v1/config/"
	jar := filepath.Join(t.TempDir(), "cookies")
	post := func(path, body string, withSession bool) (map[string]any, string) {
		args := []string{"-X", "POST", base + path, "-H", "Content-Type:application/json", "-d", body, "-w", "\n%{http_code}"}
		if withSession {
			args = append(args, "-b", jar)
		}
		return reply(t, curl(t, args...))
	}
	get := func(path string) (map[string]any, string) {
		return reply(t, curl(t, base+path, "-b", jar, "-H", "Accept:application/json", "-w", "\n%{http_code}"))
	}

	if m, st := reply(t, curl(t, base+"nsversion", "-w", "\n%{http_code}")); st != "401" || m["errorcode"] != float64(1027) {
		t.Errorf("no credentials: %s %v", st, m)
	}
	if m, st := post("login", `{"login":{"username":"`+user+`","password":"wrong"}}`, false); st != "401" || m["errorcode"] != float64(354) || m["severity"] != "ERROR" {
		t.Errorf("wrong password: %s %v", st, m)
	}
	login := curl(t, "-X", "POST", base+"login", "-H", "Content-Type:application/json", "-c", jar,
		"-d", `{"login":{"username":"`+user+`","password":"`+pass+`"}}`, "-w", "\n%{http_code}")
	m, st := reply(t, login)
	if st != "201" || m["errorcode"] != float64(0) || !strings.HasPrefix(m["sessionid"].(string), "##") {
		t.Fatalf("login: %s %v", st, m)
	}
	if c, _ := os.ReadFile(jar); !strings.Contains(string(c), "NITRO_AUTH_TOKEN\t"+m["sessionid"].(string)) {
		t.Fatalf("cookie jar: %s", c)
	}
	if m, st := get("nsversion"); st != "200" || m["nsversion"].(map[string]any)["version"] != netscaler.Version {
		t.Errorf("nsversion: %s %v", st, m)
	}
	// X-NITRO-USER/X-NITRO-PASS instead of a session.
	if _, st := reply(t, curl(t, base+"sslcertkey", "-H", "X-NITRO-USER:"+user, "-H", "X-NITRO-PASS:"+pass, "-w", "\n%{http_code}")); st != "200" {
		t.Errorf("X-NITRO headers: %s", st)
	}

	if _, st := post("sslecdsakey?action=create", `{"sslecdsakey":{"keyfile":"www.key","curve":"P_384"}}`, true); st != "200" {
		t.Fatalf("sslecdsakey: %s", st)
	}
	if m, st := post("sslcertreq?action=create", `{"sslcertreq":{"reqfile":"www.csr","keyfile":"www.key","countryname":"USA","statename":"CA","organizationname":"Ex"}}`, true); st != "400" || m["errorcode"] != float64(1097) {
		t.Errorf("three-letter country: %s %v", st, m)
	}
	if _, st := post("sslcertreq?action=create", `{"sslcertreq":{"reqfile":"www.csr","keyfile":"www.key","commonname":"www.example.com",
		"subjectaltname":"DNS:www.example.com DNS:example.com","countryname":"DE","statename":"Berlin","organizationname":"Example GmbH"}}`, true); st != "200" {
		t.Fatalf("sslcertreq: %s", st)
	}
	m, st = get("systemfile?args=filename:www.csr,filelocation:%2Fnsconfig%2Fssl")
	if st != "200" {
		t.Fatalf("systemfile: %s %v", st, m)
	}
	csrPEM, _ := base64.StdEncoding.DecodeString(m["systemfile"].([]any)[0].(map[string]any)["filecontent"].(string))
	dir := t.TempDir()
	csrFile := filepath.Join(dir, "www.csr")
	_ = os.WriteFile(csrFile, csrPEM, 0o600)
	text, err := exec.Command(openssl, "req", "-in", csrFile, "-noout", "-verify", "-text", "-nameopt", "RFC2253").CombinedOutput()
	if err != nil || !strings.Contains(string(text), "verify OK") || !strings.Contains(string(text), "DNS:www.example.com, DNS:example.com") ||
		!strings.Contains(string(text), "CN=www.example.com,O=Example GmbH,ST=Berlin,C=DE") || !strings.Contains(string(text), "384 bit") {
		t.Fatalf("openssl req: %v\n%s", err, text)
	}

	csr, _ := ottr.ParseCSR(csrPEM)
	ca := testpki.NewCA("Corp CA")
	chain := ca.Sign(csr, time.Hour)
	upload := func(name string, data []byte) {
		t.Helper()
		if m, st := post("systemfile", `{"systemfile":{"filename":"`+name+`","filelocation":"/nsconfig/ssl/","filecontent":"`+
			base64.StdEncoding.EncodeToString(data)+`","fileencoding":"BASE64"}}`, true); st != "201" || m != nil {
			t.Fatalf("upload %s: %s %v", name, st, m)
		}
	}
	upload("www.crt", testpki.EncodeChain(chain[:1]))
	upload("ca.crt", ca.PEM())
	if m, st := post("systemfile", `{"systemfile":{"filename":"www.crt","filelocation":"/nsconfig/ssl/","filecontent":"eA==","fileencoding":"BASE64"}}`, true); st != "409" || m["errorcode"] != float64(1642) {
		t.Errorf("upload again: %s %v", st, m)
	}
	for _, c := range []struct{ path, body, status string }{
		{"sslcertkey", `{"sslcertkey":{"certkey":"www","cert":"www.crt","key":"www.key","inform":"PEM"}}`, "201"},
		{"sslcertkey", `{"sslcertkey":{"certkey":"corp-ca","cert":"ca.crt"}}`, "201"},
		{"sslcertkey?action=link", `{"sslcertkey":{"certkey":"www","linkcertkeyname":"corp-ca"}}`, "200"},
		{"nsconfig?action=save", `{"nsconfig":{}}`, "200"},
	} {
		if m, st := post(c.path, c.body, true); st != c.status {
			t.Fatalf("POST %s: %s %v", c.path, st, m)
		}
	}
	bind := curl(t, "-X", "PUT", base+"sslvserver_sslcertkey_binding", "-b", jar, "-H", "Content-Type:application/json",
		"-d", `{"sslvserver_sslcertkey_binding":{"vservername":"vs_www","certkeyname":"www"}}`, "-w", "\n%{http_code}")
	if _, st := reply(t, bind); st != "201" {
		t.Fatalf("bind: %s", bind)
	}
	if d.Saved() {
		t.Error("saved before the binding was saved")
	}
	if _, st := post("nsconfig?action=save", `{"nsconfig":{}}`, true); st != "200" || !d.Saved() {
		t.Fatalf("save: %s", st)
	}
	sc, err := exec.Command(openssl, "s_client", "-connect", d.VServer("vs_www"), "-servername", "www.example.com", "-showcerts").CombinedOutput()
	if err != nil && !strings.Contains(string(sc), "BEGIN CERTIFICATE") {
		t.Fatalf("openssl s_client: %v\n%s", err, sc)
	}
	got, _ := ottr.ParseChain(sc[strings.Index(string(sc), "-----BEGIN"):])
	if len(got) != 2 || !got[0].Equal(chain[0]) || !got[1].Equal(ca.Cert) {
		t.Errorf("s_client received %d certificates, not the installed chain", len(got))
	}

	if m, st := post("logout", `{"logout":{}}`, true); st != "201" || m["errorcode"] != float64(0) {
		t.Errorf("logout: %s %v", st, m)
	}
	if m, st := get("nsversion"); st != "401" || m["errorcode"] != float64(444) || m["message"] != "Session expired or killed. Please login again" {
		t.Errorf("after logout: %s %v", st, m)
	}
}
