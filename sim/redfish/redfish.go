// Package redfish simulates the certificate management of a server's
// baseboard management controller (BMC) as DMTF Redfish (DSP0266, the
// CertificateService, Certificate, Manager, ManagerNetworkProtocol,
// Session and Task schemas) defines it: a service root, sessions
// (X-Auth-Token) and HTTP Basic authentication,
// CertificateService.GenerateCSR (the BMC makes the key and keeps it),
// CertificateService.ReplaceCertificate, the HTTPS certificate collection
// of the manager's network protocol (GET, POST, DELETE),
// CertificateLocations, Manager.Reset, task monitors, and errors in the
// error envelope with @Message.ExtendedInfo from the Base registry.
//
// It keeps real state: the key the BMC made for its last request, the
// certificate and key the HTTPS collection holds, and those its own TLS
// listener serves (the one the API is on, as on a BMC). A certificate
// whose key is not the BMC's is refused. Vendor profiles (OpenBMC, iDRAC,
// iLO, XCC, Supermicro) model the documented differences: whether a new
// certificate is served at once, after Manager.Reset or after the web
// server restarts by itself; whether ReplaceCertificate exists or the
// certificate is POSTed to the collection; synchronous or task-based
// installs; key types; Dell's DelliDRACCardService import and export.
//
// Faults can be injected: refused logins, an error for one operation, a
// connection dropped during an upload, a failing task, a generator that
// drops subject alternative names.
package redfish

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
)

// Profile is a vendor's Redfish service as far as certificates go.
type Profile struct {
	// Name is the profile's name: openbmc, idrac, ilo, xcc, supermicro.
	Name string
	// Vendor, Product and Firmware are the service root's Vendor and
	// Product and the manager's FirmwareVersion.
	Vendor, Product, Firmware string
	// Manager is the manager's Id (iDRAC.Embedded.1, 1, bmc).
	Manager string
	// Model is the manager's Model.
	Model string
	// ApplyOnReset: a new certificate is served only after Manager.Reset
	// (iDRAC: "Until iDRAC is reset, the old certificate will be active").
	ApplyOnReset bool
	// RestartAfterInstall: the web server restarts by itself after an
	// install and then serves the new certificate (iLO).
	RestartAfterInstall bool
	// AsyncInstall: ReplaceCertificate and POST to the collection answer
	// 202 Accepted with a task monitor (XCC).
	AsyncInstall bool
	// NoReplace: the CertificateService has no ReplaceCertificate action;
	// a certificate is installed by POST to the collection (Supermicro).
	NoReplace bool
	// StrictReferences: CertificateCollection and CertificateUri must be
	// references ({"@odata.id": …}) as the schema says; a bare URI string
	// is refused (OpenBMC's bmcweb reads "CertificateUri/@odata.id").
	// Other profiles accept both, as gofish and sushy send strings.
	StrictReferences bool
	// CertificateTypes are the CertificateType values installs accept.
	CertificateTypes []string
	// KeyTypes are the key pairs GenerateCSR makes ("rsa2048", "rsa3072",
	// "rsa4096", "p256", "p384"); the first is the default.
	KeyTypes []string
	// ResetTypes are Manager.Reset's allowable ResetType values.
	ResetTypes []string
	// DellOEM adds DelliDRACCardService (ImportSSLCertificate,
	// ExportSSLCertificate), as Dell's Ansible modules use it.
	DellOEM bool
}

// Profiles are the vendor profiles, by name.
var Profiles = map[string]Profile{
	"openbmc": {Name: "openbmc", Vendor: "OpenBMC", Product: "OpenBMC", Firmware: "2.14.0", Manager: "bmc", Model: "OpenBmc",
		StrictReferences: true, CertificateTypes: []string{"PEM"}, KeyTypes: []string{"p384", "p256", "rsa2048"},
		ResetTypes: []string{"GracefulRestart", "ForceRestart"}},
	"idrac": {Name: "idrac", Vendor: "Dell", Product: "Integrated Dell Remote Access Controller", Firmware: "7.00.00.00",
		Manager: "iDRAC.Embedded.1", Model: "16G Monolithic", ApplyOnReset: true, CertificateTypes: []string{"PEM"},
		KeyTypes: []string{"rsa2048", "rsa3072", "rsa4096"}, ResetTypes: []string{"GracefulRestart"}, DellOEM: true},
	"ilo": {Name: "ilo", Vendor: "HPE", Product: "ProLiant DL360 Gen11", Firmware: "iLO 6 v1.59", Manager: "1", Model: "iLO 6",
		RestartAfterInstall: true, CertificateTypes: []string{"PEM"}, KeyTypes: []string{"rsa2048", "rsa3072", "rsa4096", "p256", "p384"},
		ResetTypes: []string{"GracefulRestart", "ForceRestart"}},
	"xcc": {Name: "xcc", Vendor: "Lenovo", Product: "ThinkSystem SR650 V3", Firmware: "XCC2 3.10", Manager: "1", Model: "XClarity Controller 2",
		AsyncInstall: true, CertificateTypes: []string{"PEM", "PEMchain"}, KeyTypes: []string{"rsa2048", "rsa3072", "rsa4096", "p256", "p384"},
		ResetTypes: []string{"GracefulRestart", "ForceRestart"}},
	"supermicro": {Name: "supermicro", Vendor: "Supermicro", Product: "X13DEM", Firmware: "01.03.10", Manager: "1", Model: "X13DEM",
		NoReplace: true, CertificateTypes: []string{"PEM"}, KeyTypes: []string{"rsa2048", "p256", "p384"},
		ResetTypes: []string{"GracefulRestart", "ForceRestart"}},
}

// Faults make the BMC misbehave; set them with Device.SetFaults.
type Faults struct {
	// BadCredentials refuses every login and every Basic authorization;
	// sessions already open are ended.
	BadCredentials bool
	// ErrorOn answers the named operation (GenerateCSR,
	// ReplaceCertificate, CollectionPOST, ImportSSLCertificate,
	// ExportSSLCertificate, Reset, CertificateGET) with Status (default
	// 500) and an InternalError whose resolution is Message.
	ErrorOn, Message string
	Status           int
	// DropUpload closes the connection of an install (ReplaceCertificate,
	// collection POST, ImportSSLCertificate) before anything is stored.
	DropUpload bool
	// TaskFail makes install tasks end in Exception with this message.
	TaskFail string
	// DropSANs makes GenerateCSR keep only the first alternative name.
	DropSANs bool
	// LoseKey makes the BMC forget the key of its last request (as a
	// BMC that rebooted between request and install does): a certificate
	// for it is then refused as not matching.
	LoseKey bool
	// NeverServe keeps the listener on the old certificate after an
	// install (a web server that did not pick the new one up).
	NeverServe bool
}

// Options configure a simulated BMC.
type Options struct {
	// Profile is the vendor profile; default openbmc.
	Profile Profile
	// Restart is how long the web server is down when it restarts (after
	// Manager.Reset, or by itself after an install on iLO); default 300ms.
	Restart time.Duration
	// TaskPolls is how many polls an install task stays Running; default 2.
	TaskPolls int
}

type pair struct {
	id    string
	key   crypto.Signer
	chain []*x509.Certificate
}

type user struct {
	password, role string
}

// Device is a running simulated BMC.
type Device struct {
	// Addr is host:port of the HTTPS listener (API and web UI).
	Addr string

	mu        sync.Mutex
	profile   Profile
	restart   time.Duration
	taskPolls int
	users     map[string]user
	sessions  map[string]*session // by Id
	nextSess  int
	https     *pair // the HTTPS collection's certificate
	served    *pair // what the listener presents
	pending   crypto.Signer
	nextCert  int
	tasks     map[string]*task
	nextTask  int
	downUntil time.Time
	applyAt   time.Time // when the restart ends, serve https
	faults    Faults
	calls     []string
	srv       *http.Server
	ln        net.Listener
}

// Start runs a BMC on 127.0.0.1 with one administrator (Role
// Administrator, which holds ConfigureManager) serving a self-signed
// factory certificate.
func Start(username, password string, o Options) (*Device, error) {
	if o.Profile.Name == "" {
		o.Profile = Profiles["openbmc"]
	}
	if o.Restart == 0 {
		o.Restart = 300 * time.Millisecond
	}
	if o.TaskPolls == 0 {
		o.TaskPolls = 2
	}
	d := &Device{profile: o.Profile, restart: o.Restart, taskPolls: o.TaskPolls,
		users: map[string]user{username: {password, "Administrator"}}, sessions: map[string]*session{},
		tasks: map[string]*task{}, nextCert: 1, nextSess: 1, nextTask: 1}
	factory := testpki.SelfSigned("bmc", d.profile.Vendor)
	d.https = &pair{id: d.certID(), key: factory.PrivateKey.(crypto.Signer), chain: []*x509.Certificate{factory.Leaf}}
	if d.https.chain[0] == nil {
		leaf, err := x509.ParseCertificate(factory.Certificate[0])
		if err != nil {
			return nil, err
		}
		d.https.chain[0] = leaf
	}
	d.served = d.https
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.ln = &gate{Listener: ln, d: d}
	d.Addr = ln.Addr().String()
	d.srv = &http.Server{Handler: http.HandlerFunc(d.route), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{GetCertificate: d.presented, MinVersion: tls.VersionTLS12}}
	// HTTP/1.1 without keep-alive, so a restart reaches every client at
	// its next request.
	d.srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	d.srv.SetKeepAlivesEnabled(false)
	go d.srv.ServeTLS(d.ln, "", "") //nolint:errcheck // ends with Close
	return d, nil
}

func (d *Device) certID() string {
	id := itoa(d.nextCert)
	d.nextCert++
	return id
}

// Close stops the BMC.
func (d *Device) Close() error { return d.srv.Close() }

// SetFaults replaces the injected faults.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
	if f.BadCredentials {
		d.sessions = map[string]*session{}
	}
}

// AddUser adds an account with a Redfish role (Administrator, Operator,
// ReadOnly); only Administrator holds ConfigureManager.
func (d *Device) AddUser(username, password, role string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users[username] = user{password, role}
}

// Preload makes key and chain the HTTPS certificate, served at once, as
// on a BMC in service.
func (d *Device) Preload(key crypto.Signer, chain []*x509.Certificate) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.https = &pair{id: d.https.id, key: key, chain: chain}
	d.served = d.https
}

// Certificate returns the chain the HTTPS collection holds (what the BMC
// will serve once it applies it) and the chain it serves now.
func (d *Device) Certificate() (configured, serving []*x509.Certificate) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settle()
	return d.https.chain, d.served.chain
}

// CertificateID is the Id of the HTTPS collection's member.
func (d *Device) CertificateID() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.https.id
}

// PendingKey is the public key the BMC holds for its last request (nil
// when none is waiting for its certificate).
func (d *Device) PendingKey() crypto.PublicKey {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pending == nil {
		return nil
	}
	return d.pending.Public()
}

// Sessions is how many sessions are open.
func (d *Device) Sessions() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sessions)
}

// Calls lists the requests served so far as "METHOD path", bodies never.
func (d *Device) Calls() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}

// ExpireSessions ends every session, as the session timeout does.
func (d *Device) ExpireSessions() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.sessions = map[string]*session{}
}

// Down reports whether the web server is restarting.
func (d *Device) Down() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return time.Now().Before(d.downUntil)
}

// settle ends a restart whose time is up: the web server comes back with
// the configured certificate.
func (d *Device) settle() {
	if !d.applyAt.IsZero() && !time.Now().Before(d.applyAt) {
		d.applyAt = time.Time{}
		if !d.faults.NeverServe {
			d.served = d.https
		}
	}
}

// restartWebServer takes the listener down for the restart time; it comes
// back serving the configured certificate, and every session is gone.
func (d *Device) restartWebServer() {
	d.downUntil = time.Now().Add(d.restart)
	d.applyAt = d.downUntil
	d.sessions = map[string]*session{}
}

// installed is called once a new certificate is in the collection: the
// listener serves it now or after the profile's restart.
func (d *Device) installed() {
	d.pending = nil
	switch {
	case d.profile.ApplyOnReset:
	case d.profile.RestartAfterInstall:
		d.restartWebServer()
	case !d.faults.NeverServe:
		d.served = d.https
	}
}

// presented is the certificate the listener presents.
func (d *Device) presented(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settle()
	p := d.served
	tc := &tls.Certificate{PrivateKey: p.key, Leaf: p.chain[0]}
	for _, c := range p.chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc, nil
}

// gate drops the connections that arrive while the web server restarts.
type gate struct {
	net.Listener
	d *Device
}

func (g *gate) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err != nil {
			return nil, err
		}
		g.d.mu.Lock()
		down := time.Now().Before(g.d.downUntil)
		g.d.mu.Unlock()
		if !down {
			return c, nil
		}
		c.Close()
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// clean is the path without trailing slashes (the service root keeps its
// own: /redfish/v1/).
func clean(p string) string {
	p = strings.TrimRight(p, "/")
	if p == "/redfish/v1" {
		return "/redfish/v1/"
	}
	return p
}
