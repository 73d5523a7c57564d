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
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

func (d *Device) keygen(w http.ResponseWriter, r *http.Request) {
	user, pw := r.Form.Get("user"), r.Form.Get("password")
	if want, ok := d.users[user]; !ok || want != pw || d.faults.BadCredentials {
		denied(w, true)
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
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	// The device writes keygen answers with single quotes and spaces.
	fmt.Fprintf(w, "<response status = 'success'><result><key>%s</key></result></response>\n", key)
}

// generate makes a key and, for signed-by external, a request. Every
// child of <generate> either shapes the request or is refused: dropping
// an <organization> silently would hand back a request the caller did not
// ask for.
func (d *Device) generate(w http.ResponseWriter, user string, gen *node) {
	var g generate
	if err := xml.Unmarshal([]byte(gen.String()), &g); err != nil {
		fail(w, "18", "Malformed command: "+err.Error())
		return
	}
	for _, c := range gen.children {
		if !slices.Contains(generateChildren, c.name) {
			fail(w, "17", "request -> certificate -> generate -> "+c.name+" is not simulated")
			return
		}
	}
	switch {
	case g.Name == "" || len(g.Name) > 63:
		fail(w, "12", "request -> certificate -> generate -> certificate-name is invalid")
		return
	case g.CommonName == "":
		fail(w, "12", "request -> certificate -> generate -> name is missing")
		return
	case g.SignedBy != "external":
		fail(w, "12", "only signed-by external (a request for an outside CA) is simulated")
		return
	case g.CA != "" && g.CA != "no":
		fail(w, "12", "request -> certificate -> generate -> ca: only 'no' is simulated")
		return
	case g.Country != "" && (len(g.Country) != 2 || strings.Trim(g.Country, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != ""):
		// The device offers ISO 3166 codes for country-code.
		fail(w, "12", fmt.Sprintf("request -> certificate -> generate -> country-code '%s' is not a valid value", g.Country))
		return
	case d.candidate.certs[g.Name] != nil:
		fail(w, "12", fmt.Sprintf("%s already exists", g.Name))
		return
	}
	sigAlg := map[string]x509.SignatureAlgorithm{"": 0, "sha256": 0, "sha384": 0, "sha512": 0}
	if _, ok := sigAlg[g.Digest]; !ok {
		fail(w, "12", fmt.Sprintf("request -> certificate -> generate -> digest '%s' is not simulated (sha256, sha384, sha512 are)", g.Digest))
		return
	}
	var ips []net.IP
	for _, s := range g.IPs {
		ip := net.ParseIP(strings.TrimSpace(s))
		if ip == nil {
			fail(w, "12", fmt.Sprintf("request -> certificate -> generate -> ip '%s' is not a valid IP address", s))
			return
		}
		ips = append(ips, ip)
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
		fail(w, "12", "request -> certificate -> generate -> algorithm is invalid (RSA 2048/3072/4096 or ECDSA 256/384)")
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
	subject := pkix.Name{CommonName: g.CommonName}
	for _, v := range []struct {
		dst *[]string
		val string
	}{{&subject.Country, g.Country}, {&subject.Province, g.State}, {&subject.Locality, g.Locality}, {&subject.Organization, g.Organization}} {
		if v.val != "" {
			*v.dst = []string{v.val}
		}
	}
	subject.OrganizationalUnit = g.OrgUnits
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: subject, DNSNames: names, IPAddresses: ips, EmailAddresses: g.Emails, SignatureAlgorithm: digestAlgorithm(key, g.Digest)}, key)
	if err != nil {
		fail(w, "21", "Internal error")
		return
	}
	csr, _ := x509.ParseCertificateRequest(der)
	d.candidate.certs[g.Name] = &Cert{Name: g.Name, CommonName: g.CommonName, Algorithm: algo, key: key, CSR: csr}
	d.changed(user, objectKey("cert:"+g.Name))
	reply(w, "success", "", "<result>Successfully generated certificate and key pair</result>")
}

func digestAlgorithm(key crypto.Signer, digest string) x509.SignatureAlgorithm {
	_, ec := key.(*ecdsa.PrivateKey)
	switch {
	case digest == "sha384" && ec:
		return x509.ECDSAWithSHA384
	case digest == "sha384":
		return x509.SHA384WithRSA
	case digest == "sha512" && ec:
		return x509.ECDSAWithSHA512
	case digest == "sha512":
		return x509.SHA512WithRSA
	}
	return 0 // SHA-256
}

var generateChildren = []string{"certificate-name", "name", "algorithm", "digest", "hostname", "ip", "email",
	"country-code", "state", "locality", "organization", "organization-unit", "ca", "signed-by", "days-till-expiry"}

// generate is the op command's <generate> element.
type generate struct {
	Name         string   `xml:"certificate-name"`
	CommonName   string   `xml:"name"`
	Hostnames    []string `xml:"hostname>member"`
	IPs          []string `xml:"ip>member"`
	Emails       []string `xml:"email>member"`
	SignedBy     string   `xml:"signed-by"`
	CA           string   `xml:"ca"`
	RSABits      int      `xml:"algorithm>RSA>rsa-nbits"`
	ECDSABits    int      `xml:"algorithm>ECDSA>ecdsa-nbits"`
	Digest       string   `xml:"digest"`
	Country      string   `xml:"country-code"`
	State        string   `xml:"state"`
	Locality     string   `xml:"locality"`
	Organization string   `xml:"organization"`
	OrgUnits     []string `xml:"organization-unit>member"`
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

// op reads the command as XML, so every equivalent spelling
// (<info/>, <info></info>, whitespace between elements) is the same command.
func (d *Device) op(w http.ResponseWriter, user, cmd string) {
	if cmd == "" {
		fail(w, "18", "Malformed Request: op needs the cmd parameter")
		return
	}
	root, err := parseXML(cmd)
	if err != nil {
		fail(w, "18", "Malformed command: "+err.Error())
		return
	}
	switch {
	case isPath(root, "show", "system", "info"):
		reply(w, "success", "", fmt.Sprintf("<result><system><hostname>%s</hostname><ip-address>127.0.0.1</ip-address>"+
			"<model>PA-VM</model><family>vm</family><serial>007951000000001</serial><sw-version>10.2.4</sw-version>"+
			"<multi-vsys>off</multi-vsys><operational-mode>normal</operational-mode></system></result>", esc(d.Hostname)))
	case root.name == "show" && len(root.children) == 1 && root.children[0].name == "jobs":
		jobs := root.children[0]
		if len(jobs.children) != 1 || jobs.children[0].name != "id" || len(jobs.children[0].children) > 0 {
			fail(w, "17", "show -> jobs: only <id>N</id> is simulated")
			return
		}
		id, err := strconv.Atoi(jobs.children[0].value())
		if err != nil || id <= 0 {
			fail(w, "17", fmt.Sprintf("show -> jobs -> id '%s' is not a valid job id", jobs.children[0].value()))
			return
		}
		d.showJob(w, id)
	case root.name == "request" && len(root.children) == 1 && root.children[0].name == "certificate" &&
		len(root.children[0].children) == 1 && root.children[0].children[0].name == "generate":
		d.generate(w, user, root.children[0].children[0])
	default:
		fail(w, "17", fmt.Sprintf("Invalid syntax: %s is not a simulated command (show system info, show jobs id, request certificate generate are)", opPath(root)))
	}
}

// isPath reports whether n is the nested elements names, the last one empty.
func isPath(n *node, names ...string) bool {
	for i, name := range names {
		if n.name != name {
			return false
		}
		if i == len(names)-1 {
			return len(n.children) == 0 && n.value() == ""
		}
		if len(n.children) != 1 {
			return false
		}
		n = n.children[0]
	}
	return false
}

func opPath(n *node) string {
	parts := []string{n.name}
	for len(n.children) > 0 {
		n = n.children[0]
		parts = append(parts, n.name)
	}
	return "<" + strings.Join(parts, "><") + ">"
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
