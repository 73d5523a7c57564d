package panos

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

func (d *Device) keygen(w http.ResponseWriter, r *http.Request) {
	user, pw := r.Form.Get("user"), r.Form.Get("password")
	if want, ok := d.users[user]; !ok || want != pw || d.faults.BadCredentials {
		w.WriteHeader(http.StatusForbidden)
		// The device writes this one with single quotes.
		fmt.Fprint(w, "<response status = 'error' code = '403'><result><msg>Invalid Credential</msg></result></response>\n")
		return
	}
	if d.faults.ErrorOn == "keygen" {
		fail(w, "14", d.faults.Message)
		return
	}
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	key := "LUFRPT1" + hex.EncodeToString(b) + "="
	d.keys[key] = user
	now := time.Now()
	d.sessions[key] = &Session{User: user, First: now, Last: now, Calls: 1}
	fmt.Fprintf(w, "<response status = 'success'><result><key>%s</key></result></response>\n", key)
}

func (d *Device) generate(w http.ResponseWriter, g generate) {
	switch {
	case g.Name == "" || len(g.Name) > 63:
		fail(w, "12", "certificate-name is invalid")
		return
	case g.CommonName == "":
		fail(w, "12", "certificate -> name is missing")
		return
	case g.SignedBy != "external":
		fail(w, "12", "only signed-by external is simulated")
		return
	case d.candidate.certs[g.Name] != nil:
		fail(w, "12", fmt.Sprintf("%s already exists", g.Name))
		return
	}
	var key crypto.Signer
	var err error
	algo := "RSA"
	switch {
	case g.ECDSABits == 256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		algo = "ECDSA"
	case g.ECDSABits == 384:
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		algo = "ECDSA"
	case g.RSABits == 2048 || g.RSABits == 3072 || g.RSABits == 4096:
		key, err = rsa.GenerateKey(rand.Reader, g.RSABits)
	default:
		fail(w, "12", "algorithm is invalid")
		return
	}
	if err != nil {
		fail(w, "21", "Internal error")
		return
	}
	names := g.Hostnames
	if d.faults.DropSANs && len(names) > 1 {
		names = names[:1]
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: g.CommonName}, DNSNames: names}, key)
	if err != nil {
		fail(w, "21", "Internal error")
		return
	}
	csr, _ := x509.ParseCertificateRequest(der)
	d.candidate.certs[g.Name] = &Cert{Name: g.Name, CommonName: g.CommonName, Algorithm: algo, key: key, CSR: csr}
	d.dirty = true
	reply(w, "success", "", "<result>Successfully generated certificate and key pair</result>")
}

// generate is the op command's request/certificate/generate element.
type generate struct {
	Name       string   `xml:"certificate>generate>certificate-name"`
	CommonName string   `xml:"certificate>generate>name"`
	Hostnames  []string `xml:"certificate>generate>hostname>member"`
	SignedBy   string   `xml:"certificate>generate>signed-by"`
	RSABits    int      `xml:"certificate>generate>algorithm>RSA>rsa-nbits"`
	ECDSABits  int      `xml:"certificate>generate>algorithm>ECDSA>ecdsa-nbits"`
	Digest     string   `xml:"certificate>generate>digest"`
}

func (d *Device) showJob(w http.ResponseWriter, id int) {
	j := d.jobs[id]
	if j == nil {
		fail(w, "12", fmt.Sprintf("job %d not found", id))
		return
	}
	if j.status == "ACT" {
		j.polls++
		if j.polls > j.progressSteps {
			d.finish(j)
		}
	}
	progress := 100
	if j.status == "ACT" {
		progress = 100 * j.polls / (j.progressSteps + 1)
	}
	var lines strings.Builder
	for _, l := range j.details {
		lines.WriteString("<line>" + esc(l) + "</line>")
	}
	tfin := "Still Active"
	if j.status == "FIN" {
		tfin = time.Now().Format("15:04:05")
	}
	reply(w, "success", "", fmt.Sprintf("<result><job><tenq>%s</tenq><tdeq>%s</tdeq><id>%d</id><user>%s</user><type>Commit</type>"+
		"<status>%s</status><queued>NO</queued><stoppable>no</stoppable><result>%s</result><tfin>%s</tfin><description></description>"+
		"<positionInQ>0</positionInQ><progress>%d</progress><warnings></warnings><details>%s</details></job></result>",
		j.enqueued.Format("2006/01/02 15:04:05"), j.enqueued.Format("15:04:05"), j.id, esc(j.user), j.status, j.result, tfin, progress, lines.String()))
}

type showJob struct {
	ID int `xml:"jobs>id"`
}

func (d *Device) op(w http.ResponseWriter, cmd string) {
	switch {
	case strings.HasPrefix(cmd, "<request><certificate><generate>"):
		var g generate
		if err := xml.Unmarshal([]byte(cmd), &g); err != nil {
			fail(w, "18", "Malformed command")
			return
		}
		d.generate(w, g)
	case strings.HasPrefix(cmd, "<show><jobs><id>"):
		var s showJob
		if err := xml.Unmarshal([]byte(cmd), &s); err != nil {
			fail(w, "18", "Malformed command")
			return
		}
		d.showJob(w, s.ID)
	case cmd == "<show><system><info></info></system></show>":
		reply(w, "success", "", fmt.Sprintf("<result><system><hostname>%s</hostname><sw-version>10.2.4</sw-version><model>PA-VM</model></system></result>", esc(d.Hostname)))
	default:
		fail(w, "17", "Invalid syntax.")
	}
}

// finish ends a commit job: the candidate becomes running, or the job
// fails validation and nothing changes.
func (d *Device) finish(j *job) {
	j.status = "FIN"
	if j.failed {
		j.result = "FAIL"
		return
	}
	d.running = j.commitOnDone
	j.result = "OK"
	j.details = []string{"Configuration committed successfully"}
}

func (d *Device) export(w http.ResponseWriter, r *http.Request) {
	if r.Form.Get("category") != "certificate" || r.Form.Get("format") != "pkcs10" {
		fail(w, "18", "only category=certificate format=pkcs10 is simulated")
		return
	}
	c := d.candidate.certs[r.Form.Get("certificate-name")]
	if c == nil || c.CSR == nil {
		fail(w, "7", fmt.Sprintf("certificate %s has no certificate request", r.Form.Get("certificate-name")))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", "attachment; filename="+c.Name+".csr")
	_, _ = w.Write(pemEncode("CERTIFICATE REQUEST", c.CSR.Raw))
}

func (d *Device) importCert(w http.ResponseWriter, r *http.Request) {
	if r.Form.Get("category") != "certificate" || r.Form.Get("format") != "pem" {
		fail(w, "18", "only category=certificate format=pem is simulated")
		return
	}
	if d.faults.DropImport {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}
	name := r.Form.Get("certificate-name")
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 {
		fail(w, "18", "Missing file")
		return
	}
	f, err := r.MultipartForm.File["file"][0].Open()
	if err != nil {
		fail(w, "18", "Missing file")
		return
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	chain, err := ottr.ParseChain(b)
	if err != nil || len(chain) == 0 {
		fail(w, "12", "Import of "+name+" failed. Malformed certificate file")
		return
	}
	c := d.candidate.certs[name]
	if c == nil {
		c = &Cert{Name: name, CommonName: chain[0].Subject.CommonName}
		d.candidate.certs[name] = c
	}
	if c.key != nil && !ottr.SamePublicKey(c.key.Public(), chain[0].PublicKey) {
		fail(w, "12", "Import of "+name+" failed. The certificate does not match the existing private key")
		return
	}
	c.Chain = chain
	c.Algorithm = algorithmOf(c.key)
	d.dirty = true
	reply(w, "success", "", "<msg><line>Certificate "+esc(name)+" imported successfully</line></msg>")
}
