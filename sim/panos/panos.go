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
// GlobalProtect portals and gateways name the profile they serve with;
// those added with AddGlobalProtect serve HTTPS on ports of their own.
//
// Faults can be injected: refused credentials, an error body for one call
// type or one configuration xpath, a commit that fails validation, slow
// commits, a connection dropped during an import, and a generator that
// drops subject alternative names.
package panos

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"log"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
)

// Faults make the device misbehave; set them through Device.SetFaults.
type Faults struct {
	// BadCredentials refuses every login and key.
	BadCredentials bool
	// ErrorOn answers calls of this type (keygen, op, config, import,
	// export, commit) with HTTP 200 and status="error" carrying Message.
	ErrorOn, Message string
	// RefuseXPath refuses changes (set, edit, delete) on an xpath
	// containing it with status="error" carrying Message, as when another
	// administrator holds a lock on that part of the configuration.
	RefuseXPath string
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
	mgmt     string           // the management interface's ssl-tls-service-profile
	gp       map[gpKey]string // GlobalProtect portals and gateways: their profile
}

func (c *config) clone() *config {
	n := &config{certs: map[string]*Cert{}, profiles: map[string]*profile{}, mgmt: c.mgmt, gp: maps.Clone(c.gp)}
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
	sessions  map[string]*Session
	candidate *config
	running   *config
	// changedBy says which administrator changed each object since it
	// was last committed; seen is the candidate after the last change,
	// committed what runs once the queued commits are done.
	changedBy map[objectKey]string
	seen      *config
	committed *config
	jobs      map[int]*job
	nextJob   int
	faults    Faults
	factory   tls.Certificate
	srv       *http.Server
	extra     []*http.Server // GlobalProtect portals' and gateways' HTTPS
	ln        net.Listener
	calls     []string
}

// Start runs a firewall on 127.0.0.1 with one administrator.
func Start(user, password string) (*Device, error) {
	d := &Device{
		Hostname:  "PA-VM",
		users:     map[string]string{user: password},
		keys:      map[string]string{},
		sessions:  map[string]*Session{},
		candidate: &config{certs: map[string]*Cert{}, profiles: map[string]*profile{}, gp: map[gpKey]string{}},
		jobs:      map[int]*job{},
		nextJob:   1,
		changedBy: map[objectKey]string{},
	}
	d.running = d.candidate.clone()
	d.settle()
	var err error
	d.factory = testpki.SelfSigned(d.Hostname, "Palo Alto Networks")
	d.ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.Addr = d.ln.Addr().String()
	mux := http.NewServeMux()
	// pango posts to /api, pan-python and the documentation use /api/.
	mux.HandleFunc("/api/", d.api)
	mux.HandleFunc("/api", d.api)
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
func (d *Device) Close() error {
	d.mu.Lock()
	extra := d.extra
	d.mu.Unlock()
	for _, s := range extra {
		s.Close()
	}
	return d.srv.Close()
}

// SetFaults replaces the injected faults.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
}

// AddUser adds an administrator (or changes its password).
func (d *Device) AddUser(user, password string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users[user] = password
}

// Session is one API key's use of the device: the administrator it was
// generated for, and when it was generated and last used. A client that
// logs in once per job (the driver does, per rotation attempt) leaves one
// session per job, so two sessions whose spans overlap are two jobs
// working on the device at once.
type Session struct {
	User        string
	First, Last time.Time
	// Calls counts the calls made with the key, keygen included.
	Calls int
}

// Sessions lists the API keys generated so far, oldest first.
func (d *Device) Sessions() []Session {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Session, 0, len(d.sessions))
	for _, s := range d.sessions {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b Session) int { return a.First.Compare(b.First) })
	return out
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

// Candidate returns what the candidate configuration binds: the
// certificate the management interface's profile names ("" if none) and
// that profile ("" if none).
func (d *Device) Candidate() (cert, mgmt string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.candidate.profiles[d.candidate.mgmt]; p != nil {
		cert = p.cert
	}
	return cert, d.candidate.mgmt
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
	d.settle()
}

// Protocols sets a profile's TLS versions in both configurations, as an
// administrator who tightened it earlier would have.
func (d *Device) Protocols(profileName, min, max string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, c := range []*config{d.candidate, d.running} {
		if p := c.profiles[profileName]; p != nil {
			p.min, p.max = min, max
		}
	}
	d.settle()
}

// RunningProfile returns what the running configuration's profile holds:
// its certificate and TLS versions (ok false if there is no such profile).
func (d *Device) RunningProfile(name string) (cert, min, max string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.running.profiles[name]
	if p == nil {
		return "", "", "", false
	}
	return p.cert, p.min, p.max, true
}

// served is the certificate the management interface presents.
func (d *Device) served(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.servedBy(d.running.mgmt), nil
}

// servedBy is the certificate and key a running profile names (the
// factory certificate if there is none yet).
func (d *Device) servedBy(profileName string) *tls.Certificate {
	p := d.running.profiles[profileName]
	if p == nil {
		return &d.factory
	}
	c := d.running.certs[p.cert]
	if c == nil || len(c.Chain) == 0 || c.key == nil {
		return &d.factory
	}
	tc := &tls.Certificate{PrivateKey: c.key, Leaf: c.Chain[0]}
	for _, x := range c.Chain {
		tc.Certificate = append(tc.Certificate, x.Raw)
	}
	return tc
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

// denied is the device's answer to a wrong password or an unknown key:
// HTTP 403 with the XML envelope, which clients parse for the message.
// Keygen writes it with single quotes and spaces around '=', as it
// writes its success answer.
func denied(w http.ResponseWriter, keygen bool) {
	w.Header().Set("Content-Type", "application/xml; charset=UTF-8")
	w.WriteHeader(http.StatusForbidden)
	if keygen {
		fmt.Fprint(w, "<response status = 'error' code = '403'><result><msg>Invalid Credential</msg></result></response>\n")
		return
	}
	fmt.Fprint(w, `<response status="error" code="403"><result><msg>Invalid Credential</msg></result></response>`+"\n")
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
	if s := d.sessions[key]; ok && s != nil {
		s.Last = time.Now()
		s.Calls++
	}
	if !ok || d.faults.BadCredentials {
		denied(w, false)
		return
	}
	if d.faults.ErrorOn == typ {
		fail(w, "14", d.faults.Message)
		return
	}
	if x := d.faults.RefuseXPath; x != "" && typ == "config" && r.Form.Get("action") != "get" && r.Form.Get("action") != "show" &&
		strings.Contains(r.Form.Get("xpath"), x) {
		fail(w, "14", d.faults.Message)
		return
	}
	switch typ {
	case "version":
		reply(w, "success", "", "<result><sw-version>10.2.4</sw-version><model>PA-VM</model><serial>007951000000001</serial></result>")
	case "op":
		d.op(w, user, r.Form.Get("cmd"))
	case "export":
		d.export(w, r)
	case "import":
		d.importFile(w, r, user)
	case "config":
		d.config(w, user, r.Form.Get("action"), r.Form.Get("xpath"), r.Form.Get("element"))
	case "commit":
		d.commit(w, user, r.Form.Get("action"), r.Form.Get("cmd"))
	case "":
		fail(w, "18", "Malformed Request: the type parameter is missing")
	default:
		fail(w, "1", fmt.Sprintf("Unknown command: type %q is not simulated (keygen, version, op, config, import, export, commit are)", typ))
	}
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
