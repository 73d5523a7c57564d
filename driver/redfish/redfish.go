package redfish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"crypto/x509"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/devicetls"
	"github.com/ottr-dev/ottr/driver/served"
)

// Config is how to reach one BMC.
type Config struct {
	// Address is the BMC's HTTPS interface, host:port; default the asset's
	// ip_address (or system_name) on 443.
	Address string `yaml:"address"`
	// Auth is "session" (default: a Redfish session, X-Auth-Token, logged
	// out when the driver closes) or "basic" (HTTP Basic on every call).
	Auth string `yaml:"auth"`
	// Manager is the Id of the manager whose HTTPS certificate is rotated
	// (iDRAC.Embedded.1, 1, bmc); default the one manager that has an
	// HTTPS certificate collection.
	Manager string `yaml:"manager"`
	// CertificateCollection is the HTTPS certificate collection's URI;
	// default found through the manager's NetworkProtocol (HTTPS
	// Certificates), then the CertificateService's CertificateLocations.
	CertificateCollection string `yaml:"certificate_collection"`
	// Reset says when the manager is reset (Manager.Reset) after an
	// install so that its web server serves the new certificate: "auto"
	// (default: on BMCs that need it, Dell iDRAC), "always" or "never".
	Reset string `yaml:"reset"`
	// ResetType is Manager.Reset's ResetType; default GracefulRestart.
	ResetType string `yaml:"reset_type"`
	// TaskPoll is how often an install task is polled (default 2s) and
	// TaskTimeout how long it may take (default 10m).
	TaskPoll    time.Duration `yaml:"task_poll"`
	TaskTimeout time.Duration `yaml:"task_timeout"`
	// ServeTimeout is how long the new certificate may take to be served,
	// a BMC restart included (default 10m); ServePoll how often it is
	// looked for (default 5s).
	ServeTimeout time.Duration `yaml:"serve_timeout"`
	ServePoll    time.Duration `yaml:"serve_poll"`
	// RequestTimeout bounds one API call; default 1m.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// RootCAs verify the BMC's certificate; nil uses the system roots.
	// The asset's certificate_validation "False" turns verification off
	// (a factory self-signed certificate).
	RootCAs *x509.CertPool `yaml:"-"`

	// Asset is the device; Credential its login: username and password
	// of an account with the ConfigureManager privilege.
	Asset      *ottr.Asset     `yaml:"-"`
	Credential ottr.Credential `yaml:"-"`
	// Trust decides, during each handshake, whether the BMC may be sent
	// the credential; nil: the chain must verify unless the asset turns
	// validation off.
	Trust ottr.TrustCheck `yaml:"-"`
}

// Driver rotates a BMC's HTTPS certificate through Redfish.
type Driver struct {
	c      Config
	base   string // https://host:port
	client *http.Client

	mu      sync.Mutex
	token   string // session token
	session string // session URI, for logging out
	svc     *service
}

var (
	_ ottr.Driver   = (*Driver)(nil)
	_ ottr.CSRMaker = (*Driver)(nil)
	_ io.Closer     = (*Driver)(nil)
)

// Check reports the problems of the settings alone (no asset or
// credential needed), so a configuration can be checked when it is
// loaded; New checks them again with the rest.
func (c Config) Check() []ottr.Problem {
	var probs []ottr.Problem
	if c.Address != "" {
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			probs = append(probs, ottr.Problem{Field: "address", Message: fmt.Sprintf("%q is not host:port", c.Address)})
		}
	}
	if c.Auth != "" && c.Auth != "session" && c.Auth != "basic" {
		probs = append(probs, ottr.Problem{Field: "auth", Message: fmt.Sprintf("%q: want session or basic", c.Auth)})
	}
	if c.Reset != "" && c.Reset != "auto" && c.Reset != "always" && c.Reset != "never" {
		probs = append(probs, ottr.Problem{Field: "reset", Message: fmt.Sprintf("%q: want auto, always or never", c.Reset)})
	}
	if strings.ContainsAny(c.Manager, "/?#% ") {
		probs = append(probs, ottr.Problem{Field: "manager", Message: fmt.Sprintf("%q: a manager Id, without '/', '?', '#', '%%' or spaces", c.Manager)})
	}
	if u := c.CertificateCollection; u != "" && (!strings.HasPrefix(u, "/redfish/v1/") || strings.ContainsAny(u, "?# ")) {
		probs = append(probs, ottr.Problem{Field: "certificate_collection", Message: fmt.Sprintf("%q: want a path under /redfish/v1/", u)})
	}
	if strings.ContainsAny(c.ResetType, `"\ `) {
		probs = append(probs, ottr.Problem{Field: "reset_type", Message: fmt.Sprintf("%q: a ResetType value such as GracefulRestart", c.ResetType)})
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{{"task_poll", c.TaskPoll}, {"task_timeout", c.TaskTimeout}, {"serve_timeout", c.ServeTimeout},
		{"serve_poll", c.ServePoll}, {"request_timeout", c.RequestTimeout}} {
		if f.v < 0 {
			probs = append(probs, ottr.Problem{Field: f.name, Message: "must not be negative"})
		}
	}
	return probs
}

// New checks c and returns a driver; it does not connect yet.
func New(c Config) (*Driver, error) {
	if c.Asset == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "redfish driver: no asset")
	}
	probs := c.Check()
	if c.Credential.Get("username").IsZero() || c.Credential.Get("password").IsZero() {
		probs = append(probs, ottr.Problem{Field: "credential", Message: "needs username and password"})
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("redfish driver for "+c.Asset.SystemName, probs...)
	}
	if c.Address == "" {
		c.Address = net.JoinHostPort(c.Asset.Host(), "443")
	}
	if c.Auth == "" {
		c.Auth = "session"
	}
	if c.Reset == "" {
		c.Reset = "auto"
	}
	if c.ResetType == "" {
		c.ResetType = "GracefulRestart"
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.TaskPoll, 2 * time.Second}, {&c.TaskTimeout, 10 * time.Minute}, {&c.ServeTimeout, 10 * time.Minute},
		{&c.ServePoll, 5 * time.Second}, {&c.RequestTimeout, time.Minute}} {
		if *d.v == 0 {
			*d.v = d.def
		}
	}
	tc := devicetls.Config(c.RootCAs, c.Asset.SystemName, bool(c.Asset.CertificateValidation), c.Trust)
	return &Driver{c: c, base: "https://" + c.Address,
		client: &http.Client{Timeout: c.RequestTimeout, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true},
			// A redirect could take the credential elsewhere.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}, nil
}

// answer is one Redfish reply.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// extendedInfo is a Redfish message (@Message.ExtendedInfo, Task Messages).
type extendedInfo struct {
	MessageID  string `json:"MessageId"`
	Message    string `json:"Message"`
	Resolution string `json:"Resolution"`
}

// errorEnvelope is DSP0266's error body.
type errorEnvelope struct {
	Error struct {
		Code     string         `json:"code"`
		Message  string         `json:"message"`
		Extended []extendedInfo `json:"@Message.ExtendedInfo"`
	} `json:"error"`
}

// deviceError turns a refused request into an error carrying the BMC's
// messages: 401 is permanent (EUNAUTHORIZED), 403 too (EFORBIDDEN: the
// account lacks ConfigureManager), 400, 404 and 405 are requests the BMC
// will not take (EINVALID), anything else is transient.
func (d *Driver) deviceError(what string, a answer) error {
	var env errorEnvelope
	_ = json.Unmarshal(a.body, &env)
	var parts []string
	for _, m := range env.Error.Extended {
		if m.Message != "" {
			parts = append(parts, m.Message+" ("+m.MessageID+")")
		}
	}
	if len(parts) == 0 && env.Error.Message != "" {
		parts = append(parts, env.Error.Message)
	}
	if len(parts) == 0 {
		parts = append(parts, "HTTP "+fmt.Sprint(a.status)+" "+http.StatusText(a.status))
	}
	text := d.redact(strings.Join(parts, "; "))
	code := ottr.EUNAVAILABLE
	switch a.status {
	case http.StatusUnauthorized:
		code = ottr.EUNAUTHORIZED
	case http.StatusForbidden:
		code = ottr.EFORBIDDEN
		text += " (the account needs the ConfigureManager privilege)"
	case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		code = ottr.EINVALID
	}
	return ottr.Errorf(code, "Redfish %s: %s: %s", d.c.Address, what, text)
}

// redact keeps the password and the session token out of a message a BMC
// may have echoed.
func (d *Driver) redact(s string) string {
	for _, secret := range []string{d.c.Credential.Get("password").Reveal(), d.token} {
		if len(secret) >= 4 {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return s
}

// path turns a link a BMC gave into a path on this BMC: absolute URLs
// must name the configured address (never send the session elsewhere).
func (d *Driver) path(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil || (u.Host != "" && u.Host != d.c.Address) || !strings.HasPrefix(u.Path, "/redfish/") {
		return "", ottr.Errorf(ottr.EUNAVAILABLE, "Redfish %s: the BMC links to %q, not a Redfish path of its own", d.c.Address, link)
	}
	return u.Path, nil
}

// do sends one request with the credential (logging in first for a
// session, and once more when the BMC no longer knows the session, as
// after a reset); a non-2xx answer is an error.
func (d *Driver) do(ctx context.Context, method, path string, body any, what string) (answer, error) {
	a, err := d.send(ctx, method, path, body)
	if err == nil && a.status == http.StatusUnauthorized && d.c.Auth == "session" {
		d.mu.Lock()
		d.token = ""
		d.mu.Unlock()
		a, err = d.send(ctx, method, path, body)
	}
	if err != nil {
		return a, err
	}
	if a.status < 200 || a.status > 299 {
		return a, d.deviceError(what, a)
	}
	return a, nil
}

func (d *Driver) send(ctx context.Context, method, path string, body any) (answer, error) {
	var auth func(*http.Request)
	if d.c.Auth == "basic" {
		auth = func(r *http.Request) {
			r.SetBasicAuth(d.c.Credential.Get("username").Reveal(), d.c.Credential.Get("password").Reveal())
		}
	} else {
		tok, err := d.login(ctx)
		if err != nil {
			return answer{}, err
		}
		auth = func(r *http.Request) { r.Header.Set("X-Auth-Token", tok) }
	}
	return d.raw(ctx, method, path, body, auth)
}

// raw sends one request as it is.
func (d *Driver) raw(ctx context.Context, method, path string, body any, auth func(*http.Request)) (answer, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return answer{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path, rd)
	if err != nil {
		return answer{}, ottr.Errorf(ottr.EINVALID, "Redfish %s: %s %s: %w", d.c.Address, method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-Version", "4.0")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != nil {
		auth(req)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return answer{}, ctx.Err()
		}
		if refused := devicetls.Refused(err); refused != nil {
			return answer{}, refused
		}
		return answer{}, ottr.Errorf(ottr.EUNAVAILABLE, "Redfish %s: %s %s: %w", d.c.Address, method, path, scrub(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return answer{}, ottr.Errorf(ottr.EUNAVAILABLE, "Redfish %s: reading the answer to %s %s: %w", d.c.Address, method, path, scrub(err))
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// scrub drops the URL a *url.Error repeats; the error beneath stays the
// cause.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// login opens a session once per driver (again after the BMC dropped it).
func (d *Driver) login(ctx context.Context) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.token != "" {
		return d.token, nil
	}
	sessions := "/redfish/v1/SessionService/Sessions"
	a, err := d.raw(ctx, http.MethodGet, "/redfish/v1/", nil, nil)
	if err != nil {
		return "", err
	}
	var root struct {
		Links struct {
			Sessions struct {
				ID string `json:"@odata.id"`
			} `json:"Sessions"`
		} `json:"Links"`
	}
	if a.status == http.StatusOK && json.Unmarshal(a.body, &root) == nil && root.Links.Sessions.ID != "" {
		if p, err := d.path(root.Links.Sessions.ID); err == nil {
			sessions = p
		}
	}
	a, err = d.raw(ctx, http.MethodPost, sessions, map[string]string{"UserName": d.c.Credential.Get("username").Reveal(),
		"Password": d.c.Credential.Get("password").Reveal()}, nil)
	if err != nil {
		return "", err
	}
	if a.status < 200 || a.status > 299 {
		return "", d.deviceError("login", a)
	}
	tok := a.header.Get("X-Auth-Token")
	if tok == "" {
		return "", ottr.Errorf(ottr.EUNAVAILABLE, "Redfish %s: the BMC opened a session without an X-Auth-Token", d.c.Address)
	}
	d.token = tok
	d.session = ""
	if loc := a.header.Get("Location"); loc != "" {
		if p, err := d.path(loc); err == nil {
			d.session = p
		}
	}
	return tok, nil
}

// Close ends the session, if one is open: a BMC allows few at a time.
func (d *Driver) Close() error {
	d.mu.Lock()
	tok, sess := d.token, d.session
	d.token, d.session = "", ""
	d.mu.Unlock()
	if tok == "" || sess == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), d.c.RequestTimeout)
	defer cancel()
	a, err := d.raw(ctx, http.MethodDelete, sess, nil, func(r *http.Request) { r.Header.Set("X-Auth-Token", tok) })
	if err != nil {
		return err
	}
	if a.status >= 300 && a.status != http.StatusUnauthorized && a.status != http.StatusNotFound {
		return d.deviceError("logout", a)
	}
	return nil
}

// getJSON reads a resource into v.
func (d *Driver) getJSON(ctx context.Context, path, what string, v any) error {
	a, err := d.do(ctx, http.MethodGet, path, nil, what)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(a.body, v); err != nil {
		return ottr.Errorf(ottr.EUNAVAILABLE, "Redfish %s: %s: the answer is not a Redfish resource (HTTP %d)", d.c.Address, what, a.status)
	}
	return nil
}

// Current returns the chain the BMC's HTTPS interface presents. It reads,
// it does not trust: verification is the rotation's verify step.
func (d *Driver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	return served.Chain(ctx, d.c.Address, d.c.Asset.SystemName)
}
