// Package panos simulates the parts of a Palo Alto Networks firewall that
// certificate rotation uses, speaking the PAN-OS XML API as the device
// does: one endpoint /api/ taking GET query strings, POST forms or
// multipart uploads; keys from type=keygen sent as X-PAN-KEY or key=;
// answers as <response status="success|error" code="…"> with HTTP 200
// even for most errors.
//
// It keeps real state: a candidate and a running configuration
// (certificates with keys made by crypto/ecdsa and crypto/rsa, SSL/TLS
// service profiles, the management interface's profile), a commit job
// table whose jobs go from ACT to FIN over polls, and it serves HTTPS on
// its own port with the certificate the running configuration binds to
// the management interface, as the device's web UI and API do. Until a
// profile is bound it serves a self-signed factory certificate.
//
// Faults can be injected: refused credentials, an error body for one call
// type, a commit that fails validation, slow commits, a connection dropped
// during an import, and a generator that drops subject alternative names.
package panos

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
)

// Faults make the device misbehave; set them through Device.SetFaults.
type Faults struct {
	// BadCredentials refuses every login and key.
	BadCredentials bool
	// ErrorOn answers calls of this type (keygen, op, config, import,
	// export, commit) with HTTP 200 and status="error" carrying Message.
	ErrorOn, Message string
	// CommitFail makes the next commits fail validation with this detail.
	CommitFail string
	// CommitPolls is how many "show jobs" polls a commit stays ACT.
	CommitPolls int
	// DropImport closes the connection in the middle of an import, before
	// anything is stored.
	DropImport bool
	// DropSANs makes certificate generation keep only the first
	// subject alternative name.
	DropSANs bool
}

// Cert is a certificate entry as the configuration holds it.
type Cert struct {
	Name       string
	CommonName string
	Algorithm  string
	key        crypto.Signer
	CSR        *x509.CertificateRequest
	Chain      []*x509.Certificate // empty until a certificate is imported
}

type profile struct{ cert, min, max string }

type config struct {
	certs    map[string]*Cert
	profiles map[string]*profile
	mgmt     string // the management interface's ssl-tls-service-profile
}

func (c *config) clone() *config {
	n := &config{certs: map[string]*Cert{}, profiles: map[string]*profile{}, mgmt: c.mgmt}
	for k, v := range c.certs {
		cp := *v
		cp.Chain = append([]*x509.Certificate(nil), v.Chain...)
		n.certs[k] = &cp
	}
	for k, v := range c.profiles {
		cp := *v
		n.profiles[k] = &cp
	}
	return n
}

type job struct {
	id            int
	user          string
	polls         int
	status        string // ACT, FIN
	result        string // PEND, OK, FAIL
	details       []string
	enqueued      time.Time
	failed        bool
	commitOnDone  *config
	progressSteps int
}

// Device is a running simulated firewall.
type Device struct {
	// Addr is the management interface, host:port (HTTPS: API and UI).
	Addr string
	// Hostname is the device's name, as "show system info" reports it.
	Hostname string

	mu        sync.Mutex
	users     map[string]string
	keys      map[string]string // API key -> user
	candidate *config
	running   *config
	dirty     bool
	jobs      map[int]*job
	nextJob   int
	faults    Faults
	factory   tls.Certificate
	srv       *http.Server
	ln        net.Listener
	calls     []string
}

// Start runs a firewall on 127.0.0.1 with one administrator.
func Start(user, password string) (*Device, error) {
	d := &Device{
		Hostname:  "PA-VM",
		users:     map[string]string{user: password},
		keys:      map[string]string{},
		candidate: &config{certs: map[string]*Cert{}, profiles: map[string]*profile{}},
		jobs:      map[int]*job{},
		nextJob:   1,
	}
	d.running = d.candidate.clone()
	var err error
	d.factory = testpki.SelfSigned(d.Hostname, "Palo Alto Networks")
	d.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.Addr = d.ln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", d.api)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>PAN-OS web interface</body></html>")
	})
	d.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{GetCertificate: d.served, MinVersion: tls.VersionTLS12}}
	go d.srv.ServeTLS(d.ln, "", "") //nolint:errcheck // ends with Close
	return d, nil
}

// Close stops the device.
func (d *Device) Close() error { return d.srv.Close() }

// SetFaults replaces the injected faults.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
}

// Calls lists the API calls made so far, as "type" or "type/action".
func (d *Device) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

// Running returns the certificate entries of the running configuration,
// by name, and the name bound to the management interface ("" if none).
func (d *Device) Running() (map[string]*Cert, string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]*Cert{}
	for k, v := range d.running.certs {
		cp := *v
		out[k] = &cp
	}
	bound := ""
	if p := d.running.profiles[d.running.mgmt]; p != nil {
		bound = p.cert
	}
	return out, bound
}

// Preload puts a certificate with its key in both configurations and
// binds it to the management interface through profile, as a device in
// service already has.
func (d *Device) Preload(name, profileName string, key crypto.Signer, chain []*x509.Certificate) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.candidate.certs[name] = &Cert{Name: name, CommonName: chain[0].Subject.CommonName, Algorithm: algorithmOf(key), key: key, Chain: chain}
	d.candidate.profiles[profileName] = &profile{cert: name, min: "tls1-2", max: "max"}
	d.candidate.mgmt = profileName
	d.running = d.candidate.clone()
}

// served is the certificate the management interface presents.
func (d *Device) served(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.running.profiles[d.running.mgmt]
	if p == nil {
		return &d.factory, nil
	}
	c := d.running.certs[p.cert]
	if c == nil || len(c.Chain) == 0 || c.key == nil {
		return &d.factory, nil
	}
	tc := &tls.Certificate{PrivateKey: c.key, Leaf: c.Chain[0]}
	for _, x := range c.Chain {
		tc.Certificate = append(tc.Certificate, x.Raw)
	}
	return tc, nil
}

// response is PAN-OS's envelope.
func reply(w http.ResponseWriter, status, code, inner string) {
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	attrs := fmt.Sprintf(`status="%s"`, status)
	if code != "" {
		attrs += fmt.Sprintf(` code="%s"`, code)
	}
	fmt.Fprintf(w, "<response %s>%s</response>\n", attrs, inner)
}

func fail(w http.ResponseWriter, code, msg string) {
	reply(w, "error", code, "<msg><line>"+esc(msg)+"</line></msg>")
}

func esc(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

func (d *Device) api(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			fail(w, "18", "Malformed Request")
			return
		}
	} else if err := r.ParseForm(); err != nil {
		fail(w, "18", "Malformed Request")
		return
	}
	typ := r.Form.Get("type")
	d.mu.Lock()
	defer d.mu.Unlock()
	call := typ
	if a := r.Form.Get("action"); a != "" {
		call += "/" + a
	}
	d.calls = append(d.calls, call)
	if typ == "keygen" {
		d.keygen(w, r)
		return
	}
	key := r.Header.Get("X-PAN-KEY")
	if key == "" {
		key = r.Form.Get("key")
	}
	user, ok := d.keys[key]
	if !ok || d.faults.BadCredentials {
		w.WriteHeader(http.StatusForbidden)
		reply(w, "error", "403", "<result><msg>Invalid Credential</msg></result>")
		return
	}
	if d.faults.ErrorOn == typ {
		fail(w, "14", d.faults.Message)
		return
	}
	switch typ {
	case "version":
		reply(w, "success", "", "<result><sw-version>10.2.4</sw-version><model>PA-VM</model><serial>007951000000001</serial></result>")
	case "op":
		d.op(w, r.Form.Get("cmd"))
	case "export":
		d.export(w, r)
	case "import":
		d.importCert(w, r)
	case "config":
		d.config(w, r.Form.Get("action"), r.Form.Get("xpath"), r.Form.Get("element"))
	case "commit":
		d.commit(w, user, r.Form.Get("cmd"))
	default:
		fail(w, "1", "Unknown command")
	}
}

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
	fmt.Fprintf(w, "<response status = 'success'><result><key>%s</key></result></response>\n", key)
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

// The xpaths the configuration calls act on.
const (
	certsPath   = "/config/shared/certificate"
	profilePath = "/config/shared/ssl-tls-service-profile"
	systemPath  = "/config/devices/entry[@name='localhost.localdomain']/deviceconfig/system"
)

func entryName(xpath, prefix string) (string, string, bool) {
	if !strings.HasPrefix(xpath, prefix+"/entry[@name='") {
		return "", "", false
	}
	rest := strings.TrimPrefix(xpath, prefix+"/entry[@name='")
	name, tail, ok := strings.Cut(rest, "']")
	return name, tail, ok && name != ""
}

func (d *Device) config(w http.ResponseWriter, action, xpath, element string) {
	cfg := d.candidate
	if action == "show" {
		cfg = d.running
	}
	switch action {
	case "get", "show":
		d.configGet(w, cfg, xpath)
	case "set", "edit":
		d.configSet(w, xpath, element)
	case "delete":
		d.configDelete(w, xpath)
	default:
		fail(w, "18", "Malformed Request")
	}
}

func certXML(c *Cert) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<entry name="%s"><common-name>%s</common-name><algorithm>%s</algorithm><ca>no</ca>`, esc(c.Name), esc(c.CommonName), c.Algorithm)
	if c.CSR != nil {
		fmt.Fprintf(&b, "<csr>%s</csr>", esc(string(pemEncode("CERTIFICATE REQUEST", c.CSR.Raw))))
	}
	if len(c.Chain) > 0 {
		l := c.Chain[0]
		fmt.Fprintf(&b, "<public-key>%s</public-key><subject>/CN=%s</subject><issuer>/CN=%s</issuer><expiry-epoch>%d</expiry-epoch>"+
			"<not-valid-after>%s</not-valid-after><not-valid-before>%s</not-valid-before>",
			esc(string(pemEncode("CERTIFICATE", l.Raw))), esc(l.Subject.CommonName), esc(l.Issuer.CommonName), l.NotAfter.Unix(),
			l.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT"), l.NotBefore.UTC().Format("Jan _2 15:04:05 2006 GMT"))
	}
	if c.key != nil {
		b.WriteString("<private-key>-AQ==encrypted==</private-key>")
	}
	b.WriteString("</entry>")
	return b.String()
}

func (d *Device) configGet(w http.ResponseWriter, cfg *config, xpath string) {
	switch {
	case xpath == certsPath:
		names := make([]string, 0, len(cfg.certs))
		for n := range cfg.certs {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, n := range names {
			b.WriteString(certXML(cfg.certs[n]))
		}
		reply(w, "success", "19", fmt.Sprintf(`<result total-count="1" count="1"><certificate>%s</certificate></result>`, b.String()))
	case strings.HasPrefix(xpath, certsPath+"/entry"):
		name, tail, ok := entryName(xpath, certsPath)
		c := cfg.certs[name]
		if !ok || tail != "" || c == nil {
			reply(w, "success", "7", "<result/>")
			return
		}
		reply(w, "success", "19", `<result total-count="1" count="1">`+certXML(c)+"</result>")
	case strings.HasPrefix(xpath, profilePath+"/entry"):
		name, _, ok := entryName(xpath, profilePath)
		p := cfg.profiles[name]
		if !ok || p == nil {
			reply(w, "success", "7", "<result/>")
			return
		}
		reply(w, "success", "19", fmt.Sprintf(`<result total-count="1" count="1"><entry name="%s"><protocol-settings><min-version>%s</min-version><max-version>%s</max-version></protocol-settings><certificate>%s</certificate></entry></result>`,
			esc(name), p.min, p.max, esc(p.cert)))
	case xpath == systemPath+"/ssl-tls-service-profile":
		if cfg.mgmt == "" {
			reply(w, "success", "7", "<result/>")
			return
		}
		reply(w, "success", "19", `<result total-count="1" count="1"><ssl-tls-service-profile>`+esc(cfg.mgmt)+"</ssl-tls-service-profile></result>")
	default:
		fail(w, "6", "Bad xpath")
	}
}

// profileElement is what set/edit of a profile carries.
type profileElement struct {
	Certificate string `xml:"certificate"`
	Min         string `xml:"protocol-settings>min-version"`
	Max         string `xml:"protocol-settings>max-version"`
}

func (d *Device) configSet(w http.ResponseWriter, xpath, element string) {
	ok := func() {
		d.dirty = true
		reply(w, "success", "20", "<msg>command succeeded</msg>")
	}
	switch {
	case strings.HasPrefix(xpath, profilePath+"/entry"):
		name, tail, valid := entryName(xpath, profilePath)
		if !valid {
			fail(w, "6", "Bad xpath")
			return
		}
		var e profileElement
		if err := xml.Unmarshal([]byte("<e>"+element+"</e>"), &e); err != nil {
			fail(w, "12", "Malformed element")
			return
		}
		if tail == "/certificate" { // edit of the certificate node itself
			if err := xml.Unmarshal([]byte("<e>"+element+"</e>"), &e); err != nil || e.Certificate == "" {
				fail(w, "12", "Malformed element")
				return
			}
		} else if tail != "" {
			fail(w, "6", "Bad xpath")
			return
		}
		if e.Certificate != "" && d.candidate.certs[e.Certificate] == nil {
			fail(w, "12", fmt.Sprintf("ssl-tls-service-profile -> %s -> certificate '%s' is not a valid reference", name, e.Certificate))
			return
		}
		p := d.candidate.profiles[name]
		if p == nil {
			p = &profile{min: "tls1-0", max: "max"}
			d.candidate.profiles[name] = p
		}
		if e.Certificate != "" {
			p.cert = e.Certificate
		}
		if e.Min != "" {
			p.min = e.Min
		}
		if e.Max != "" {
			p.max = e.Max
		}
		ok()
	case xpath == systemPath || xpath == systemPath+"/ssl-tls-service-profile":
		var e struct {
			Profile string `xml:"ssl-tls-service-profile"`
		}
		if err := xml.Unmarshal([]byte("<e>"+element+"</e>"), &e); err != nil || e.Profile == "" {
			fail(w, "12", "Malformed element")
			return
		}
		if d.candidate.profiles[e.Profile] == nil {
			fail(w, "12", fmt.Sprintf("system -> ssl-tls-service-profile '%s' is not a valid reference", e.Profile))
			return
		}
		d.candidate.mgmt = e.Profile
		ok()
	default:
		fail(w, "6", "Bad xpath")
	}
}

func (d *Device) configDelete(w http.ResponseWriter, xpath string) {
	name, tail, ok := entryName(xpath, certsPath)
	if !ok || tail != "" {
		fail(w, "6", "Bad xpath")
		return
	}
	if d.candidate.certs[name] == nil {
		reply(w, "success", "7", "<msg>Object doesn't exist</msg>")
		return
	}
	for pn, p := range d.candidate.profiles {
		if p.cert == name {
			fail(w, "10", fmt.Sprintf("%s cannot be deleted because of references from:\n ssl-tls-service-profile -> %s -> certificate", name, pn))
			return
		}
	}
	delete(d.candidate.certs, name)
	d.dirty = true
	reply(w, "success", "20", "<msg>command succeeded</msg>")
}

func (d *Device) commit(w http.ResponseWriter, user, cmd string) {
	if !strings.HasPrefix(cmd, "<commit>") {
		fail(w, "18", "Malformed command")
		return
	}
	if !d.dirty {
		reply(w, "success", "19", "<msg>There are no changes to commit.</msg>")
		return
	}
	j := &job{id: d.nextJob, user: user, status: "ACT", result: "PEND", enqueued: time.Now(), progressSteps: d.faults.CommitPolls}
	d.nextJob++
	if d.faults.CommitFail != "" {
		j.failed, j.details = true, []string{"Validation Error:", d.faults.CommitFail, "Commit failed"}
	} else if problem := d.validate(); problem != "" {
		j.failed, j.details = true, []string{"Validation Error:", problem, "Commit failed"}
	} else {
		j.commitOnDone = d.candidate.clone()
		d.dirty = false
	}
	d.jobs[j.id] = j
	reply(w, "success", "19", fmt.Sprintf("<result><msg><line>Commit job enqueued with jobid %d</line></msg><job>%d</job></result>", j.id, j.id))
}

// validate is the commit's check: profiles must name certificates that
// have both a key and a certificate.
func (d *Device) validate() string {
	for pn, p := range d.candidate.profiles {
		c := d.candidate.certs[p.cert]
		switch {
		case c == nil:
			return fmt.Sprintf("ssl-tls-service-profile -> %s -> certificate '%s' is not a valid reference", pn, p.cert)
		case c.key == nil:
			return fmt.Sprintf("ssl-tls-service-profile -> %s -> certificate '%s' has no private key", pn, p.cert)
		case len(c.Chain) == 0:
			return fmt.Sprintf("ssl-tls-service-profile -> %s -> certificate '%s' has no certificate (only a request)", pn, p.cert)
		}
	}
	return ""
}

func algorithmOf(k crypto.Signer) string {
	if _, ok := k.(*ecdsa.PrivateKey); ok {
		return "ECDSA"
	}
	return "RSA"
}

func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
