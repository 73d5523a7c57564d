package panos_test

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/internal/testtool"
	"github.com/ottr-dev/ottr/sim/panos"
)

// answer is one curl call's outcome: HTTP status, content type and the
// response envelope.
type answer struct {
	HTTP, ContentType string
	Body              string
	Status            string `xml:"status,attr"`
	Code              string `xml:"code,attr"`
	Key               string `xml:"result>key"`
	Job               struct {
		ID     string `xml:",chardata"`
		Status string `xml:"status"`
		Result string `xml:"result"`
	} `xml:"result>job"`
	Msg       string     `xml:"result>msg"`
	Lines     []string   `xml:"msg>line"`
	Hostname  string     `xml:"result>system>hostname"`
	SWVersion string     `xml:"result>system>sw-version"`
	Entries   []entryAns `xml:"result>entry"`
}

type entryAns struct {
	Name        string `xml:"name,attr"`
	Certificate string `xml:"certificate"`
	MinVersion  string `xml:"protocol-settings>min-version"`
	PublicKey   string `xml:"public-key"`
	PrivateKey  string `xml:"private-key"`
}

func (a answer) entry() entryAns {
	if len(a.Entries) == 0 {
		return entryAns{}
	}
	return a.Entries[0]
}

// TestCurl makes the calls of the PAN-OS XML API documentation with curl
// (form posts, query strings, the X-PAN-KEY header, multipart uploads)
// and asserts the answers: HTTP status, content type, the envelope's
// status and code, and the values in it.
func TestCurl(t *testing.T) {
	curlBin := testtool.Need(t, "curl", "curl")
	opensslBin := testtool.Need(t, "openssl", "openssl")
	dev, err := panos.Start("admin", "Adm1n.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	base := "https://" + dev.Addr + "/api/"
	dir := t.TempDir()
	curl := func(args ...string) answer {
		t.Helper()
		out := filepath.Join(dir, "body")
		cmd := exec.Command(curlBin, append([]string{"-sS", "-k", "--max-time", "20", "-o", out, "-w", "%{http_code} %{content_type}"}, args...)...)
		meta, err := cmd.Output()
		if err != nil {
			t.Fatalf("curl %v: %v", args, err)
		}
		body, _ := os.ReadFile(out)
		var a answer
		a.HTTP, a.ContentType, _ = strings.Cut(string(meta), " ")
		a.Body = string(body)
		if err := xml.Unmarshal(body, &a); err != nil {
			t.Fatalf("curl %v: answer is not XML (%v): %s", args, err, body)
		}
		return a
	}
	xmlType := func(a answer) bool { return strings.HasPrefix(a.ContentType, "application/xml") }

	// keygen as the documentation shows it: a form post.
	a := curl("-X", "POST", base+"?type=keygen", "-H", "Content-Type: application/x-www-form-urlencoded", "-d", "user=admin&password=nope")
	if a.HTTP != "403" || !xmlType(a) || a.Status != "error" || a.Code != "403" || a.Msg != "Invalid Credential" {
		t.Errorf("keygen with a wrong password: %+v", a)
	}
	a = curl("-X", "POST", base+"?type=keygen", "-d", "user=admin&password=Adm1n.Passw0rd")
	if a.HTTP != "200" || !xmlType(a) || a.Status != "success" || !strings.HasPrefix(a.Key, "LUFRPT") {
		t.Fatalf("keygen: %+v", a)
	}
	key := a.Key
	hdr := "X-PAN-KEY: " + key
	get := func(params ...string) answer {
		t.Helper()
		args := []string{"-G", base, "-H", hdr}
		for _, p := range params {
			args = append(args, "--data-urlencode", p)
		}
		return curl(args...)
	}

	a = curl("-G", base, "--data-urlencode", "type=op", "--data-urlencode", "cmd=<show><system><info/></system></show>", "--data-urlencode", "key=bogus")
	if a.HTTP != "403" || !xmlType(a) || a.Code != "403" || a.Msg != "Invalid Credential" {
		t.Errorf("unknown key: %+v", a)
	}
	for _, cmd := range []string{"<show><system><info></info></system></show>", "<show><system><info/></system></show>", "<show>\n <system> <info /> </system>\n</show>"} {
		if a := get("type=op", "cmd="+cmd); a.Status != "success" || !xmlType(a) || a.Hostname != dev.Hostname || a.SWVersion != "10.2.4" {
			t.Errorf("op %s: %+v", cmd, a)
		}
	}
	if a := get("type=op", "cmd=<show><system><infoo/></system></show>"); a.Status != "error" || a.Code != "17" {
		t.Errorf("unknown op command: %+v", a)
	}
	if a := get("type=op", "cmd=<show><system>"); a.Status != "error" || a.Code != "18" {
		t.Errorf("malformed op command: %+v", a)
	}

	// Configuration: get of an absent node is success code 7; set, get,
	// edit with the node itself, show (running) and delete.
	prof := `/config/shared/ssl-tls-service-profile/entry[@name="curl"]`
	if a := get("type=config", "action=get", "xpath="+prof); a.Status != "success" || a.Code != "7" {
		t.Errorf("absent profile: %+v", a)
	}
	if a := get("type=config", "action=get", "xpath=/config/mgt-config/users"); a.Status != "error" || a.Code != "6" || !strings.Contains(strings.Join(a.Lines, " "), "outside what this simulator models") {
		t.Errorf("unmodelled xpath: %+v", a)
	}

	// A certificate and key made elsewhere: certificate, then the key
	// encrypted by OpenSSL 3 (PKCS#8, PBES2) with its passphrase.
	csr, k := testpki.CSR("curl.example.com")
	ca := testpki.NewCA("Curl CA")
	chain := ca.Sign(csr, time.Hour)
	certFile, keyFile, encFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), filepath.Join(dir, "enc.pem")
	keyPEM, _ := testpki.MarshalKey(k)
	os.WriteFile(certFile, testpki.EncodeChain(chain), 0o600)
	os.WriteFile(keyFile, keyPEM, 0o600)
	if out, err := exec.Command(opensslBin, "pkey", "-in", keyFile, "-aes256", "-passout", "pass:Curl.Phrase", "-out", encFile).CombinedOutput(); err != nil {
		t.Fatalf("openssl: %v %s", err, out)
	}
	imp := func(file, query string) answer {
		t.Helper()
		return curl("-F", "file=@"+file, base+"?key="+key+"&type=import&"+query)
	}
	if a := imp(encFile, "category=private-key&certificate-name=curl&format=pem&passphrase=Curl.Phrase"); a.Status != "error" {
		t.Errorf("key before its certificate: %+v", a)
	}
	if a := imp(certFile, "category=certificate&certificate-name=curl&format=pem"); a.Status != "success" || !xmlType(a) {
		t.Fatalf("import certificate: %+v", a)
	}
	if a := imp(encFile, "category=private-key&certificate-name=curl&format=pem"); a.Status != "error" || !strings.Contains(strings.Join(a.Lines, " "), "passphrase is missing") {
		t.Errorf("key without passphrase: %+v", a)
	}
	if a := imp(encFile, "category=private-key&certificate-name=curl&format=pem&passphrase=wrong"); a.Status != "error" || !strings.Contains(strings.Join(a.Lines, " "), "Wrong passphrase") {
		t.Errorf("key with a wrong passphrase: %+v", a)
	}
	if a := get("type=config", "action=get", "xpath=/config/shared/certificate/entry[@name='curl']"); a.entry().PublicKey == "" || a.entry().PrivateKey != "" {
		t.Errorf("entry before its key: %+v", a)
	}
	if a := imp(encFile, "category=private-key&certificate-name=curl&format=pem&passphrase=Curl.Phrase"); a.Status != "success" {
		t.Fatalf("import key: %+v", a)
	}
	if a := get("type=config", "action=get", "xpath=/config/shared/certificate/entry[@name=\"curl\"]"); a.Code != "19" || a.entry().PrivateKey == "" {
		t.Errorf("entry with its key: %+v", a)
	}
	// A keypair: certificate and key in one file.
	kpFile := filepath.Join(dir, "kp.pem")
	os.WriteFile(kpFile, append(testpki.EncodeChain(chain), keyPEM...), 0o600)
	if a := imp(kpFile, "category=keypair&certificate-name=curl-kp&format=pem&passphrase=unused"); a.Status != "success" {
		t.Fatalf("import keypair: %+v", a)
	}
	if a := imp(kpFile, "category=certificate&certificate-name=curl-x&format=pkcs12"); a.Status != "error" || !strings.Contains(strings.Join(a.Lines, " "), "not simulated") {
		t.Errorf("pkcs12: %+v", a)
	}
	if a := get("type=config", "action=get", "xpath=/config/shared/certificate/entry/@name"); a.Code != "19" || len(a.Entries) != 2 || a.Entries[0].Name != "curl" || a.Entries[1].Name != "curl-kp" {
		t.Errorf("certificate names: %+v", a)
	}

	if a := get("type=config", "action=set", "xpath="+prof, "element=<protocol-settings><min-version>tls1-2</min-version></protocol-settings><certificate>curl</certificate>"); a.Status != "success" || a.Code != "20" {
		t.Fatalf("set: %+v", a)
	}
	if a := get("type=config", "action=get", "xpath="+prof); a.Code != "19" || a.entry().Certificate != "curl" || a.entry().MinVersion != "tls1-2" {
		t.Errorf("get after set: %+v", a)
	}
	if a := get("type=config", "action=edit", "xpath="+prof, `element=<entry name="curl"><certificate>curl-kp</certificate></entry>`); a.Status != "success" || a.Code != "20" {
		t.Fatalf("edit: %+v", a)
	}
	if a := get("type=config", "action=get", "xpath="+prof); a.entry().Certificate != "curl-kp" || a.entry().MinVersion != "" {
		t.Errorf("get after edit: %+v", a)
	}
	if a := get("type=config", "action=edit", "xpath="+prof, "element=<certificate>curl</certificate>"); a.Status != "error" || a.Code != "12" {
		t.Errorf("edit without the node itself: %+v", a)
	}
	if a := get("type=config", "action=set", "xpath=/config/devices/entry[@name='localhost.localdomain']/deviceconfig/system",
		"element=<ssl-tls-service-profile>curl</ssl-tls-service-profile>"); a.Code != "20" {
		t.Fatalf("set management profile: %+v", a)
	}
	if a := get("type=config", "action=show", "xpath="+prof); a.Status != "error" {
		t.Errorf("running configuration before the commit: %+v", a)
	}

	// Commit, as documented, and poll the job.
	a = get("type=commit", "cmd=<commit/>")
	if a.Status != "success" || a.Code != "19" || a.Job.ID == "" {
		t.Fatalf("commit: %+v", a)
	}
	for i := 0; ; i++ {
		a = get("type=op", "cmd=<show><jobs><id>"+a.Job.ID+"</id></jobs></show>")
		if a.Job.Status == "FIN" {
			break
		}
		if i > 10 {
			t.Fatalf("job never finished: %+v", a)
		}
	}
	if a.Job.Result != "OK" || !xmlType(a) {
		t.Errorf("job: %+v", a)
	}
	if a := get("type=config", "action=show", "xpath="+prof); a.Status != "success" || a.entry().Certificate != "curl-kp" {
		t.Errorf("running profile: %+v", a)
	}
	if got := servedLeaf(t, dev.Addr); !got.Equal(chain[0]) {
		t.Errorf("served %s after the commit", got.Subject)
	}
	if a := get("type=commit", "cmd=<commit></commit>"); a.Code != "19" || a.Job.ID != "" {
		t.Errorf("nothing to commit: %+v", a)
	}
	if a := get("type=config", "action=delete", "xpath=/config/shared/certificate/entry[@name='curl-kp']"); a.Status != "error" || a.Code != "10" {
		t.Errorf("delete in use: %+v", a)
	}
	if a := get("type=config", "action=delete", "xpath=/config/shared/certificate/entry[@name='curl']"); a.Status != "success" || a.Code != "20" {
		t.Errorf("delete: %+v", a)
	}
	if a := get("type=config", "action=get", "xpath=/config/shared/certificate/entry[@name='curl']"); a.Code != "7" {
		t.Errorf("after delete: %+v", a)
	}
}
