// Package lighthouse simulates the parts of an Opengear Lighthouse's REST
// API v3.7 that manage its web certificate, as Opengear's RAML
// specification (og-rest-api-specification-v3-7.raml, published with
// Opengear's oglhclient) defines them:
//
//   - POST /sessions, GET and DELETE /sessions/{id}: password logins whose
//     session token is sent as "Authorization: Token <session>";
//   - GET and PUT /services/https: the one web certificate, a request
//     (CSR) made on the device with the subject fields sent (csr "new"),
//     cancelled by a PUT without https.csr, and a certificate upload
//     (https.cert, with https.key when the key was made elsewhere) after
//     which the web server restarts and serves it;
//   - GET /system/version.
//
// Errors use Lighthouse's {"error":[{"type","code","text","args","level"}]}
// envelope with the RAML's status codes and entries: 401 type 7 code 43
// "Invalid session ID." for a missing, unknown or expired token (the text
// Opengear's client looks for before logging in again), 401 code 41 for a
// refused login, 403 code 47 for a user who is not an administrator, 400
// code 39/40/14/22/48 for bodies the device refuses.
//
// It serves the API and the web UI on one TLS port with the current
// certificate, and injects faults: refused credentials, a failing
// configuration push, a failing request download, and a restart during
// which handshakes fail.
package lighthouse

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
)

// Faults make the device misbehave; set them with Device.SetFaults.
type Faults struct {
	// BadCredentials refuses every login (existing sessions stay valid).
	BadCredentials bool
	// PushFail answers configuration changes with 500 "Push command failed".
	PushFail bool
	// RestartFor is how long the web server is down after a new
	// certificate (default 50ms).
	RestartFor time.Duration
	// FailCSRDownload answers the request's download with 500, after the
	// key and request were made.
	FailCSRDownload bool
}

// FirmwareVersion and RESTAPIVersion are what GET /system/version reports.
const (
	FirmwareVersion = "21.Q2.1"
	RESTAPIVersion  = "v3.7"
)

type account struct {
	password string
	admin    bool
}

// Device is a running simulated Lighthouse.
type Device struct {
	Addr string

	mu        sync.Mutex
	users     map[string]account
	sessions  map[string]string // session token -> user
	key       crypto.Signer
	chain     []*x509.Certificate
	pending   *pendingCSR
	downUntil time.Time
	faults    Faults
	srv       *http.Server
	puts      int
	linkHost  string
}

// Start runs a Lighthouse with one administrator and a self-signed
// certificate.
func Start(user, password string) (*Device, error) {
	d := &Device{users: map[string]account{user: {password: password, admin: true}}, sessions: map[string]string{}}
	factory := testpki.SelfSigned("lighthouse", "Opengear")
	d.key, d.chain = factory.PrivateKey.(crypto.Signer), []*x509.Certificate{factory.Leaf}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.Addr = ln.Addr().String()
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serve), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go d.srv.Serve(tls.NewListener(ln, &tls.Config{GetCertificate: d.served})) //nolint:errcheck // ends with Close
	return d, nil
}

// Close stops the device.
func (d *Device) Close() error { return d.srv.Close() }

// AddUser adds a local user; only administrators may read or change the
// HTTPS service.
func (d *Device) AddUser(name, password string, admin bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users[name] = account{password: password, admin: admin}
}

// ExpireSessions ends every session, as the device's session timeout or
// a reboot does: their tokens are answered with "Invalid session ID.".
func (d *Device) ExpireSessions() {
	d.mu.Lock()
	defer d.mu.Unlock()
	clear(d.sessions)
}

// SetLinkHost makes the device name itself host (host:port) in the links
// it answers with, as one reached through an address translation or by
// another name does; empty uses the request's Host.
func (d *Device) SetLinkHost(host string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.linkHost = host
}

// Sessions counts the live sessions.
func (d *Device) Sessions() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.sessions)
}

// SetFaults replaces the injected faults.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
}

// Preload installs a key and chain as the current web certificate.
func (d *Device) Preload(key crypto.Signer, chain []*x509.Certificate) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.key, d.chain = key, chain
}

// Pending says whether a key made for a request waits for its
// certificate.
func (d *Device) Pending() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending != nil
}

// Puts counts the configuration changes made.
func (d *Device) Puts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.puts
}

func (d *Device) served(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Now().Before(d.downUntil) {
		return nil, errors.New("web server restarting")
	}
	tc := &tls.Certificate{PrivateKey: d.key, Leaf: d.chain[0]}
	for _, c := range d.chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc, nil
}

var apiPath = regexp.MustCompile(`^/api/v3\.([0-9]+)(/.*)?$`)

// request is one API call after routing: the version path it came in on
// and the resource path below it.
type request struct {
	*http.Request
	version string
	path    string
	user    string
}

func (d *Device) serve(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.URL.Path, "/api/") {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Opengear Lighthouse</body></html>")
		return
	}
	m := apiPath.FindStringSubmatch(r.URL.Path)
	// A 21.Q2 Lighthouse mounts every API version up to its own (v3.7).
	if minor, err := strconv.Atoi(safeIndex(m, 1)); m == nil || err != nil || minor > 7 {
		fail(w, http.StatusNotFound, errNotFound(r.Method, r.URL.Path))
		return
	}
	req := &request{Request: r, version: "v3." + m[1], path: strings.TrimSuffix(m[2], "/")}
	d.mu.Lock()
	defer d.mu.Unlock()
	if req.path == "/sessions" || strings.HasPrefix(req.path, "/sessions/") {
		d.sessionsAPI(w, req)
		return
	}
	user, ok := d.authenticated(r)
	if !ok {
		fail(w, http.StatusUnauthorized, errInvalidSession)
		return
	}
	req.user = user
	switch {
	case req.path == "/system/version" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{"system_version": map[string]string{"rest_api_version": RESTAPIVersion, "firmware_version": FirmwareVersion}})
	case req.path == "/services/https" || req.path == "/services/https/csr":
		if !d.users[user].admin {
			fail(w, http.StatusForbidden, errPermission)
			return
		}
		d.httpsAPI(w, req)
	default:
		fail(w, http.StatusNotFound, errNotFound(r.Method, r.URL.Path))
	}
}

func safeIndex(m []string, i int) string {
	if i < len(m) {
		return m[i]
	}
	return ""
}

// authenticated returns the user of the request's session token.
func (d *Device) authenticated(r *http.Request) (string, bool) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Token ")
	if !ok {
		return "", false
	}
	user, ok := d.sessions[strings.TrimSpace(tok)]
	return user, ok
}
