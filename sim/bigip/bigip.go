// Package bigip simulates the parts of an F5 BIG-IP (15.1) that
// certificate rotation and F5's own Ansible modules use, speaking iControl
// REST as the device does: JSON bodies, tokens from
// /mgmt/shared/authn/login sent as X-F5-Auth-Token (or HTTP Basic on every
// call), ~Partition~name in URLs and /Partition/name in bodies,
// collections with $top/$skip/$filter=partition eq …, transactions
// (X-F5-REST-Coordination-Id), errors as {"code","message","errorStack",
// "apiError"} with F5's numbered messages, and framework errors as
// :resterrorresponse.
//
// It keeps real state: keys made with crypto/ecdsa and crypto/rsa, or
// installed from uploaded files (sys file ssl-key sourcePath, crypto key
// install), CSRs with their subject alternative names, uploaded files
// assembled from Content-Range chunks, certificates with their SHA-1
// checksums and SHA-256 fingerprints, client-ssl profiles whose
// certKeyChain is checked after every change (objects exist, key matches
// certificate), and a saved configuration. It serves the management API
// on one port and a virtual server on another, presenting its client-ssl
// profile's certificate and chain, so a rotation is checked by a real
// handshake.
//
// The management port is httpd's: it presents the pair httpd loaded from
// /config/httpd/conf/ssl.crt/server.crt and ssl.key/server.key when it
// last started. util/bash runs one simple command at a time on the files
// modelled (cat, cp, rm, openssl pkey -pubout) and the tmsh commands
// Ottr's f5-14.x container used; a restart of httpd (tmsh restart sys
// service httpd, bigstart restart httpd) happens after its answer, ends
// every management connection, and loads the files again: if the key is
// not the certificate's, httpd does not start and the port, REST included,
// refuses connections until StartHTTPD (the console).
//
// What it does not model it refuses with a 400 in F5's envelope naming
// what is not modelled, never a success.
//
// Faults: refused credentials, tokens that expire, 503 "Configuration
// Utility restarting..." answers, an error for one path (and method), a
// connection dropped during an upload, CSRs that lose their alternative
// names, util/bash commands that fail, an httpd that does not start, and
// a restart that cuts off the answer to the call asking for it.
package bigip

import (
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
)

// The version the simulator reports (sys version, selfLinks).
const (
	version = "15.1.8"
	build   = "0.0.7"
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
	// FailCommand makes util/bash commands containing it fail: Message is
	// their output (as a shell error), and they change nothing.
	FailCommand string
	// HTTPDFails makes httpd fail to start, with this reason, whatever
	// its files hold (a full disk, a broken configuration).
	HTTPDFails string
	// RestartCutsReply restarts httpd before the answer to the call that
	// asked for it goes out, so the caller sees its connection close, as
	// it may on the device, where httpd carries REST.
	RestartCutsReply bool
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

	mu      sync.Mutex
	users   map[string]string
	tokens  map[string]token
	uploads map[string][]byte
	csrs    map[string]*x509.CertificateRequest
	cfg     config
	saved   string // cfg.fingerprint() at the last save
	txns    map[string][]request
	faults  Faults
	mgmt    tls.Certificate
	booted  time.Time
	srv     *http.Server
	vs      net.Listener
	paths   []string
	// files are the files on disk the simulator models outside the
	// configuration: httpd's pair and its backups, /var/tmp.
	files map[string][]byte
	web   httpd
}

// Start runs a BIG-IP with one administrator, the built-in parent profile
// /Common/clientssl, and the client-ssl profile /Common/<profile> used by a
// virtual server.
func Start(user, password, profile string) (*Device, error) {
	d := &Device{ProfileName: profile, users: map[string]string{user: password}, tokens: map[string]token{},
		uploads: map[string][]byte{}, csrs: map[string]*x509.CertificateRequest{}, cfg: newConfig(),
		txns: map[string][]request{}, booted: time.Now().Add(-37 * time.Hour), files: map[string][]byte{}}
	d.web.conns = map[net.Conn]bool{}
	var err error
	d.mgmt = testpki.SelfSigned("bigip1", "MyCompany")
	// The factory default.crt/default.key pair, as on every BIG-IP.
	d.cfg.keys["/Common/default.key"] = newKeyFile(d.mgmt.PrivateKey.(crypto.Signer), "", d.booted)
	d.cfg.certs["/Common/default.crt"] = newCertFile([]*x509.Certificate{d.mgmt.Leaf}, nil, "", d.booted)
	factory := []chainEntry{{Name: "default", Cert: "/Common/default.crt", Key: "/Common/default.key", Chain: "none"}}
	d.cfg.profiles["/Common/clientssl"] = &clientSSL{parent: "none", chains: factory}
	if profile != "clientssl" {
		d.cfg.profiles["/Common/"+profile] = &clientSSL{parent: "/Common/clientssl", chains: factory}
	}
	d.saved = d.cfg.fingerprint()
	key, crt := factoryPair()
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	d.files[HTTPDKey] = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	d.files[HTTPDCert] = crt
	d.web.certFile, d.web.keyFile = "/etc/httpd/conf/ssl.crt/server.crt", "/etc/httpd/conf/ssl.key/server.key"
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serve), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		ConnState: d.track}
	if err := d.listenMgmt("127.0.0.1:0"); err != nil {
		return nil, err
	}
	if err := d.startHTTPD(); err != nil {
		return nil, err
	}
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
	d.web.mu.Lock()
	d.web.closed = true
	d.web.mu.Unlock()
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
	for n := range d.cfg.certs {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, d.profileLocked(d.ProfileName), d.cfg.fingerprint() == d.saved
}

// AddProfile adds a client-ssl profile /Common/<name> bound as the
// virtual server's profile is, and saves the configuration.
func (d *Device) AddProfile(name string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := *d.cfg.profiles["/Common/"+d.ProfileName]
	p.chains = append([]chainEntry(nil), p.chains...)
	d.cfg.profiles["/Common/"+name] = &p
	d.saved = d.cfg.fingerprint()
}

// Profile returns the binding of client-ssl profile /Common/<name>.
func (d *Device) Profile(name string) Profile {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.profileLocked(name)
}

func (d *Device) profileLocked(name string) Profile {
	if p := d.cfg.profiles["/Common/"+name]; p != nil && len(p.chains) > 0 {
		return Profile{Cert: p.chains[0].Cert, Key: p.chains[0].Key, Chain: p.chains[0].Chain}
	}
	return Profile{}
}

// Key returns the private key installed as fullPath (/Common/name), or nil.
func (d *Device) Key(fullPath string) crypto.Signer {
	d.mu.Lock()
	defer d.mu.Unlock()
	if k := d.cfg.keys[fullPath]; k != nil {
		return k.signer
	}
	return nil
}

// Cert returns the certificates installed as fullPath, or nil.
func (d *Device) Cert(fullPath string) []*x509.Certificate {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c := d.cfg.certs[fullPath]; c != nil {
		return append([]*x509.Certificate(nil), c.chain...)
	}
	return nil
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
	now := time.Now()
	d.cfg.keys["/Common/"+name+".key"] = newKeyFile(key, "", now)
	d.cfg.certs["/Common/"+name+".crt"] = newCertFile(chain[:1], nil, "", now)
	e := chainEntry{Name: "default", Cert: "/Common/" + name + ".crt", Key: "/Common/" + name + ".key", Chain: "none"}
	if len(chain) > 1 {
		d.cfg.certs["/Common/"+name+"-chain.crt"] = newCertFile(chain[1:], nil, "", now)
		e.Chain = "/Common/" + name + "-chain.crt"
	}
	p := *d.cfg.profiles["/Common/"+d.ProfileName]
	p.chains = []chainEntry{e}
	d.cfg.profiles["/Common/"+d.ProfileName] = &p
	d.saved = d.cfg.fingerprint()
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

// virtualCert is what the virtual server presents: the profile's first
// certKeyChain entry.
func (d *Device) virtualCert(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p := d.profileLocked(d.ProfileName)
	cert, key := d.cfg.certs[p.Cert], d.cfg.keys[p.Key]
	if cert == nil || key == nil {
		return nil, fmt.Errorf("profile %s is incomplete", d.ProfileName)
	}
	tc := &tls.Certificate{PrivateKey: key.signer, Leaf: cert.chain[0]}
	chain := append([]*x509.Certificate(nil), cert.chain...)
	if c := d.cfg.certs[p.Chain]; c != nil {
		chain = append(chain, c.chain...)
	}
	for _, c := range chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc, nil
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// tmErr is a tm error body: {"code","message","errorStack","apiError"}.
func tmErr(code int, msg string) (int, any) {
	return code, map[string]any{"code": code, "message": msg, "errorStack": []string{}, "apiError": 3}
}

// tmError writes a tm error.
func tmError(w http.ResponseWriter, code int, msg string) {
	c, b := tmErr(code, msg)
	writeJSON(w, c, b)
}

// notModelled refuses what a real BIG-IP would do but the simulator does
// not model: clients see an error, never a false success.
func notModelled(what string) (int, any) {
	return tmErr(400, "01070734:3: Configuration error: "+what+" is not modelled by this BIG-IP simulator")
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

// urlName turns /Common/x into ~Common~x.
func urlName(fp string) string { return strings.ReplaceAll(fp, "/", "~") }

// splitPath returns the partition and name of /Partition/name.
func splitPath(fp string) (string, string) {
	part, name, _ := strings.Cut(strings.TrimPrefix(fp, "/"), "/")
	return part, name
}

func selfLink(path string) string {
	return "https://localhost" + path + "?ver=" + version
}

// request is one tm call, kept as data so a transaction can replay it.
type request struct {
	method, path string
	query        url.Values
	body         []byte
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
	p := r.URL.Path
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/") // the REST framework treats x/ as x
	}
	if p == "/mgmt/shared/authn/login" && r.Method == http.MethodPost {
		d.login(w, r)
		return
	}
	user := ""
	if t, ok := d.tokens[r.Header.Get("X-F5-Auth-Token")]; ok && time.Now().Before(t.expires) && !d.faults.BadCredentials {
		user = t.user
	} else if u, pw, ok := r.BasicAuth(); ok && d.users[u] == pw && !d.faults.BadCredentials {
		user = u
	}
	if user == "" {
		// As the device's httpd does in front of iControl REST: clients
		// and scanners know a BIG-IP by this realm.
		w.Header().Set("WWW-Authenticate", `Basic realm="Enterprise Manager"`)
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
	switch {
	case strings.HasPrefix(p, "/mgmt/shared/file-transfer/uploads/") && r.Method == http.MethodPost:
		d.upload(w, r, strings.TrimPrefix(p, "/mgmt/shared/file-transfer/uploads/"), body)
		return
	case strings.HasPrefix(p, "/mgmt/shared/file-transfer/bulk/") && r.Method == http.MethodGet:
		d.download(w, r, strings.TrimPrefix(p, "/mgmt/shared/file-transfer/bulk/"))
		return
	case strings.HasPrefix(p, "/mgmt/shared/authz/tokens/"):
		code, out := d.tokenCall(r.Method, strings.TrimPrefix(p, "/mgmt/shared/authz/tokens/"), body)
		writeJSON(w, code, out)
		return
	case !strings.HasPrefix(p, "/mgmt/tm"):
		restError(w, 404, "Public URI path not registered: "+p, r)
		return
	}
	req := request{method: r.Method, path: p, query: r.URL.Query(), body: body}
	if id := r.Header.Get("X-F5-REST-Coordination-Id"); id != "" {
		code, out := d.enqueue(id, req)
		reply(w, code, out)
		return
	}
	code, out := d.apply(req)
	reply(w, code, out)
}

// reply writes a tm answer; a nil body is an empty one, as a DELETE gets.
func reply(w http.ResponseWriter, code int, out any) {
	if out == nil {
		w.WriteHeader(code)
		return
	}
	writeJSON(w, code, out)
}

// apply runs one tm call; a change the configuration does not pass
// validation with is undone and refused, as the device does.
func (d *Device) apply(req request) (int, any) {
	if req.method == http.MethodGet {
		return d.route(req)
	}
	before := d.cfg.clone()
	code, out := d.route(req)
	if code < 300 {
		if err := d.cfg.validate(); err != nil {
			d.cfg = before
			return tmErr(400, err.Error())
		}
	}
	return code, out
}

// route dispatches a tm call to the object it addresses.
func (d *Device) route(req request) (int, any) {
	p, m := req.path, req.method
	for _, c := range []struct {
		prefix string
		fn     func(request, string) (int, any)
	}{
		{"/mgmt/tm/sys/file/ssl-cert", d.certObjects},
		{"/mgmt/tm/sys/file/ssl-key", d.keyObjects},
		{"/mgmt/tm/ltm/profile/client-ssl", d.profiles},
		{"/mgmt/tm/transaction", d.transaction},
	} {
		if p == c.prefix || strings.HasPrefix(p, c.prefix+"/") {
			return c.fn(req, strings.TrimPrefix(strings.TrimPrefix(p, c.prefix), "/"))
		}
	}
	switch {
	case p == "/mgmt/tm/sys/crypto/key" && m == http.MethodPost:
		return d.cryptoKey(req.body)
	case p == "/mgmt/tm/sys/crypto/csr" && m == http.MethodPost:
		return d.cryptoCSR(req.body)
	case p == "/mgmt/tm/sys/crypto/cert" && m == http.MethodPost:
		return d.installCert(req.body)
	case strings.HasPrefix(p, "/mgmt/tm/util/unix-") && m == http.MethodPost:
		return d.unix(strings.TrimPrefix(p, "/mgmt/tm/util/"), req.body)
	case p == "/mgmt/tm/util/bash" && m == http.MethodPost:
		return d.bash(req.body)
	case p == "/mgmt/tm/sys/config" && m == http.MethodPost:
		var c struct{ Command string }
		if json.Unmarshal(req.body, &c) != nil || c.Command != "save" {
			return notModelled(fmt.Sprintf("sys config command %q (only save)", c.Command))
		}
		d.saved = d.cfg.fingerprint()
		return 200, map[string]any{"kind": "tm:sys:config:savestate", "command": "save"}
	case p == "/mgmt/tm/sys/httpd" && m == http.MethodGet:
		return d.httpdSettings()
	case m == http.MethodGet && (p == "/mgmt/tm/sys" || p == "/mgmt/tm/sys/version" || p == "/mgmt/tm/sys/provision" ||
		p == "/mgmt/tm/sys/clock" || p == "/mgmt/tm/sys/hardware"):
		return d.system(p)
	}
	return notModelled(m + " " + p)
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
	writeJSON(w, 200, map[string]any{"username": in.Username, "loginProviderName": "tmos", "token": d.tokenState(tok)})
}

func (d *Device) tokenState(tok string) map[string]any {
	t := d.tokens[tok]
	left := time.Until(t.expires)
	return map[string]any{"token": tok, "name": tok, "userName": t.user, "authProviderName": "tmos", "timeout": int(left.Seconds() + 0.5),
		"startTime": time.Now().Format("2006-01-02T15:04:05.000-0700"), "expirationMicros": t.expires.UnixMicro(),
		"kind": "shared:authz:tokens:authtokenitemstate", "selfLink": "https://localhost/mgmt/shared/authz/tokens/" + tok}
}

// tokenCall extends (PATCH {"timeout"}) or ends (DELETE) a token.
func (d *Device) tokenCall(method, tok string, body []byte) (int, any) {
	t, ok := d.tokens[tok]
	if !ok {
		return 404, map[string]any{"code": 404, "message": "Object not found at: /shared/authz/tokens/" + tok, "kind": ":resterrorresponse"}
	}
	switch method {
	case http.MethodGet:
	case http.MethodDelete:
		delete(d.tokens, tok)
		return 200, map[string]any{"token": tok, "kind": "shared:authz:tokens:authtokenitemstate"}
	case http.MethodPatch:
		var in struct {
			Timeout *int `json:"timeout"`
		}
		if json.Unmarshal(body, &in) != nil || in.Timeout == nil || *in.Timeout < 1 || *in.Timeout > 36000 {
			return 400, map[string]any{"code": 400, "message": "timeout: give a number of seconds from 1 to 36000", "kind": ":resterrorresponse"}
		}
		t.expires = time.Now().Add(time.Duration(*in.Timeout) * time.Second)
		d.tokens[tok] = t
	default:
		return notModelled(method + " on a token")
	}
	return 200, d.tokenState(tok)
}

var contentRange = regexp.MustCompile(`^(\d+)-(\d+)/(\d+)$`)

// pemCSR is a CSR as the device writes it to /config/ssl/ssl.csr.
func pemCSR(csr *x509.CertificateRequest) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})
}
