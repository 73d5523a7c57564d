package bigip

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
)

// The management interface's web server (httpd, which also fronts
// iControl REST) reads its pair from these files when it starts; the
// running httpd keeps serving what it read, whatever happens to the files,
// until it is restarted.
const (
	httpdConf    = "/config/httpd/conf/"
	httpdCertDir = httpdConf + "ssl.crt/"
	httpdKeyDir  = httpdConf + "ssl.key/"
	// HTTPDCert and HTTPDKey are the files httpd serves (sys httpd
	// ssl-certfile and ssl-certkeyfile at their defaults).
	HTTPDCert = httpdCertDir + "server.crt"
	HTTPDKey  = httpdKeyDir + "server.key"
)

// httpd is the management web server: the files it is configured with,
// the pair it loaded, and the connections it holds, closed when it
// restarts or stops.
type httpd struct {
	// certFile and keyFile are sys httpd ssl-certfile and
	// ssl-certkeyfile, as the device shows them (under /etc/httpd/conf,
	// which links to /config/httpd/conf). Only d.mu guards them.
	certFile, keyFile string

	mu      sync.Mutex
	pair    *tls.Certificate
	ln      net.Listener
	conns   map[net.Conn]bool
	down    string // why httpd did not start; "" while it runs
	started int    // starts since the device booted
	closed  bool   // the device was closed: nothing listens again
}

var factoryOnce sync.Once
var factoryKey crypto.Signer
var factoryCert []byte

// factoryPair is the self-signed RSA-2048 pair a BIG-IP generates for its
// management interface at first boot (CN localhost.localdomain); made
// once per process, as it costs an RSA key.
func factoryPair() (crypto.Signer, []byte) {
	factoryOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), NotBefore: time.Now().Add(-time.Hour),
			NotAfter: time.Now().Add(10 * 365 * 24 * time.Hour),
			Subject:  pkix.Name{CommonName: "localhost.localdomain", Organization: []string{"MyCompany"}, OrganizationalUnit: []string{"IT"}}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
		if err != nil {
			panic(err)
		}
		factoryKey, factoryCert = k, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	})
	return factoryKey, factoryCert
}

// loadPair reads the pair as mod_ssl does at start: the certificate file
// (its first certificate the server's, the rest sent as its chain) and the
// key file must parse, and the key must be the certificate's.
func loadPair(certFile, keyFile string, certPEM, keyPEM []byte) (*tls.Certificate, error) {
	chain, err := ottr.ParseChain(certPEM)
	if err != nil || len(chain) == 0 {
		return nil, errors.New("SSLCertificateFile: file '" + certFile + "' does not exist or is empty")
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, errors.New("Init: Unable to read server private key from file " + keyFile)
	}
	if !ottr.SamePublicKey(key.Public(), chain[0].PublicKey) {
		return nil, errors.New("SSL Library Error: error:0B080074:x509 certificate routines:X509_check_private_key:key values mismatch")
	}
	tc := &tls.Certificate{PrivateKey: key, Leaf: chain[0]}
	for _, c := range chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc, nil
}

// mgmtCert is what the management port presents: the pair httpd loaded.
func (d *Device) mgmtCert(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.web.mu.Lock()
	defer d.web.mu.Unlock()
	if d.web.pair == nil {
		return nil, errors.New("httpd is not running")
	}
	return d.web.pair, nil
}

// listenMgmt opens the management port (again, after httpd was down) at
// addr and serves iControl REST and the pair on it.
func (d *Device) listenMgmt(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	d.web.mu.Lock()
	if d.web.closed {
		d.web.mu.Unlock()
		return ln.Close()
	}
	if d.Addr == "" {
		d.Addr = ln.Addr().String()
	}
	d.web.ln = ln
	d.web.mu.Unlock()
	go d.srv.Serve(tls.NewListener(ln, &tls.Config{GetCertificate: d.mgmtCert})) //nolint:errcheck // ends when httpd stops or the device closes
	return nil
}

// track keeps the management connections, which a restart of httpd ends.
func (d *Device) track(c net.Conn, s http.ConnState) {
	d.web.mu.Lock()
	defer d.web.mu.Unlock()
	switch s {
	case http.StateNew:
		d.web.conns[c] = true
	case http.StateClosed, http.StateHijacked:
		delete(d.web.conns, c)
	}
}

// startHTTPD loads the pair from the files; on failure httpd stays down
// and the management port (REST included) refuses connections, as on the
// device, until someone fixes the files on the console and starts it.
// The caller holds d.mu.
func (d *Device) startHTTPD() error {
	pair, err := loadPair(d.web.certFile, d.web.keyFile, d.files[onDisk(d.web.certFile)], d.files[onDisk(d.web.keyFile)])
	if d.faults.HTTPDFails != "" {
		pair, err = nil, errors.New(d.faults.HTTPDFails)
	}
	d.web.mu.Lock()
	for c := range d.web.conns {
		c.Close()
	}
	d.web.conns = map[net.Conn]bool{}
	if err != nil {
		d.web.pair, d.web.down = nil, err.Error()
		if d.web.ln != nil {
			d.web.ln.Close()
			d.web.ln = nil
		}
		d.web.mu.Unlock()
		return err
	}
	d.web.pair, d.web.down = pair, ""
	d.web.started++
	reopen := d.web.ln == nil
	d.web.mu.Unlock()
	if reopen {
		return d.listenMgmt(d.Addr)
	}
	return nil
}

// onDisk is where a file under /etc/httpd/conf really is.
func onDisk(p string) string {
	if rest, ok := strings.CutPrefix(p, "/etc/httpd/conf/"); ok {
		return httpdConf + rest
	}
	return p
}

// SetHTTPDFiles points httpd at other files in its ssl.crt and ssl.key
// directories (tmsh modify sys httpd ssl-certfile … ssl-certkeyfile …,
// as F5's bigip_device_certificate module does for names other than
// server.crt); they take effect at the next start.
func (d *Device) SetHTTPDFiles(cert, key string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.web.certFile, d.web.keyFile = cert, key
}

// httpdSettings is GET /mgmt/tm/sys/httpd.
func (d *Device) httpdSettings() (int, any) {
	return 200, map[string]any{"kind": "tm:sys:httpd:httpdstate", "selfLink": selfLink("/mgmt/tm/sys/httpd"),
		"allow": []string{"All"}, "authName": "BIG-IP", "authPamDashboardTimeout": "off", "authPamIdleTimeout": 1200,
		"authPamValidateIp": "on", "fastcgiTimeout": 300, "hostnameLookup": "off", "logLevel": "warn", "maxClients": 10,
		"redirectHttpToHttps": "disabled", "sslCertfile": d.web.certFile, "sslCertkeyfile": d.web.keyFile, "sslPort": 443}
}

// restartLater restarts httpd once the answer to the call asking for it
// has gone out, as bigstart does in the background. The caller holds d.mu.
func (d *Device) restartLater() {
	if d.faults.RestartCutsReply {
		_ = d.startHTTPD()
		return
	}
	time.AfterFunc(100*time.Millisecond, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		_ = d.startHTTPD()
	})
}

// StartHTTPD starts httpd from its files, as an administrator would on the
// console after it failed; it returns why it did not start.
func (d *Device) StartHTTPD() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.startHTTPD()
}

// HTTPD reports whether httpd runs, why not, and how often it started.
func (d *Device) HTTPD() (running bool, why string, starts int) {
	d.web.mu.Lock()
	defer d.web.mu.Unlock()
	return d.web.pair != nil, d.web.down, d.web.started
}

// PreloadHTTPD puts key and chain in httpd's files and restarts it, as an
// administrator installing a company certificate for the GUI would.
func (d *Device) PreloadHTTPD(key crypto.Signer, chain []*x509.Certificate) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	d.files[HTTPDKey] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	d.files[HTTPDCert] = ottr.EncodeChain(chain)
	return d.startHTTPD()
}

// File returns a file the simulator keeps on disk (httpd's, /var/tmp), or
// nil.
func (d *Device) File(path string) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	if b, ok := d.files[path]; ok {
		return append([]byte(nil), b...)
	}
	return nil
}

// WriteFile writes a file on disk (httpd's, /var/tmp), as an
// administrator on the console would.
func (d *Device) WriteFile(path string, b []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.files[path] = append([]byte(nil), b...)
}

// Files lists the files the simulator keeps on disk under dir.
func (d *Device) Files(dir string) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for p := range d.files {
		if strings.HasPrefix(p, dir) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// CSRs lists the certificate signing requests on the device
// (/config/ssl/ssl.csr).
func (d *Device) CSRs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for n := range d.csrs {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
