package netscaler

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/devicetls"
	"github.com/ottr-dev/ottr/driver/served"
)

// Config is how to reach one NetScaler and what to bind.
type Config struct {
	// Address is the management address (NSIP) serving NITRO, host:port;
	// default the asset's ip_address (or system_name) on its port, 443
	// unless the asset says otherwise.
	Address string `yaml:"address"`
	// VServers are the SSL virtual servers (SSL load balancing or content
	// switching vservers) whose server certificate is replaced; at least
	// one.
	VServers []string `yaml:"vservers"`
	// Serve is where the new certificate is checked by a handshake,
	// host:port of the first virtual server's VIP (required); ServerName
	// its SNI (default the asset's common name).
	Serve      string `yaml:"serve"`
	ServerName string `yaml:"server_name"`
	// Prefix starts the names of the certificate key pairs and files this
	// driver makes, and marks the only ones it deletes; default "ottr-".
	// Up to 8 characters, so names stay within the 31 NetScaler allows.
	Prefix string `yaml:"prefix"`
	// KeyType is the key made when the rotation asks for none: rsa2048
	// (default), rsa3072, rsa4096, p256 or p384.
	KeyType string `yaml:"key_type"`
	// Subject is what the request says besides the names. NITRO requires
	// country, state and organization in every request; each field set
	// here wins over the rotation's subject (the CA's, recipe's or
	// platform's), which fills the fields left empty.
	Subject ottr.Subject `yaml:"subject"`
	// Partition is refused unless empty or "default": admin partitions
	// are not supported.
	Partition string `yaml:"partition"`
	// RequestTimeout bounds one call; default 1m.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ServeTimeout bounds how long the virtual server may take to present
	// the new certificate after the save; default 1m.
	ServeTimeout time.Duration `yaml:"serve_timeout"`
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

var (
	vserverName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_#. :@=-]{0,126}$`)
	prefixForm  = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,7}$`)
	country     = regexp.MustCompile(`^[A-Za-z]{2}$`)
	keyTypes    = []string{"rsa2048", "rsa3072", "rsa4096", "p256", "p384"}
)

// Check reports the problems of the settings alone (no asset or
// credential needed), so a configuration can be checked when it is loaded;
// New checks them again with the rest.
func (c Config) Check() []ottr.Problem {
	var probs []ottr.Problem
	bad := func(f, m string) { probs = append(probs, ottr.Problem{Field: f, Message: m}) }
	for _, a := range []struct{ field, v string }{{"address", c.Address}, {"serve", c.Serve}} {
		if a.v != "" {
			if _, _, err := net.SplitHostPort(a.v); err != nil {
				bad(a.field, fmt.Sprintf("%q is not host:port", a.v))
			}
		}
	}
	if len(c.VServers) == 0 {
		bad("vservers", "name at least one SSL virtual server, e.g. [vs_www_ssl]")
	}
	for i, v := range c.VServers {
		switch {
		case !vserverName.MatchString(v):
			bad(fmt.Sprintf("vservers[%d]", i), fmt.Sprintf("%q is not a NetScaler virtual server name", v))
		case slices.Index(c.VServers, v) != i:
			bad(fmt.Sprintf("vservers[%d]", i), fmt.Sprintf("%q is listed twice", v))
		}
	}
	if c.Prefix != "" && !prefixForm.MatchString(c.Prefix) {
		bad("prefix", fmt.Sprintf("%q: want up to 8 letters, digits, '_', '.' or '-'", c.Prefix))
	}
	if c.KeyType != "" && !slices.Contains(keyTypes, c.KeyType) {
		bad("key_type", fmt.Sprintf("%q: want one of %s", c.KeyType, strings.Join(keyTypes, ", ")))
	}
	if c.Subject.Country != "" && !country.MatchString(c.Subject.Country) {
		bad("subject.country", fmt.Sprintf("%q: want a two-letter country code", c.Subject.Country))
	}
	if c.Partition != "" && c.Partition != "default" {
		bad("partition", fmt.Sprintf("%q: admin partitions are not supported; use a NetScaler user whose default partition holds the virtual servers", c.Partition))
	}
	if c.RequestTimeout < 0 {
		bad("request_timeout", "must not be negative")
	}
	if c.ServeTimeout < 0 {
		bad("serve_timeout", "must not be negative")
	}
	return probs
}

// Driver rotates the server certificate of NetScaler SSL virtual servers
// through NITRO.
type Driver struct {
	c      Config
	base   string
	client *http.Client

	mu      sync.Mutex
	session string
	// pending is the name of the key and request the last CSR made.
	pending string
}

var (
	_ ottr.Driver   = (*Driver)(nil)
	_ ottr.CSRMaker = (*Driver)(nil)
	_ ottr.Restorer = (*Driver)(nil)
	_ io.Closer     = (*Driver)(nil)
)

// New checks c and returns a driver; it does not connect yet.
func New(c Config) (*Driver, error) {
	if c.Asset == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "netscaler driver: no asset")
	}
	probs := c.Check()
	if c.Serve == "" {
		probs = append(probs, ottr.Problem{Field: "serve", Message: "give the host:port of the first virtual server's VIP, to check what it serves"})
	}
	if c.Credential.Get("username").IsZero() || c.Credential.Get("password").IsZero() {
		probs = append(probs, ottr.Problem{Field: "credential", Message: "needs username and password"})
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("netscaler driver for "+c.Asset.SystemName, probs...)
	}
	if c.Address == "" {
		port := 443
		if c.Asset.Port != 0 {
			port = c.Asset.Port
		}
		c.Address = net.JoinHostPort(c.Asset.Host(), strconv.Itoa(port))
	}
	if c.ServerName == "" {
		c.ServerName = c.Asset.CommonName
	}
	if c.Prefix == "" {
		c.Prefix = "ottr-"
	}
	if c.KeyType == "" {
		c.KeyType = "rsa2048"
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = time.Minute
	}
	if c.ServeTimeout == 0 {
		c.ServeTimeout = time.Minute
	}
	tc := devicetls.Config(c.RootCAs, c.Asset.SystemName, bool(c.Asset.CertificateValidation), c.Trust)
	return &Driver{c: c, base: "https://" + c.Address + "/nitro/v1/config/",
		client: &http.Client{Timeout: c.RequestTimeout, Transport: &http.Transport{TLSClientConfig: tc}}}, nil
}

// nitroError is NITRO's error envelope.
type nitroError struct {
	Errorcode *int   `json:"errorcode"`
	Message   string `json:"message"`
	Severity  string `json:"severity"`
}

// NITRO error codes the driver acts on.
const (
	errNoUser         = 354  // Invalid username or password
	errSessionExpired = 444  // Session expired or killed. Please login again
	errNotLoggedIn    = 1027 // Not logged in or connection timed out
	errNotAuthorized  = 2138 // Not authorized to execute this command
)

// do sends one NITRO call (path is after /nitro/v1/config/, query
// included) with body as JSON and decodes the answer into out. A session
// that expired is renewed once.
func (d *Driver) do(ctx context.Context, method, path string, body, out any) error {
	for attempt := 0; ; attempt++ {
		if err := d.login(ctx); err != nil {
			return err
		}
		code, err := d.once(ctx, method, path, body, out)
		if (code == errSessionExpired || code == errNotLoggedIn) && attempt == 0 {
			d.mu.Lock()
			d.session = ""
			d.mu.Unlock()
			continue
		}
		return err
	}
}

// once sends a call and returns NITRO's errorcode with the error.
func (d *Driver) once(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	d.mu.Lock()
	if d.session != "" {
		req.AddCookie(&http.Cookie{Name: "NITRO_AUTH_TOKEN", Value: d.session})
	}
	d.mu.Unlock()
	what := method + " " + strings.SplitN(path, "&", 2)[0]
	if i := strings.Index(what, "?args="); i > 0 {
		what = what[:i]
	}
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		if refused := devicetls.Refused(err); refused != nil {
			return 0, refused
		}
		return 0, ottr.Errorf(ottr.EUNAVAILABLE, "NetScaler %s: %s: %w", d.c.Address, what, unwrapURL(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return 0, ottr.Errorf(ottr.EUNAVAILABLE, "NetScaler %s: %s: reading the answer: %w", d.c.Address, what, err)
	}
	var e nitroError
	jsonErr := json.Unmarshal(raw, &e)
	if len(bytes.TrimSpace(raw)) == 0 {
		jsonErr = nil
	}
	failed := resp.StatusCode >= 300 || (e.Errorcode != nil && *e.Errorcode != 0 && e.Severity != "WARNING")
	if !failed && jsonErr != nil {
		return 0, ottr.Errorf(ottr.EUNAVAILABLE, "NetScaler %s: %s: the answer is not NITRO's JSON", d.c.Address, what)
	}
	if failed {
		code, msg := 0, e.Message
		if e.Errorcode != nil {
			code = *e.Errorcode
		}
		if msg == "" {
			msg = resp.Status
		} else if code != 0 {
			msg = fmt.Sprintf("%s (errorcode %d)", msg, code)
		}
		oc := ottr.EUNAVAILABLE
		switch {
		case resp.StatusCode == http.StatusUnauthorized || code == errNoUser:
			oc = ottr.EUNAUTHORIZED
		case resp.StatusCode == http.StatusForbidden || code == errNotAuthorized:
			oc = ottr.EFORBIDDEN
		case resp.StatusCode == http.StatusNotFound:
			oc = ottr.ENOTFOUND
		case resp.StatusCode == http.StatusConflict:
			oc = ottr.ECONFLICT
		}
		return code, ottr.Errorf(oc, "NetScaler %s: %s: %s", d.c.Address, what, msg)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, ottr.Errorf(ottr.EUNAVAILABLE, "NetScaler %s: %s: the answer is not NITRO's JSON", d.c.Address, what)
		}
	}
	return 0, nil
}

func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

// login starts a NITRO session unless one is open; the password is sent
// once, in the login body, and the session ID is used from then on.
func (d *Driver) login(ctx context.Context) error {
	d.mu.Lock()
	have := d.session != ""
	d.mu.Unlock()
	if have {
		return nil
	}
	var out struct {
		SessionID string `json:"sessionid"`
	}
	_, err := d.once(ctx, http.MethodPost, "login", map[string]any{"login": map[string]string{
		"username": d.c.Credential.Get("username").Reveal(), "password": d.c.Credential.Get("password").Reveal()}}, &out)
	if err != nil {
		return err
	}
	if out.SessionID == "" || strings.ContainsAny(out.SessionID, "; \r\n\"") {
		return ottr.Errorf(ottr.EUNAVAILABLE, "NetScaler %s: login answered without a session", d.c.Address)
	}
	d.mu.Lock()
	d.session = out.SessionID
	d.mu.Unlock()
	return nil
}

// Close ends the NITRO session, if one is open: the appliance limits how
// many a user may hold.
func (d *Driver) Close() error {
	d.mu.Lock()
	open := d.session != ""
	d.mu.Unlock()
	if !open {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := d.once(ctx, http.MethodPost, "logout", map[string]any{"logout": map[string]any{}}, nil)
	d.mu.Lock()
	d.session = ""
	d.mu.Unlock()
	return err
}

// Current returns the chain the first virtual server presents (read, not
// trusted: verification is the rotation's verify step).
func (d *Driver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	return served.Chain(ctx, d.c.Serve, d.c.ServerName)
}

// args is a NITRO ?args= selection: name:value pairs, values escaped.
func args(kv ...string) string {
	var parts []string
	for i := 0; i+1 < len(kv); i += 2 {
		parts = append(parts, kv[i]+":"+url.QueryEscape(kv[i+1]))
	}
	return "args=" + strings.Join(parts, ",")
}
