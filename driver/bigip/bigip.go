package bigip

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/devicetls"
	"github.com/ottr-dev/ottr/driver/served"
)

// What a BIG-IP driver rotates.
const (
	// TargetManagementGUI is the management interface's own certificate
	// (httpd: /config/httpd/conf/ssl.crt/server.crt and
	// ssl.key/server.key), what Ottr's otter-f5-14x recipe rotated; the
	// default.
	TargetManagementGUI = "management_gui"
	// TargetClientSSLProfiles is the certKeyChain of LTM client-ssl
	// profiles (Profiles), served by virtual servers.
	TargetClientSSLProfiles = "client_ssl_profiles"
)

// Config is how to reach one BIG-IP and what to bind.
type Config struct {
	// Address is the management interface (iControl REST), host:port;
	// default the asset's ip_address (or system_name) on its port, 443
	// unless the asset says otherwise.
	Address string `yaml:"address"`
	// Target is what is rotated: management_gui (default) or
	// client_ssl_profiles. Setting Profiles alone implies
	// client_ssl_profiles, so configurations written before the
	// management GUI was the default keep rotating their profiles.
	Target string `yaml:"target"`
	// Profiles are the client-ssl profiles (full paths, /Common/name) whose
	// certKeyChain gets the new certificate (client_ssl_profiles only).
	Profiles []string `yaml:"profiles"`
	// Serve is where the new certificate is checked by a handshake,
	// host:port: for client_ssl_profiles a virtual server using the first
	// profile (required); for management_gui the management port
	// (default Address; Address defaults to it too). ServerName is its
	// SNI (default the asset's common name).
	Serve      string `yaml:"serve"`
	ServerName string `yaml:"server_name"`
	// RequestTimeout bounds one call; default 1m.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// RestartTimeout bounds how long httpd may take after a restart to
	// serve the new pair (management_gui); default 2m.
	RestartTimeout time.Duration `yaml:"restart_timeout"`
	// RootCAs verify the management interface; nil uses the system roots.
	// An asset's certificate_validation "False" turns verification off.
	RootCAs *x509.CertPool `yaml:"-"`

	Asset      *ottr.Asset     `yaml:"-"`
	Credential ottr.Credential `yaml:"-"`
	// Trust decides, during each handshake, whether the device may be sent
	// the credential (its pin, a hold for approval); nil: the chain must
	// verify unless the asset turns validation off.
	Trust ottr.TrustCheck `yaml:"-"`
}

// target is what c rotates: as set, or implied by Profiles.
func (c Config) target() string {
	if c.Target == "" && len(c.Profiles) > 0 {
		return TargetClientSSLProfiles
	}
	if c.Target == "" {
		return TargetManagementGUI
	}
	return c.Target
}

// prefix marks the objects this driver made: the only ones it deletes.
const prefix = "ottr-"

// Driver rotates the certificate of the BIG-IP management GUI or of
// client-ssl profiles through iControl REST.
type Driver struct {
	c      Config
	target string
	base   string
	client *http.Client

	mu    sync.Mutex
	token string
	// pending is the key the last CSR was made with.
	pending string
}

var (
	_ ottr.Driver   = (*Driver)(nil)
	_ ottr.CSRMaker = (*Driver)(nil)
	_ ottr.Restorer = (*Driver)(nil)
)

// New checks c and returns a driver; it does not connect yet.
func New(c Config) (*Driver, error) {
	if c.Asset == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "bigip driver: no asset")
	}
	probs := c.Check()
	bad := func(f, m string) { probs = append(probs, ottr.Problem{Field: f, Message: m}) }
	target := c.target()
	if target == TargetManagementGUI {
		// One port: httpd serves the GUI and iControl REST alike.
		c.Address = cmp.Or(c.Address, c.Serve)
		c.Serve = cmp.Or(c.Serve, c.Address)
	}
	if c.Address == "" {
		port := 443
		if c.Asset.Port != 0 {
			port = c.Asset.Port
		}
		c.Address = net.JoinHostPort(c.Asset.Host(), strconv.Itoa(port))
	}
	if c.Serve == "" {
		c.Serve = c.Address
		if target == TargetClientSSLProfiles {
			bad("serve", "give the host:port of a virtual server using the profile, to check what it serves")
		}
	}
	if c.Credential.Get("username").IsZero() || c.Credential.Get("password").IsZero() {
		bad("credential", "needs username and password")
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("bigip driver for "+c.Asset.SystemName, probs...)
	}
	if c.ServerName == "" {
		c.ServerName = c.Asset.CommonName
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = time.Minute
	}
	if c.RestartTimeout <= 0 {
		c.RestartTimeout = 2 * time.Minute
	}
	tc := devicetls.Config(c.RootCAs, c.Asset.SystemName, bool(c.Asset.CertificateValidation), c.Trust)
	return &Driver{c: c, target: target, base: "https://" + c.Address,
		client: &http.Client{Timeout: c.RequestTimeout, Transport: &http.Transport{TLSClientConfig: tc}}}, nil
}

// Check reports the problems of the settings alone (no asset or
// credential needed), so a configuration can be checked when it is loaded;
// New checks them again with the rest. Serve may be left to the
// caller to fill in (from the device address), so only its form is checked.
func (c Config) Check() []ottr.Problem {
	var probs []ottr.Problem
	bad := func(f, m string) { probs = append(probs, ottr.Problem{Field: f, Message: m}) }
	if c.Address != "" {
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			bad("address", fmt.Sprintf("%q is not host:port", c.Address))
		}
	}
	switch c.target() {
	case TargetManagementGUI:
		if len(c.Profiles) > 0 {
			bad("profiles", "are for target client_ssl_profiles; target management_gui rotates the management interface's own certificate")
		}
	case TargetClientSSLProfiles:
		if len(c.Profiles) == 0 {
			bad("profiles", "name at least one client-ssl profile, e.g. /Common/clientssl-www")
		}
	default:
		bad("target", fmt.Sprintf("%q: want management_gui (the management interface's certificate, as Ottr) or client_ssl_profiles", c.Target))
	}
	for i, p := range c.Profiles {
		if !strings.HasPrefix(p, "/") || strings.Count(p, "/") != 2 {
			bad(fmt.Sprintf("profiles[%d]", i), fmt.Sprintf("%q: want a full path /Partition/name", p))
		}
	}
	if c.Serve != "" {
		if _, _, err := net.SplitHostPort(c.Serve); err != nil {
			bad("serve", fmt.Sprintf("%q is not host:port", c.Serve))
		}
	}
	if c.RestartTimeout < 0 {
		bad("restart_timeout", "must not be negative")
	}
	return probs
}

// apiError is iControl REST's error body.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// do sends one request; body is JSON (or raw bytes with a Content-Range)
// and out receives the JSON answer. An expired token is renewed once.
func (d *Driver) do(ctx context.Context, method, path string, body any, out any) error {
	for attempt := 0; ; attempt++ {
		if err := d.login(ctx); err != nil {
			return err
		}
		err := d.once(ctx, method, path, body, out)
		if ottr.ErrorCode(err) == ottr.EUNAUTHORIZED && attempt == 0 && path != "/mgmt/shared/authn/login" {
			d.mu.Lock()
			d.token = "" // expired: log in again
			d.mu.Unlock()
			continue
		}
		return err
	}
}

// upload is a file body for /mgmt/shared/file-transfer/uploads.
type upload []byte

func (d *Driver) once(ctx context.Context, method, path string, body any, out any) error {
	var rd io.Reader
	ctype := "application/json"
	switch b := body.(type) {
	case nil:
	case upload:
		rd, ctype = bytes.NewReader(b), "application/octet-stream"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", ctype)
	if u, ok := body.(upload); ok {
		req.Header.Set("Content-Range", fmt.Sprintf("0-%d/%d", len(u)-1, len(u)))
	}
	d.mu.Lock()
	if d.token != "" {
		req.Header.Set("X-F5-Auth-Token", d.token)
	}
	d.mu.Unlock()
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if refused := devicetls.Refused(err); refused != nil {
			return refused
		}
		return ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: %s %s: %w", d.c.Address, method, path, unwrapURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: reading the answer: %w", d.c.Address, err)
	}
	var e apiError
	_ = json.Unmarshal(raw, &e)
	if resp.StatusCode >= 300 || e.Code >= 300 {
		msg := e.Message
		if msg == "" {
			msg = resp.Status
			if strings.Contains(string(raw), "restarting") {
				msg = "Configuration Utility restarting"
			}
		}
		if i := strings.Index(msg, " Uri:"); i > 0 {
			msg = msg[:i] // the framework appends the request and the caller's address
		}
		code := ottr.EUNAVAILABLE
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			code = ottr.EUNAUTHORIZED
		case http.StatusForbidden:
			code = ottr.EFORBIDDEN
		case http.StatusNotFound:
			code = ottr.ENOTFOUND
		}
		return ottr.Errorf(code, "BIG-IP %s: %s %s: %s", d.c.Address, method, path, msg)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: %s %s: answer is not JSON", d.c.Address, method, path)
		}
	}
	return nil
}

func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func (d *Driver) login(ctx context.Context) error {
	d.mu.Lock()
	have := d.token != ""
	d.mu.Unlock()
	if have {
		return nil
	}
	var out struct {
		Token struct {
			Token string `json:"token"`
		} `json:"token"`
	}
	err := d.once(ctx, http.MethodPost, "/mgmt/shared/authn/login", map[string]string{
		"username": d.c.Credential.Get("username").Reveal(), "password": d.c.Credential.Get("password").Reveal(), "loginProviderName": "tmos"}, &out)
	if err != nil {
		return err
	}
	if out.Token.Token == "" {
		return ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: login answered without a token", d.c.Address)
	}
	d.mu.Lock()
	d.token = out.Token.Token
	d.mu.Unlock()
	return nil
}

// CSR has the BIG-IP make a key and a request for the certificate; the
// key stays on the device.
func (d *Driver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	if d.target == TargetManagementGUI {
		return d.guiCSR(ctx, req)
	}
	return d.profileCSR(ctx, req)
}

// profileCSR has the BIG-IP create a key and a CSR for every name in one
// call (tmsh "create sys crypto key … gen-csr"). The CSR is read through a
// bulk download, which needs no advanced shell.
func (d *Driver) profileCSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	suffix := make([]byte, 3)
	_, _ = rand.Read(suffix)
	name := prefix + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(suffix)
	body := map[string]any{"name": name + ".key", "partition": "Common", "commonName": req.CommonName,
		"options": []map[string]string{{"gen-csr": name}}}
	switch req.KeyType {
	case "", "p256":
		body["keyType"], body["curveName"] = "ec-private", "prime256v1"
	case "p384":
		body["keyType"], body["curveName"] = "ec-private", "secp384r1"
	case "rsa2048", "rsa3072", "rsa4096":
		body["keyType"], body["keySize"] = "rsa-private", strings.TrimPrefix(req.KeyType, "rsa")
	default:
		return nil, ottr.Errorf(ottr.EINVALID, "BIG-IP cannot make a %q key (p256, p384, rsa2048, rsa3072, rsa4096)", req.KeyType)
	}
	var sans []string
	for _, n := range req.Names() {
		sans = append(sans, "DNS:"+n)
	}
	body["subjectAlternativeName"] = strings.Join(sans, ", ")
	if err := d.do(ctx, http.MethodPost, "/mgmt/tm/sys/crypto/key", body, nil); err != nil {
		return nil, err
	}
	ottr.Logf(ctx, "the BIG-IP made key /Common/%s.key and request %s", name, name)
	// The key is configuration (sys file ssl-key): saved now, it survives
	// a reboot before the certificate comes, and a failed install leaves
	// the running configuration the saved one.
	if err := d.do(ctx, http.MethodPost, "/mgmt/tm/sys/config", map[string]string{"command": "save"}, nil); err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.pending = name
	d.mu.Unlock()
	csr, err := d.fetchCSR(ctx, name)
	if err != nil {
		return nil, err
	}
	if missing := req.MissingNames(csr); len(missing) > 0 {
		if d.do(ctx, http.MethodDelete, "/mgmt/tm/sys/file/ssl-key/~Common~"+name+".key", nil, nil) == nil {
			_ = d.do(ctx, http.MethodPost, "/mgmt/tm/sys/config", map[string]string{"command": "save"}, nil)
		}
		return nil, ottr.Errorf(ottr.EINVALID, "BIG-IP %s: the request the device made leaves out %s; nothing was ordered", d.c.Address, strings.Join(missing, ", "))
	}
	return csr, nil
}

// fetchCSR reads the request made with key <name>.key: copied to the REST
// bulk area, downloaded, and removed from there again.
func (d *Driver) fetchCSR(ctx context.Context, name string) (*x509.CertificateRequest, error) {
	bulk := name + ".csr"
	if err := d.do(ctx, http.MethodPost, "/mgmt/tm/util/unix-cp", map[string]string{"command": "run",
		"utilCmdArgs": "/config/ssl/ssl.csr/" + name + " /var/config/rest/bulk/" + bulk}, nil); err != nil {
		return nil, err
	}
	defer func() {
		_ = d.do(context.WithoutCancel(ctx), http.MethodPost, "/mgmt/tm/util/unix-rm", map[string]string{"command": "run", "utilCmdArgs": "/var/config/rest/bulk/" + bulk}, nil)
	}()
	raw, err := d.download(ctx, "/mgmt/shared/file-transfer/bulk/"+bulk)
	if err != nil {
		return nil, err
	}
	csr, err := ottr.ParseCSR(raw)
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: request %s: %w", d.c.Address, name, err)
	}
	return csr, nil
}

// download reads a file from the device; like do, it renews an expired
// token once.
func (d *Driver) download(ctx context.Context, path string) ([]byte, error) {
	for attempt := 0; ; attempt++ {
		b, status, err := d.downloadOnce(ctx, path)
		if status == http.StatusUnauthorized && attempt == 0 {
			d.mu.Lock()
			d.token = "" // expired: log in again
			d.mu.Unlock()
			continue
		}
		return b, err
	}
}

func (d *Driver) downloadOnce(ctx context.Context, path string) ([]byte, int, error) {
	if err := d.login(ctx); err != nil {
		return nil, 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.base+path, nil)
	if err != nil {
		return nil, 0, err
	}
	d.mu.Lock()
	req.Header.Set("X-F5-Auth-Token", d.token)
	d.mu.Unlock()
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		if refused := devicetls.Refused(err); refused != nil {
			return nil, 0, refused
		}
		return nil, 0, ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: %w", d.c.Address, unwrapURL(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: download %s: %s", d.c.Address, path, resp.Status)
	}
	return b, resp.StatusCode, nil
}

// certObject is an installed certificate as the device lists it. The
// device does not return the certificate itself; its SHA-256 fingerprint
// ("SHA256/AA:BB:…") identifies it.
type certObject struct {
	Name        string `json:"name"`
	FullPath    string `json:"fullPath"`
	Fingerprint string `json:"fingerprint"`
}

func (d *Driver) installed(ctx context.Context) ([]certObject, error) {
	var out struct {
		Items []certObject `json:"items"`
	}
	err := d.do(ctx, http.MethodGet, "/mgmt/tm/sys/file/ssl-cert", nil, &out)
	return out.Items, err
}

func (o certObject) is(c *x509.Certificate) bool {
	sum := sha256.Sum256(c.Raw)
	hexSum, ok := strings.CutPrefix(o.Fingerprint, "SHA256/")
	return ok && strings.EqualFold(strings.ReplaceAll(hexSum, ":", ""), hex.EncodeToString(sum[:]))
}

type binding struct {
	Cert  string `json:"cert"`
	Key   string `json:"key"`
	Chain string `json:"chain"`
}

func urlName(fullPath string) string { return strings.ReplaceAll(fullPath, "/", "~") }

// profile reads a profile's binding from its certKeyChain (first entry,
// the one Install writes). The flat cert/key/chain properties predate
// certKeyChain and are not returned by current versions; they are only a
// fallback for a device that returns no certKeyChain.
func (d *Driver) profile(ctx context.Context, p string) (binding, error) {
	var out struct {
		binding
		CertKeyChain []binding `json:"certKeyChain"`
	}
	if err := d.do(ctx, http.MethodGet, "/mgmt/tm/ltm/profile/client-ssl/"+urlName(p), nil, &out); err != nil {
		return binding{}, err
	}
	if len(out.CertKeyChain) > 0 {
		return out.CertKeyChain[0], nil
	}
	if out.Cert == "" || out.Key == "" {
		return binding{}, ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: client-ssl profile %s has no certKeyChain", d.c.Address, p)
	}
	return out.binding, nil
}

// Current returns the chain the virtual server (client_ssl_profiles) or
// the management port (management_gui) presents (read, not trusted:
// verification is the rotation's verify step).
func (d *Driver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	return served.Chain(ctx, d.c.Serve, d.c.ServerName)
}
