package lighthouse_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/internal/testtool"
	"github.com/ottr-dev/ottr/sim/lighthouse"
)

// The independent clients: curl sends the v3.7 RAML's example bodies
// (og-rest-api-specification-v3-7.raml from Opengear's oglhclient), OpenSSL
// reads the requests the device makes, signs them and reads the
// certificate the device then serves, and a Python script applies the
// re-login rule of Opengear's own client. Nothing here uses the simulator's
// Go code or Ottr's.

type outside struct {
	t    *testing.T
	dir  string
	curl string
	ossl string
	base string
}

func newOutside(t *testing.T, dev *lighthouse.Device) *outside {
	return &outside{t: t, dir: t.TempDir(), curl: testtool.Need(t, "curl", "curl"), ossl: testtool.Need(t, "openssl", "openssl"),
		base: "https://" + dev.Addr + "/api/v3.7"}
}

// call runs curl as the RAML documents a call: JSON body, the session
// token in "Authorization: Token …"; it returns the status and the body.
func (o *outside) call(method, path, token, body string) (int, []byte) {
	o.t.Helper()
	out := filepath.Join(o.dir, "body")
	args := []string{"-sS", "-k", "-o", out, "-w", "%{http_code}", "-X", method, "-H", "Content-Type: application/json"}
	if token != "" {
		args = append(args, "-H", "Authorization: Token "+token)
	}
	if body != "" {
		args = append(args, "--data-binary", body)
	}
	url := path
	if !strings.HasPrefix(path, "https://") {
		url = o.base + path
	}
	code, err := exec.Command(o.curl, append(args, url)...).Output()
	if err != nil {
		o.t.Fatalf("curl %s %s: %v", method, path, err)
	}
	status, _ := strconv.Atoi(string(code))
	b, _ := os.ReadFile(out)
	return status, b
}

func (o *outside) openssl(stdin []byte, args ...string) string {
	o.t.Helper()
	cmd := exec.Command(o.ossl, args...)
	cmd.Dir = o.dir
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		o.t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func (o *outside) write(name string, b []byte) string {
	p := filepath.Join(o.dir, name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		o.t.Fatal(err)
	}
	return p
}

type envelope struct {
	Error []struct {
		Type, Code, Level int
		Text              string
		Args              map[string]string
	}
}

// wantError asserts status and the envelope's entries as "type/code/text".
func wantError(t *testing.T, what string, status int, body []byte, wantStatus int, want ...string) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(body, &e); err != nil || status != wantStatus {
		t.Fatalf("%s: %d %s, want %d and an error envelope", what, status, body, wantStatus)
	}
	var got []string
	for _, x := range e.Error {
		if x.Level != 1 || x.Args == nil {
			t.Errorf("%s: entry without level 1 or args: %s", what, body)
		}
		got = append(got, strconv.Itoa(x.Type)+"/"+strconv.Itoa(x.Code)+"/"+x.Text)
	}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("%s: errors %q, want %q", what, got, want)
	}
	return e
}

func login(t *testing.T, o *outside, user, password string) string {
	t.Helper()
	status, b := o.call("POST", "/sessions", "", `{"username":"`+user+`","password":"`+password+`"}`)
	var s struct {
		State, Session, User string
		PasswordExpired      *bool `json:"password_expired"`
	}
	if err := json.Unmarshal(b, &s); err != nil || status != 200 || s.State != "authenticated" || len(s.Session) < 16 || s.User != user ||
		s.PasswordExpired == nil || *s.PasswordExpired {
		t.Fatalf("login: %d %s", status, b)
	}
	return s.Session
}

func TestCurlSessions(t *testing.T) {
	dev, err := lighthouse.Start("root", "default")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	o := newOutside(t, dev)

	status, b := o.call("POST", "/sessions", "", `{"username":"root","password":"wrong"}`)
	wantError(t, "wrong password", status, b, 401, "7/41/Invalid login credentials")
	status, b = o.call("POST", "/sessions", "", `{}`)
	e := wantError(t, "no credentials", status, b, 400, "4/40/Required field 'username' was not provided in the request.",
		"4/40/Required field 'password' was not provided in the request.")
	if len(e.Error) == 2 && (e.Error[0].Args["param"] != "username" || e.Error[1].Args["param"] != "password") {
		t.Errorf("missing fields not named in args: %s", b)
	}
	status, b = o.call("POST", "/sessions", "", `{"username":`)
	wantError(t, "broken JSON", status, b, 400, "4/39/Invalid request body")

	sid := login(t, o, "root", "default")
	status, b = o.call("GET", "/sessions/"+sid, "", "")
	var s map[string]any
	if json.Unmarshal(b, &s); status != 200 || s["state"] != "authenticated" || s["user"] != "root" || s["session"] != sid {
		t.Errorf("GET /sessions/{id}: %d %s", status, b)
	}
	status, b = o.call("GET", "/system/version", sid, "")
	var v struct {
		SystemVersion struct {
			REST     string `json:"rest_api_version"`
			Firmware string `json:"firmware_version"`
		} `json:"system_version"`
	}
	if json.Unmarshal(b, &v); status != 200 || v.SystemVersion.REST != "v3.7" || v.SystemVersion.Firmware == "" {
		t.Errorf("GET /system/version: %d %s", status, b)
	}
	for what, tok := range map[string]string{"no token": "", "unknown token": "521a00e57d4a461b3e4bb0c55166f97c"} {
		status, b = o.call("GET", "/services/https", tok, "")
		wantError(t, what, status, b, 401, "7/43/Invalid session ID.")
	}

	status, b = o.call("GET", "/nodes", sid, "")
	wantError(t, "a resource not modelled", status, b, 404, "5/29/Could not find resource 'GET /api/v3.7/nodes'.")
	status, b = o.call("GET", "https://"+dev.Addr+"/api/v3.8/system/version", sid, "")
	wantError(t, "a newer API version", status, b, 404, "5/29/Could not find resource 'GET /api/v3.8/system/version'.")
	status, b = o.call("PUT", "/sessions/"+sid, "", `{"session":"`+sid+`","state":{},"challenge":"123456"}`)
	wantError(t, "a challenge response", status, b, 400, "4/39/Invalid request body")

	// A user without the administrator role may log in but not see the
	// HTTPS service.
	dev.AddUser("operator", "Op.Passw0rd", false)
	op := login(t, o, "operator", "Op.Passw0rd")
	status, b = o.call("GET", "/services/https", op, "")
	wantError(t, "operator", status, b, 403, "7/47/Permission denied")

	status, b = o.call("DELETE", "/sessions/"+sid, "", "")
	if json.Unmarshal(b, &s); status != 200 || s["session"] != sid || s["user"] != "root" {
		t.Errorf("DELETE /sessions/{id}: %d %s", status, b)
	}
	status, b = o.call("GET", "/services/https", sid, "")
	wantError(t, "logged out", status, b, 401, "7/43/Invalid session ID.")
	status, b = o.call("GET", "/sessions/"+sid, "", "")
	if json.Unmarshal(b, &s); status != 404 || s["state"] != "unknown" {
		t.Errorf("GET of an ended session: %d %s", status, b)
	}
	if status, _ = o.call("DELETE", "/sessions/"+sid, "", ""); status != 404 {
		t.Errorf("DELETE of an ended session: %d", status)
	}
}

// TestOpengearClientLogsInAgain: Opengear's client logs in again only
// when the first error's text contains "Invalid session ID", so an expired
// session must be answered with it.
func TestOpengearClientLogsInAgain(t *testing.T) {
	py := testtool.NeedPython(t, "json", "python3")
	dev, err := lighthouse.Start("root", "default")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	o := newOutside(t, dev)
	stale := login(t, o, "root", "default")
	dev.ExpireSessions()
	out, err := exec.Command(py, "testdata/relogin.py", o.base, "root", "default", stale, "/services/https").Output()
	if err != nil {
		t.Fatalf("relogin.py: %v\n%s", err, out)
	}
	var r struct {
		FirstStatus int `json:"first_status"`
		Relogged    bool
		Status      int
		Token       string
		Result      struct {
			HTTPS struct {
				Cert string `json:"cert"`
			} `json:"https"`
		}
	}
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.FirstStatus != 401 || !r.Relogged || r.Status != 200 || r.Token == stale || !strings.Contains(r.Result.HTTPS.Cert, "BEGIN CERTIFICATE") {
		t.Errorf("the client did not log in again and get the certificate: %s", out)
	}
}

// httpsDetails is the RAML's https object.
type httpsDetails struct {
	HTTPS struct {
		ValidFrom    string `json:"valid_from"`
		ValidTo      string `json:"valid_to"`
		CommonName   string `json:"common_name"`
		Country      string `json:"country"`
		Locality     string `json:"locality"`
		OrgUnit      string `json:"org_unit"`
		Email        string `json:"email"`
		Organization string `json:"organization"`
		KeyLength    int    `json:"key_length"`
		Cert         string `json:"cert"`
		Key          *string
		CSR          *struct {
			CSR, Country, State, Locality, Email, Organization string
			CommonName                                         string `json:"common_name"`
			OrgUnit                                            string `json:"org_unit"`
			KeyLength                                          int    `json:"key_length"`
		} `json:"csr"`
	} `json:"https"`
}

func TestCurlCertificate(t *testing.T) {
	dev, err := lighthouse.Start("root", "default")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	o := newOutside(t, dev)
	tok := login(t, o, "root", "default")

	// The RAML's PUT example, less the challenge password, with the
	// organisation fields Ottr's client sends.
	subjectFields := `"country":"AU","common_name":"lh.example.com","state":"Queensland","locality":"Toowong","key_length":2048,` +
		`"email":"bob@bob.com","organization":"Internet Widgits Pty Ltd","org_unit":"Network Operations"`
	status, b := o.call("PUT", "/services/https", tok, `{"https":{"csr":{"csr":"new",`+subjectFields+`}}}`)
	var d httpsDetails
	if json.Unmarshal(b, &d); status != 200 || d.HTTPS.CSR == nil {
		t.Fatalf("new CSR: %d %s", status, b)
	}
	c := d.HTTPS.CSR
	if c.CommonName != "lh.example.com" || c.Country != "AU" || c.State != "Queensland" || c.Locality != "Toowong" || c.Email != "bob@bob.com" ||
		c.Organization != "Internet Widgits Pty Ltd" || c.OrgUnit != "Network Operations" || c.KeyLength != 2048 || d.HTTPS.Key != nil {
		t.Errorf("the answer's csr does not echo the request: %s", b)
	}
	// Ottr's client downloads the request from the link in csr.csr.
	status, pemCSR := o.call("GET", c.CSR, tok, "")
	if status != 200 {
		t.Fatalf("CSR download %s: %d %s", c.CSR, status, pemCSR)
	}
	csrFile := o.write("lh.csr", pemCSR)
	if got := o.openssl(nil, "req", "-in", csrFile, "-noout", "-subject", "-nameopt", "RFC2253"); got !=
		`subject=emailAddress=bob@bob.com,CN=lh.example.com,OU=Network Operations,O=Internet Widgits Pty Ltd,L=Toowong,ST=Queensland,C=AU` {
		t.Errorf("CSR subject: %s", got)
	}
	if got := o.openssl(nil, "asn1parse", "-in", csrFile); !regexp.MustCompile(`IA5STRING +:bob@bob.com`).MatchString(got) {
		t.Errorf("emailAddress is not an IA5String as PKCS #9 has it:\n%s", got)
	}
	if got := o.openssl(nil, "req", "-in", csrFile, "-noout", "-verify"); !strings.Contains(got, "verify OK") {
		t.Errorf("CSR signature: %s", got)
	}
	if got := o.openssl(nil, "req", "-in", csrFile, "-noout", "-text"); !strings.Contains(got, "Public-Key: (2048 bit)") {
		t.Errorf("CSR key:\n%s", got)
	}

	// The RAML's "zip" download holds the same request; Python's zipfile
	// opens it.
	status, z := o.call("GET", "/services/https?zip=true", tok, "")
	if status != 200 {
		t.Fatalf("zip download: %d %s", status, z)
	}
	unzipped := filepath.Join(o.dir, "unzipped")
	py := testtool.NeedPython(t, "zipfile", "python3")
	if out, err := exec.Command(py, "-m", "zipfile", "-e", o.write("csr.zip", z), unzipped).CombinedOutput(); err != nil {
		t.Fatalf("unzip: %v %s", err, out)
	}
	files, _ := filepath.Glob(filepath.Join(unzipped, "*"))
	if len(files) != 1 {
		t.Fatalf("zip holds %v, want one request", files)
	}
	if got, _ := os.ReadFile(files[0]); !bytes.Equal(got, pemCSR) {
		t.Errorf("the zip's request differs from the link's:\n%s", got)
	}

	// The RAML's error examples: a malformed email is refused, naming the
	// element, and the pending request stays.
	status, b = o.call("PUT", "/services/https", tok, `{"https":{"csr":{"csr":"new","common_name":"aa","email":"bob.bob.com"}}}`)
	e := wantError(t, "bad email", status, b, 400, "2/14/String did not conform to the expected format.", "1/33/Push command failed")
	if e.Error[0].Args["uuid"] != "root-1-services_https_csr_email" {
		t.Errorf("bad email not named: %s", b)
	}
	status, b = o.call("PUT", "/services/https", tok, `{"https":{"csr":{"csr":"new","common_name":"aa","key_length":"2048"}}}`)
	wantError(t, "key_length as a string", status, b, 400, "2/22/Element [csr.key_length] is of the wrong type")
	status, b = o.call("PUT", "/services/https", tok, `{"https":{"csr":{"csr":"new","common_name":"aa","country":"Australia"}}}`)
	wantError(t, "three-letter country", status, b, 400, "2/14/String did not conform to the expected format.", "1/33/Push command failed")
	status, b = o.call("PUT", "/services/https", tok, `{"https":{"csr":{"csr":"new","common_name":"aa","challenge_password":"aaa"}}}`)
	wantError(t, "challenge password", status, b, 400,
		"4/48/Invalid parameter 'challenge_password' was provided: the simulator does not put challenge passwords in requests.", "1/33/Push command failed")
	status, b = o.call("PUT", "/services/https", tok, `{"https":{"csr":{"csr":"new","common_name":"aa","subject_alt_name":"DNS:bb"}}}`)
	wantError(t, "alternative names", status, b, 400, "4/48/Invalid parameter 'csr.subject_alt_name' was provided.")
	status, b = o.call("PUT", "/services/https", tok, `{"https":{"cert":"-----BEGIN CERTIFICATE-----...","csr":{"csr":"new","common_name":"aa"}}}`)
	wantError(t, "new request and certificate", status, b, 400,
		"4/48/Invalid parameter 'cert' was provided: a certificate cannot be uploaded in the request that creates a new CSR.")
	status, b = o.call("PUT", "/services/https", tok, `["https"]`)
	wantError(t, "not an object", status, b, 400, "4/39/Invalid request body")
	if _, again := o.call("GET", c.CSR, tok, ""); !bytes.Equal(again, pemCSR) {
		t.Error("a refused change replaced the pending request")
	}

	// Sign with an OpenSSL CA and upload with https.csr, as Ottr's client
	// does (without it the request would be cancelled first).
	o.openssl(nil, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=Outside CA", "-days", "2")
	o.openssl(nil, "x509", "-req", "-in", csrFile, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "lh.pem", "-days", "1")
	leaf, _ := os.ReadFile(filepath.Join(o.dir, "lh.pem"))
	caPEM, _ := os.ReadFile(filepath.Join(o.dir, "ca.pem"))
	chainJSON, _ := json.Marshal(string(leaf) + string(caPEM))
	status, b = o.call("PUT", "/services/https", tok, `{"https":{"cert":`+string(chainJSON)+`,"csr":{`+subjectFields+`}}}`)
	d = httpsDetails{}
	if json.Unmarshal(b, &d); status != 200 || d.HTTPS.CommonName != "lh.example.com" || d.HTTPS.Country != "AU" || d.HTTPS.Locality != "Toowong" ||
		d.HTTPS.Email != "bob@bob.com" || d.HTTPS.OrgUnit != "Network Operations" || d.HTTPS.Organization != "Internet Widgits Pty Ltd" ||
		d.HTTPS.KeyLength != 2048 || d.HTTPS.CSR != nil {
		t.Fatalf("upload: %d %s", status, b)
	}
	endDate := o.openssl(nil, "x509", "-in", "lh.pem", "-noout", "-enddate")
	if "notAfter="+d.HTTPS.ValidTo != endDate {
		t.Errorf("valid_to %q, OpenSSL says %s", d.HTTPS.ValidTo, endDate)
	}
	want := o.openssl(nil, "x509", "-in", "lh.pem", "-noout", "-fingerprint", "-sha256")
	deadline := time.Now().Add(10 * time.Second)
	for {
		cmd := exec.Command(o.ossl, "s_client", "-connect", dev.Addr, "-servername", "lh.example.com")
		cmd.Stdin = strings.NewReader("")
		served, _ := cmd.Output()
		got := ""
		if bytes.Contains(served, []byte("BEGIN CERTIFICATE")) {
			cmd = exec.Command(o.ossl, "x509", "-noout", "-fingerprint", "-sha256")
			cmd.Stdin = bytes.NewReader(served)
			fp, _ := cmd.Output()
			got = strings.TrimSpace(string(fp))
		}
		if got == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the web server serves %q, not the uploaded %q", got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// A PUT without https.csr cancels a pending request.
	if status, b = o.call("PUT", "/services/https", tok, `{"https":{"csr":{"csr":"new","common_name":"next.example.com"}}}`); status != 200 {
		t.Fatalf("second CSR: %d %s", status, b)
	}
	if status, b = o.call("PUT", "/services/https", tok, `{"https":{}}`); status != 200 {
		t.Fatalf("cancel: %d %s", status, b)
	}
	status, b = o.call("GET", "/services/https", tok, "")
	if d = (httpsDetails{}); json.Unmarshal(b, &d) != nil || status != 200 || d.HTTPS.CSR != nil || d.HTTPS.CommonName != "lh.example.com" {
		t.Errorf("after cancelling: %d %s", status, b)
	}
	status, b = o.call("GET", "/services/https?zip=true", tok, "")
	wantError(t, "download with nothing pending", status, b, 404, "5/29/Could not find element with UUID 'root-1-services_https_csr'.")
}
