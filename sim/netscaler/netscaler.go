// Package netscaler simulates the parts of a NetScaler ADC (Citrix ADC,
// release 14.1) that certificate rotation uses, speaking the NITRO REST
// API at /nitro/v1/config as the appliance does: JSON bodies named by
// resource ({"sslcertkey":{…}}), actions as ?action=create|update|link|
// unlink|save, selections as ?args=name:value,… and ?filter=…, sessions
// from POST /login carried in the NITRO_AUTH_TOKEN cookie (or the
// X-NITRO-USER and X-NITRO-PASS headers on every call), and errors as
// {"errorcode","message","severity":"ERROR"} with NITRO's numbers and
// HTTP status (4xx for general errors, 599 "Netscaler specific error").
//
// It keeps real state: files under /nsconfig/ssl (keys made with
// crypto/rsa and crypto/ecdsa by sslrsakey and sslecdsakey, CSRs signed
// with them by sslcertreq, files uploaded through systemfile), certificate
// key pairs loaded from those files when they are added or updated (the
// key must match the certificate), links to CA certificate key pairs,
// SSL virtual servers' certificate bindings, and the configuration saved
// by nsconfig save (ns.conf) beside the running one. Each SSL virtual
// server listens on its own port and presents its bound server
// certificate with the chain its links make, so a rotation is checked by
// a real handshake.
//
// Files are not configuration: a key or CSR written to /nsconfig/ssl is on
// disk whether or not the configuration is saved, as on the appliance.
// systemfile reads any file it is asked for, keys included, as NITRO does
// for a user whose command policy allows it; clients that keep keys on the
// box must simply not ask.
//
// What it does not model it refuses in NITRO's envelope (errorcode 1240,
// "Invalid nitro action or operation", naming what is not modelled),
// never with a success.
//
// Faults: refused credentials, sessions that expire, an error for one
// resource (and action or method), a connection dropped during a file
// upload, CSRs that lose their alternative names.
package netscaler

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
)

// Version is what GET nsversion reports.
const Version = "NetScaler NS14.1: Build 25.56.nc, Date: Jul 11 2024, 08:25:25   (64-bit)"

// sslDir is the default directory of keys, certificates and requests.
const sslDir = "/nsconfig/ssl/"

// Faults make the appliance misbehave; set them with Device.SetFaults.
type Faults struct {
	// BadCredentials refuses every login and X-NITRO-USER/PASS pair.
	BadCredentials bool
	// SessionLifetime makes sessions expire this long after their last
	// use (default 30 minutes, NITRO's default without a restricted
	// timeout).
	SessionLifetime time.Duration
	// ErrorOn answers requests for this resource (sslcertkey, systemfile,
	// nsconfig, …) with Errorcode and Message and HTTP Status (default
	// 599); ErrorAction and ErrorMethod, if set, narrow it to that
	// ?action= or HTTP method.
	ErrorOn, ErrorAction, ErrorMethod string
	Status, Errorcode                 int
	Message                           string
	// ErrorBody, if set, narrows the error to requests whose body holds
	// it (`"vservername":"vs_api"` fails that virtual server's binding).
	ErrorBody string
	// DropUpload closes the connection during a systemfile add, before
	// the file is written.
	DropUpload bool
	// DropSANs makes sslcertreq leave out the subject alternative names.
	DropSANs bool
}

// Device is a running simulated NetScaler.
type Device struct {
	// Addr is the management address (NSIP) serving NITRO.
	Addr string

	mu       sync.Mutex
	users    map[string]string
	sessions map[string]*session
	files    map[string]file
	run      config
	saved    string // run.String() at the last save
	vservers map[string]*vserver
	faults   Faults
	requests []string
	srv      *http.Server
	mgmt     net.Listener
	closed   bool
}

type file struct {
	data     []byte
	modified time.Time
}

// vserver is an SSL virtual server: its name and the listener presenting
// its bound certificate.
type vserver struct {
	name string
	ln   net.Listener
}

// Start runs an appliance with one system user and an SSL virtual server
// (on its own 127.0.0.1 port) for each name in vservers, with no
// certificate bound yet. The factory certificate ns-server-certificate is
// installed, as on every NetScaler.
func Start(user, password string, vservers ...string) (*Device, error) {
	d := &Device{users: map[string]string{user: password}, sessions: map[string]*session{}, files: map[string]file{},
		run: newConfig(), vservers: map[string]*vserver{}}
	factory := testpki.SelfSigned("netscaler", "NetScaler")
	keyPEM, err := testpki.MarshalKey(factory.PrivateKey)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	d.files[sslDir+"ns-server.cert"] = file{data: testpki.EncodeChain([]*x509.Certificate{factory.Leaf}), modified: now}
	d.files[sslDir+"ns-server.key"] = file{data: keyPEM, modified: now}
	if code, msg := d.addCertKey(certKey{Name: "ns-server-certificate", Cert: "ns-server.cert", Key: "ns-server.key", Inform: "PEM"}); code != 0 {
		return nil, fmt.Errorf("factory certificate: %d %s", code, msg)
	}
	d.saved = d.run.String()
	d.mgmt, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{factory}})
	if err != nil {
		return nil, err
	}
	d.Addr = d.mgmt.Addr().String()
	for _, name := range vservers {
		ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: d.presented(name)})
		if err != nil {
			d.Close()
			return nil, err
		}
		d.vservers[name] = &vserver{name: name, ln: ln}
		go d.accept(ln)
	}
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serve), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = d.srv.Serve(d.mgmt) }()
	return d, nil
}

// Close stops the appliance: NITRO and every virtual server.
func (d *Device) Close() error {
	d.mu.Lock()
	d.closed = true
	d.mu.Unlock()
	for _, vs := range d.vservers {
		vs.ln.Close()
	}
	if d.srv != nil {
		return d.srv.Close()
	}
	return d.mgmt.Close()
}

// SetFaults replaces the injected faults.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
}

// VServer returns the address an SSL virtual server listens on ("" if
// there is none of that name).
func (d *Device) VServer(name string) string {
	if vs := d.vservers[name]; vs != nil {
		return vs.ln.Addr().String()
	}
	return ""
}

// Requests lists the calls made, as "METHOD /nitro/v1/config/…?query".
func (d *Device) Requests() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.requests...)
}

// Files lists the files under /nsconfig/ssl, by name.
func (d *Device) Files() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for p := range d.files {
		if n, ok := strings.CutPrefix(p, sslDir); ok && !strings.Contains(n, "/") {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// File returns a file's content (a name is taken in /nsconfig/ssl), or nil.
func (d *Device) File(name string) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if f, ok := d.files[filePath(name)]; ok {
		return append([]byte(nil), f.data...)
	}
	return nil
}

// CertKey is a certificate key pair as the running configuration has it.
type CertKey struct {
	Name, Cert, Key, Link string
	// Leaf is the certificate loaded when the pair was added or updated.
	Leaf *x509.Certificate
}

// CertKeys returns the running configuration's certificate key pairs.
func (d *Device) CertKeys() map[string]CertKey {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]CertKey{}
	for n, c := range d.run.certKeys {
		out[n] = CertKey{Name: c.Name, Cert: c.Cert, Key: c.Key, Link: c.Link, Leaf: c.leaf}
	}
	return out
}

// Bound returns the server certificate key pair bound to a virtual server
// in the running configuration ("" if none).
func (d *Device) Bound(vserver string) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.run.serverCert(vserver)
}

// Saved reports whether the running configuration is the saved one.
func (d *Device) Saved() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.run.String() == d.saved
}

// SavedConfig is the saved configuration (ns.conf) as CLI lines.
func (d *Device) SavedConfig() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.saved
}

// Sessions counts the NITRO sessions open (logged in, not yet logged out
// or expired).
func (d *Device) Sessions() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, s := range d.sessions {
		if !d.expired(s) {
			n++
		}
	}
	return n
}

// ExpireSessions ends every session as the appliance's session timeout
// does: their next use is answered 401, errorcode 444.
func (d *Device) ExpireSessions() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range d.sessions {
		s.last = time.Time{}
	}
}

// accept serves handshakes on a virtual server's port; after one it
// answers a plain HTTP 200 and closes.
func (d *Device) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(10 * time.Second))
			if tc, ok := c.(*tls.Conn); ok && tc.Handshake() == nil {
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
			}
		}()
	}
}

// presented is what a virtual server presents: its bound server
// certificate key pair as loaded, followed by the chain its links make.
// Without a server certificate the virtual server is down and refuses
// the handshake.
func (d *Device) presented(vserver string) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		d.mu.Lock()
		defer d.mu.Unlock()
		ck := d.run.certKeys[d.run.serverCert(vserver)]
		if ck == nil || ck.signer == nil {
			return nil, fmt.Errorf("SSL virtual server %s has no server certificate bound", vserver)
		}
		tc := &tls.Certificate{PrivateKey: ck.signer, Leaf: ck.leaf, Certificate: [][]byte{ck.leaf.Raw}}
		seen := map[string]bool{ck.Name: true}
		for link := ck.Link; link != "" && !seen[link]; {
			ca := d.run.certKeys[link]
			if ca == nil {
				break
			}
			tc.Certificate = append(tc.Certificate, ca.leaf.Raw)
			seen[link] = true
			link = ca.Link
		}
		return tc, nil
	}
}

func (d *Device) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.requests = append(d.requests, r.Method+" "+r.URL.RequestURI())
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), "/nitro/v1/config/")
	if !ok {
		if strings.HasPrefix(r.URL.Path, "/nitro/v1/") {
			writeErr(w, errNotModelled("NITRO outside /nitro/v1/config ("+r.URL.Path+")"))
			return
		}
		http.NotFound(w, r)
		return
	}
	req, perr := parseRequest(r, rest)
	if perr != nil {
		writeErr(w, perr)
		return
	}
	switch req.resource {
	case "login":
		d.login(w, r, req)
		return
	case "logout":
		d.logout(w, r)
		return
	}
	if e := d.authenticate(r); e != nil {
		writeErr(w, e)
		return
	}
	f := d.faults
	if f.ErrorOn != "" && f.ErrorOn == req.resource && (f.ErrorAction == "" || f.ErrorAction == req.action) && (f.ErrorMethod == "" || f.ErrorMethod == r.Method) &&
		strings.Contains(string(req.body), f.ErrorBody) {
		status := f.Status
		if status == 0 {
			status = 599
		}
		writeErr(w, &nitroErr{status, f.Errorcode, f.Message})
		return
	}
	if req.resource == "systemfile" && r.Method == http.MethodPost && f.DropUpload {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
	}
	status, body, e := d.route(req)
	if e != nil {
		writeErr(w, e)
		return
	}
	if body == nil {
		// Configuration changes are answered without a body.
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, body)
}

// route dispatches a call to its resource.
func (d *Device) route(req request) (int, any, *nitroErr) {
	switch req.resource {
	case "nsversion":
		if req.method != http.MethodGet {
			return 0, nil, errMethod
		}
		return 200, done("nsversion", map[string]any{"installedversion": false, "version": Version, "mode": "1"}), nil
	case "nsconfig":
		if req.method == http.MethodPost && req.action == "save" {
			var in struct {
				All *bool `json:"all"`
			}
			if e := req.object(&in); e != nil {
				return 0, nil, e
			}
			d.saved = d.run.String()
			return 200, nil, nil
		}
		return 0, nil, errNotModelled(req.method + " nsconfig" + actionSuffix(req.action) + " (only save)")
	case "systemfile":
		return d.systemFile(req)
	case "sslrsakey", "sslecdsakey":
		return d.createKey(req)
	case "sslcertreq":
		return d.certReq(req)
	case "sslcertkey":
		return d.certKeyCall(req)
	case "sslvserver_sslcertkey_binding":
		return d.bindingCall(req)
	case "sslvserver":
		return d.vserverCall(req)
	}
	return 0, nil, errNotModelled("resource " + req.resource)
}

func actionSuffix(a string) string {
	if a == "" {
		return ""
	}
	return "?action=" + a
}

// Preload installs a pair as an administrator would have before Ottr:
// files <name>.crt and <name>.key, the pair <name>, each issuer as the pair
// <name>-ca<i> linked in order, bound to every virtual server, and saves.
func (d *Device) Preload(name string, key crypto.Signer, chain []*x509.Certificate) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	keyPEM, err := testpki.MarshalKey(key)
	if err != nil {
		return err
	}
	now := time.Now()
	d.files[sslDir+name+".key"] = file{data: keyPEM, modified: now}
	prev := name
	for i, c := range chain {
		n := name
		if i > 0 {
			n = fmt.Sprintf("%s-ca%d", name, i)
		}
		d.files[sslDir+n+".crt"] = file{data: testpki.EncodeChain([]*x509.Certificate{c}), modified: now}
		in := certKey{Name: n, Cert: n + ".crt"}
		if i == 0 {
			in.Key = name + ".key"
		}
		if e := d.addPair(in); e != nil {
			return e
		}
		if i > 0 {
			if _, _, e := d.link(prev, n); e != nil {
				return e
			}
		}
		prev = n
	}
	for vs := range d.vservers {
		d.run.bindings[vs] = []binding{{CertKey: name}}
	}
	d.saved = d.run.String()
	return nil
}
