// Package bigip simulates the parts of an F5 BIG-IP that certificate
// rotation uses, speaking iControl REST as the device does: JSON bodies,
// tokens from /mgmt/shared/authn/login sent as X-F5-Auth-Token (or HTTP
// Basic on every call), ~Partition~name in URLs and /Partition/name in
// bodies, errors as {"code","message","errorStack","apiError"} with F5's
// numbered messages, and framework errors as :resterrorresponse.
//
// It keeps real state: keys made with crypto/ecdsa and crypto/rsa, CSRs
// with their subject alternative names, uploaded files assembled from
// Content-Range chunks, installed certificates, client-ssl profiles whose
// certKeyChain is checked (objects exist, key matches certificate), and a
// saved configuration. It serves the management API on one port and a
// virtual server on another, presenting its client-ssl profile's
// certificate and chain, so a rotation is checked by a real handshake.
//
// Faults: refused credentials, tokens that expire, 503 "Configuration
// Utility restarting..." answers, an error for one path (and method), a
// connection dropped during an upload, and CSRs that lose their
// alternative names.
package bigip

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
)

// Faults make the device misbehave; set them with Device.SetFaults.
type Faults struct {
	BadCredentials bool
	// TokenLifetime makes tokens expire this soon (default 1200 s).
	TokenLifetime time.Duration
	// Restarting answers every call with 503 and F5's HTML page.
	Restarting bool
	// ErrorPath answers requests whose path starts with it with a 400
	// carrying Message; ErrorMethod, if set, only those of that method.
	ErrorPath, ErrorMethod, Message string
	// DropUpload closes the connection during a file upload.
	DropUpload bool
	// DropSANs makes CSRs keep only the common name.
	DropSANs bool
}

type token struct {
	user    string
	expires time.Time
}

// Profile is a client-ssl profile's first certKeyChain entry.
type Profile struct{ Cert, Key, Chain string }

// Device is a running simulated BIG-IP.
type Device struct {
	// Addr is the management interface (iControl REST), VirtualAddr the
	// virtual server using ProfileName.
	Addr, VirtualAddr string
	// ProfileName is the client-ssl profile the virtual server uses.
	ProfileName string

	mu       sync.Mutex
	users    map[string]string
	tokens   map[string]token
	uploads  map[string][]byte
	keys     map[string]crypto.Signer // fullPath
	csrs     map[string]*x509.CertificateRequest
	certs    map[string][]*x509.Certificate // fullPath
	profiles map[string]*Profile            // fullPath
	saved    map[string]Profile
	faults   Faults
	mgmt     tls.Certificate
	srv      *http.Server
	vs       net.Listener
	paths    []string
}

// Start runs a BIG-IP with one administrator and the client-ssl profile
// /Common/<profile> used by a virtual server.
func Start(user, password, profile string) (*Device, error) {
	d := &Device{ProfileName: profile, users: map[string]string{user: password}, tokens: map[string]token{},
		uploads: map[string][]byte{}, keys: map[string]crypto.Signer{}, csrs: map[string]*x509.CertificateRequest{},
		certs: map[string][]*x509.Certificate{}, profiles: map[string]*Profile{}}
	var err error
	d.mgmt = testpki.SelfSigned("bigip1", "MyCompany")
	// The factory default.crt/default.key pair, as on every BIG-IP.
	d.keys["/Common/default.key"] = d.mgmt.PrivateKey.(crypto.Signer)
	d.certs["/Common/default.crt"] = []*x509.Certificate{d.mgmt.Leaf}
	d.profiles["/Common/"+profile] = &Profile{Cert: "/Common/default.crt", Key: "/Common/default.key", Chain: "none"}
	d.saved = d.snapshot()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.Addr = ln.Addr().String()
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serve), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go d.srv.Serve(tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{d.mgmt}})) //nolint:errcheck // ends with Close
	d.vs, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: d.virtualCert})
	if err != nil {
		return nil, err
	}
	d.VirtualAddr = d.vs.Addr().String()
	go d.acceptVirtual()
	return d, nil
}

// Close stops the device.
func (d *Device) Close() error {
	d.vs.Close()
	return d.srv.Close()
}

// SetFaults replaces the injected faults.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
}

// Paths lists the requests made, as "METHOD path".
func (d *Device) Paths() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.paths...)
}

// State returns the installed certificates' full paths, the profile's
// binding, and whether the running configuration is saved.
func (d *Device) State() ([]string, Profile, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	for n := range d.certs {
		names = append(names, n)
	}
	sort.Strings(names)
	p := *d.profiles["/Common/"+d.ProfileName]
	return names, p, fmt.Sprint(d.snapshot()) == fmt.Sprint(d.saved)
}

// AddProfile adds a client-ssl profile /Common/<name> bound as the
// virtual server's profile is, and saves the configuration.
func (d *Device) AddProfile(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := *d.profiles["/Common/"+d.ProfileName]
	d.profiles["/Common/"+name] = &p
	d.saved = d.snapshot()
}

// Profile returns the binding of client-ssl profile /Common/<name>.
func (d *Device) Profile(name string) Profile {
	d.mu.Lock()
	defer d.mu.Unlock()
	if p := d.profiles["/Common/"+name]; p != nil {
		return *p
	}
	return Profile{}
}

// Uploads lists the files in the REST download and bulk areas, as
// /var/config/rest/... paths.
func (d *Device) Uploads() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for n := range d.uploads {
		if strings.HasPrefix(n, "bulk/") {
			out = append(out, "/var/config/rest/"+n)
		} else {
			out = append(out, "/var/config/rest/downloads/"+n)
		}
	}
	sort.Strings(out)
	return out
}

// Preload installs a key and chain as name.key/name.crt (+ name-chain.crt)
// and binds them to the profile, saved.
func (d *Device) Preload(name string, key crypto.Signer, chain []*x509.Certificate) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys["/Common/"+name+".key"] = key
	d.certs["/Common/"+name+".crt"] = chain[:1]
	p := &Profile{Cert: "/Common/" + name + ".crt", Key: "/Common/" + name + ".key", Chain: "none"}
	if len(chain) > 1 {
		d.certs["/Common/"+name+"-chain.crt"] = chain[1:]
		p.Chain = "/Common/" + name + "-chain.crt"
	}
	d.profiles["/Common/"+d.ProfileName] = p
	d.saved = d.snapshot()
}

func (d *Device) snapshot() map[string]Profile {
	out := map[string]Profile{}
	for k, v := range d.profiles {
		out[k] = *v
	}
	for k := range d.certs {
		out["cert "+k] = Profile{}
	}
	return out
}

func (d *Device) acceptVirtual() {
	for {
		c, err := d.vs.Accept()
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

// virtualCert is what the virtual server presents: the profile's
// certificate, key and chain.
func (d *Device) virtualCert(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.profiles["/Common/"+d.ProfileName]
	cert, key := d.certs[p.Cert], d.keys[p.Key]
	if len(cert) == 0 || key == nil {
		return nil, fmt.Errorf("profile %s is incomplete", d.ProfileName)
	}
	tc := &tls.Certificate{PrivateKey: key, Leaf: cert[0]}
	for _, c := range append(cert, d.certs[p.Chain]...) {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// tmError is a tm error: {"code","message","errorStack","apiError"}.
func tmError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]any{"code": code, "message": msg, "errorStack": []string{}, "apiError": 3})
}

// restError is a framework error (authentication, routing).
func restError(w http.ResponseWriter, code int, msg string, r *http.Request) {
	writeJSON(w, code, map[string]any{"code": code, "message": msg + " Uri:http://localhost:8100" + r.URL.Path + " Referrer:" + r.RemoteAddr + " Sender:" + r.RemoteAddr,
		"referer": r.RemoteAddr, "restOperationId": time.Now().UnixNano() % 10000000, "kind": ":resterrorresponse"})
}

// fullPath turns ~Common~x into /Common/x.
func fullPath(urlName string) string {
	if strings.HasPrefix(urlName, "~") {
		return strings.ReplaceAll(urlName, "~", "/")
	}
	return "/Common/" + urlName
}

func (d *Device) serve(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.paths = append(d.paths, r.Method+" "+r.URL.Path)
	if d.faults.Restarting {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, "<html><body>Configuration Utility restarting...</body></html>")
		return
	}
	if r.URL.Path == "/mgmt/shared/authn/login" && r.Method == http.MethodPost {
		d.login(w, r)
		return
	}
	user := ""
	if t, ok := d.tokens[r.Header.Get("X-F5-Auth-Token")]; ok && time.Now().Before(t.expires) && !d.faults.BadCredentials {
		user = t.user
	} else if u, p, ok := r.BasicAuth(); ok && d.users[u] == p && !d.faults.BadCredentials {
		user = u
	}
	if user == "" {
		if r.Header.Get("X-F5-Auth-Token") != "" {
			restError(w, 401, "X-F5-Auth-Token does not exist.", r)
		} else {
			restError(w, 401, "Authorization failed: no user authentication header or token detected.", r)
		}
		return
	}
	if d.faults.ErrorPath != "" && strings.HasPrefix(r.URL.Path, d.faults.ErrorPath) && (d.faults.ErrorMethod == "" || d.faults.ErrorMethod == r.Method) {
		tmError(w, 400, d.faults.Message)
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	p := r.URL.Path
	switch {
	case strings.HasPrefix(p, "/mgmt/shared/file-transfer/uploads/") && r.Method == http.MethodPost:
		d.upload(w, r, strings.TrimPrefix(p, "/mgmt/shared/file-transfer/uploads/"), body)
	case strings.HasPrefix(p, "/mgmt/shared/file-transfer/bulk/") && r.Method == http.MethodGet:
		d.download(w, strings.TrimPrefix(p, "/mgmt/shared/file-transfer/bulk/"))
	case p == "/mgmt/tm/sys/crypto/key" && r.Method == http.MethodPost:
		d.createKey(w, body)
	case p == "/mgmt/tm/sys/crypto/cert" && r.Method == http.MethodPost:
		d.installCert(w, body)
	case strings.HasPrefix(p, "/mgmt/tm/util/unix-"):
		d.unix(w, strings.TrimPrefix(p, "/mgmt/tm/util/"), body)
	case p == "/mgmt/tm/util/bash":
		d.bash(w, body)
	case p == "/mgmt/tm/sys/file/ssl-cert" && r.Method == http.MethodGet:
		d.listCerts(w)
	case p == "/mgmt/tm/sys/file/ssl-key" && r.Method == http.MethodGet:
		d.listKeys(w)
	case strings.HasPrefix(p, "/mgmt/tm/sys/file/ssl-cert/") && r.Method == http.MethodDelete:
		d.deleteObject(w, d.certs, fullPath(strings.TrimPrefix(p, "/mgmt/tm/sys/file/ssl-cert/")), "Certificate")
	case strings.HasPrefix(p, "/mgmt/tm/sys/file/ssl-key/") && r.Method == http.MethodDelete:
		d.deleteKey(w, fullPath(strings.TrimPrefix(p, "/mgmt/tm/sys/file/ssl-key/")))
	case strings.HasPrefix(p, "/mgmt/tm/ltm/profile/client-ssl/"):
		d.profile(w, r.Method, fullPath(strings.TrimPrefix(p, "/mgmt/tm/ltm/profile/client-ssl/")), body)
	case p == "/mgmt/tm/sys/config" && r.Method == http.MethodPost:
		var c struct{ Command string }
		if json.Unmarshal(body, &c) != nil || c.Command != "save" {
			tmError(w, 400, "Found invalid command id "+c.Command)
			return
		}
		d.saved = d.snapshot()
		writeJSON(w, 200, map[string]any{"kind": "tm:sys:config:savestate", "command": "save"})
	case p == "/mgmt/tm/sys" && r.Method == http.MethodGet:
		writeJSON(w, 200, map[string]any{"kind": "tm:sys:syscollectionstate", "selfLink": "https://localhost/mgmt/tm/sys?ver=15.1.8"})
	default:
		restError(w, 404, "Public URI path not registered: "+p, r)
	}
}

func (d *Device) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Username, Password, LoginProviderName string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		restError(w, 400, "Found unexpected json", r)
		return
	}
	if want, ok := d.users[in.Username]; !ok || want != in.Password || d.faults.BadCredentials {
		writeJSON(w, 401, map[string]any{"code": 401, "message": "Authentication failed.", "referer": r.RemoteAddr,
			"restOperationId": time.Now().UnixNano() % 10000000, "kind": ":resterrorresponse"})
		return
	}
	b := make([]byte, 13)
	_, _ = rand.Read(b)
	tok := strings.ToUpper(hex.EncodeToString(b))[:26]
	life := d.faults.TokenLifetime
	if life <= 0 {
		life = 1200 * time.Second
	}
	d.tokens[tok] = token{user: in.Username, expires: time.Now().Add(life)}
	writeJSON(w, 200, map[string]any{"username": in.Username, "loginProviderName": "tmos", "token": map[string]any{
		"token": tok, "name": tok, "userName": in.Username, "authProviderName": "tmos", "timeout": int(life.Seconds()),
		"startTime": time.Now().Format("2006-01-02T15:04:05.000-0700"), "kind": "shared:authz:tokens:authtokenitemstate",
		"selfLink": "https://localhost/mgmt/shared/authz/tokens/" + tok}, "generation": 0, "lastUpdateMicros": 0})
}

var contentRange = regexp.MustCompile(`^(\d+)-(\d+)/(\d+)$`)

var listCSR = regexp.MustCompile(`tmsh list sys crypto csr (\S+?)'?$`)
