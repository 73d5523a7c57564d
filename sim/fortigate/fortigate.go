// Package fortigate simulates the parts of a Fortinet FortiGate that
// certificate rotation uses, speaking the FortiOS 7.4 REST API as the
// device does: /api/v2/cmdb/<path>/<name>[/<mkey>] for the configuration
// and /api/v2/monitor/<path>/<name>[/<action>] for operations, an API
// administrator's token sent as "Authorization: Bearer <token>" or as the
// access_token query parameter, and every answer in FortiOS's JSON
// envelope ({"http_method", "results", "vdom", "path", "name", "status",
// "http_status", "serial", "version", "build"}, with "error" and
// "cli_error" when the configuration refuses a change).
//
// It keeps real state: the vpn.certificate local table, whose entries hold
// a key made on the device by csr/generate, the request made with it and,
// once imported, the certificate (with the chain it came with); system
// global's admin-server-cert and vpn.ssl settings' servercert, which name
// entries of that table; a configuration revision that changes with every
// change. The administration HTTPS port (API and GUI) presents the chain
// admin-server-cert names, and the SSL-VPN portal, on a port of its own,
// the one servercert names. A certificate a setting (or a reference added
// with AddReference) uses cannot be deleted.
//
// Faults can be injected: refused tokens, an error answer for one request,
// a connection dropped during an import (before or after the certificate
// is stored), a request generator that drops alternative names, and an
// administration server that keeps presenting the old certificate for a
// while after a change, as httpsd restarting does.
package fortigate

import (
	"crypto"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
)

// What the device reports about itself (system/status and every
// envelope): a FortiGate-VM64 on FortiOS 7.4.4.
const (
	Version  = "v7.4.4"
	Build    = 2662
	Serial   = "FGVM02TM24000917"
	Hostname = "FGVM02TM24000917"
)

// The factory certificates: the GUI's (admin-server-cert's default since
// FortiOS 7.2) and the one SSL-VPN starts with.
const (
	FactoryGUI = "Fortinet_GUI_Server"
	FactoryVPN = "Fortinet_Factory"
)

// Faults make the device misbehave; set them with Device.SetFaults.
type Faults struct {
	// RevokeTokens refuses every API token with 401, as after the API
	// administrator's key was regenerated.
	RevokeTokens bool
	// ErrorOn answers every request whose "METHOD /path" contains it with
	// HTTP Status (default 500), FortiOS error Code and CLIError, changing
	// nothing.
	ErrorOn  string
	Status   int
	Code     int
	CLIError string
	// DropImport closes the connection in the middle of a certificate
	// import, before anything is stored; DropImportAnswer stores the
	// certificate and then closes the connection without an answer.
	DropImport       bool
	DropImportAnswer bool
	// DropSANs makes csr/generate keep only the first subject alternative
	// name.
	DropSANs bool
	// RestartFor keeps the administration port presenting the previous
	// certificate this long after admin-server-cert changes.
	RestartFor time.Duration
}

// entry is one vpn.certificate local entry.
type entry struct {
	name     string
	source   string // "user" or "factory"
	rng      string // "global" or "vdom"
	comments string
	key      crypto.Signer
	csr      *x509.CertificateRequest // the request while it waits for its certificate
	chain    []*x509.Certificate      // nil until a certificate is imported
	updated  time.Time
}

func (e *entry) tlsCert() *tls.Certificate {
	if e == nil || e.chain == nil {
		return nil
	}
	c := &tls.Certificate{PrivateKey: e.key, Leaf: e.chain[0]}
	for _, x := range e.chain {
		c.Certificate = append(c.Certificate, x.Raw)
	}
	return c
}

// Reference is a use of a local certificate by a part of the
// configuration the simulator does not model (an SSL inspection profile,
// an IPsec phase 1, a VIP).
type Reference struct {
	Path, Name, Attribute string
}

// Device is a running simulated FortiGate.
type Device struct {
	// Addr is the administration HTTPS port (REST API and GUI), host:port.
	Addr string
	// VPNAddr is the SSL-VPN portal, host:port.
	VPNAddr string

	mu       sync.Mutex
	tokens   map[string]string // API token -> API administrator
	certs    []*entry
	admin    string // system global admin-server-cert
	vpn      string // vpn.ssl settings servercert
	refs     map[string][]Reference
	revision int
	faults   Faults
	calls    []string
	// previous is what the administration port presents until until,
	// while httpsd restarts after admin-server-cert changed.
	previous *tls.Certificate
	until    time.Time

	srv, vpnSrv *http.Server
}

// Start runs a FortiGate on 127.0.0.1 with one REST API administrator,
// "ottr-api", whose token is token. The GUI and SSL-VPN use the factory
// certificates.
func Start(token string) (*Device, error) {
	d := &Device{tokens: map[string]string{token: "ottr-api"}, refs: map[string][]Reference{},
		admin: FactoryGUI, vpn: FactoryVPN, revision: 1}
	for _, name := range []string{FactoryGUI, FactoryVPN} {
		fc := testpki.SelfSigned(Serial, "Fortinet")
		d.certs = append(d.certs, &entry{name: name, source: "factory", rng: "global", key: fc.PrivateKey.(crypto.Signer),
			chain: []*x509.Certificate{fc.Leaf}, updated: time.Now()})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	vln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return nil, err
	}
	d.Addr, d.VPNAddr = ln.Addr().String(), vln.Addr().String()
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", d.api)
	mux.HandleFunc("/logincheck", d.logincheck)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>FortiGate</body></html>")
	})
	vpn := http.NewServeMux()
	vpn.HandleFunc("/remote/login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>SSL-VPN Portal</body></html>")
	})
	vpn.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// The portal's root sends browsers to its login page with a
		// script, as FortiOS does.
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<html><script type="text/javascript">top.location="/remote/login";</script></html>`)
	})
	quiet := log.New(io.Discard, "", 0)
	d.srv = &http.Server{Handler: fortiOSServer(mux), ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet,
		TLSConfig: &tls.Config{GetCertificate: d.adminCert, MinVersion: tls.VersionTLS12}}
	d.vpnSrv = &http.Server{ReadHeaderTimeout: 10 * time.Second, ErrorLog: quiet, Handler: fortiOSServer(vpn),
		TLSConfig: &tls.Config{GetCertificate: d.vpnCert, MinVersion: tls.VersionTLS12}}
	go d.srv.ServeTLS(ln, "", "")     //nolint:errcheck // ends with Close
	go d.vpnSrv.ServeTLS(vln, "", "") //nolint:errcheck // ends with Close
	return d, nil
}

// fortiOSServer sends FortiOS's masked Server header on every answer, as
// the administration server and the SSL-VPN portal do.
func fortiOSServer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "xxxxxxxx-xxxxx")
		h.ServeHTTP(w, r)
	})
}

// Close stops the device.
func (d *Device) Close() error {
	d.vpnSrv.Close()
	return d.srv.Close()
}

// SetFaults replaces the injected faults. Without RestartFor, a restart
// of the administration server in progress ends at once.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
	if f.RestartFor == 0 {
		d.previous = nil
	}
}

// AddToken adds a REST API administrator with its token.
func (d *Device) AddToken(user, token string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.tokens[token] = user
}

// Preload adds a local certificate with its key, as an administrator who
// imported it would have (source "user", range "global").
func (d *Device) Preload(name string, key crypto.Signer, chain []*x509.Certificate) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.certs = slices.DeleteFunc(d.certs, func(e *entry) bool { return e.name == name })
	d.certs = append(d.certs, &entry{name: name, source: "user", rng: "global", key: key, chain: chain, updated: time.Now()})
	d.revision++
}

// Bind sets admin-server-cert (admin) and servercert (vpn) directly, as
// an administrator's earlier configuration; "" leaves one as it is.
func (d *Device) Bind(admin, vpn string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, n := range []string{admin, vpn} {
		if e := d.find(n); n != "" && (e == nil || e.chain == nil) {
			return fmt.Errorf("no certificate %q", n)
		}
	}
	if admin != "" {
		d.admin = admin
	}
	if vpn != "" {
		d.vpn = vpn
	}
	d.revision++
	return nil
}

// AddReference records that an unmodelled part of the configuration uses
// the certificate name, which then cannot be deleted.
func (d *Device) AddReference(name string, r Reference) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.refs[name] = append(d.refs[name], r)
}

// Cert is a local certificate entry as the configuration holds it.
type Cert struct {
	Name, Source, Range string
	// Key is the public half of the entry's key; the private key never
	// leaves the device.
	Key   crypto.PublicKey
	CSR   *x509.CertificateRequest // the pending request, nil once a certificate is imported
	Chain []*x509.Certificate
}

// Certificates returns the local certificate entries by name.
func (d *Device) Certificates() map[string]Cert {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]Cert{}
	for _, e := range d.certs {
		out[e.name] = Cert{Name: e.name, Source: e.source, Range: e.rng, Key: e.key.Public(), CSR: e.csr, Chain: slices.Clone(e.chain)}
	}
	return out
}

// Bindings returns admin-server-cert and servercert.
func (d *Device) Bindings() (admin, vpn string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.admin, d.vpn
}

// Calls lists the API requests received ("METHOD /path?query", the
// access_token parameter removed), oldest first.
func (d *Device) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.calls)
}

func (d *Device) find(name string) *entry {
	for _, e := range d.certs {
		if e.name == name {
			return e
		}
	}
	return nil
}

// users lists what uses the certificate name, in the configuration's
// terms.
func (d *Device) users(name string) []Reference {
	var out []Reference
	if d.admin == name {
		out = append(out, Reference{"system", "global", "admin-server-cert"})
	}
	if d.vpn == name {
		out = append(out, Reference{"vpn.ssl", "settings", "servercert"})
	}
	return append(out, d.refs[name]...)
}

// rev is the configuration revision as FortiOS writes it: 32 hex digits.
func (d *Device) rev() string {
	sum := sha256.Sum256([]byte("revision " + strconv.Itoa(d.revision)))
	return hex.EncodeToString(sum[:16])
}

// setAdmin changes admin-server-cert; httpsd then restarts with it, and
// until it has, the previous certificate is still presented.
func (d *Device) setAdmin(name string) {
	if name == d.admin {
		return
	}
	if d.faults.RestartFor > 0 {
		// A change during a restart restarts it again; what is presented
		// meanwhile is still what was presented before the first.
		if d.previous == nil || time.Now().After(d.until) {
			d.previous = d.find(d.admin).tlsCert()
		}
		d.until = time.Now().Add(d.faults.RestartFor)
	}
	d.admin = name
}

func (d *Device) adminCert(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.previous != nil && time.Now().Before(d.until) {
		return d.previous, nil
	}
	if c := d.find(d.admin).tlsCert(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("admin-server-cert %q has no certificate", d.admin)
}

func (d *Device) vpnCert(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.find(d.vpn).tlsCert(); c != nil {
		return c, nil
	}
	return nil, fmt.Errorf("servercert %q has no certificate", d.vpn)
}
