package fortigate

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/devicetls"
	"github.com/ottr-dev/ottr/driver/served"
)

// Config is how to reach one FortiGate and what to bind.
type Config struct {
	// Address is the administration HTTPS port (REST API and GUI),
	// host:port; default the asset's ip_address (or system_name) on 443.
	Address string `yaml:"address"`
	// VDOM is the virtual domain the API calls name (?vdom=); default
	// "root", the only one when VDOMs are disabled.
	VDOM string `yaml:"vdom"`
	// Bind lists what serves the certificate: "admin" (system global
	// admin-server-cert: the GUI and REST API) and "ssl-vpn" (vpn.ssl
	// settings servercert); default [admin].
	Bind []string `yaml:"bind"`
	// SSLVPNAddress is where the SSL-VPN portal answers, host:port, to
	// check what it serves; default the address's host on the port
	// vpn.ssl settings names.
	SSLVPNAddress string `yaml:"ssl_vpn_address"`
	// CertificatePrefix names the certificates this driver makes
	// <prefix><YYYYMMDD-HHMMSS>-<4 hex digits>; default "ottr-". Prune
	// deletes only certificates with this prefix.
	CertificatePrefix string `yaml:"certificate_prefix"`
	// RequestTimeout bounds one API call; default 1m.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// ServeTimeout is how long the new certificate may take to be
	// presented after binding (httpsd restarts); default 2m. ServePoll is
	// how often it is checked; default 2s.
	ServeTimeout time.Duration `yaml:"serve_timeout"`
	ServePoll    time.Duration `yaml:"serve_poll"`
	// RootCAs verify the administration port's certificate; nil uses the
	// system roots. The asset's certificate_validation "False" turns
	// verification off (a factory self-signed certificate).
	RootCAs *x509.CertPool `yaml:"-"`

	// Asset is the device; Credential holds api_token, the REST API
	// administrator's key.
	Asset      *ottr.Asset     `yaml:"-"`
	Credential ottr.Credential `yaml:"-"`
	// Trust decides, during each handshake, whether the device may be sent
	// the token; nil: the chain must verify unless the asset turns
	// validation off.
	Trust ottr.TrustCheck `yaml:"-"`
}

// What Bind may name.
const (
	BindAdmin  = "admin"
	BindSSLVPN = "ssl-vpn"
)

// nameChars are the characters of a certificate name this driver makes.
const nameChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"

// Check reports the problems of the settings alone (no asset or
// credential needed), so a configuration can be checked when it is loaded;
// New checks them again with the rest.
func (c Config) Check() []ottr.Problem {
	var probs []ottr.Problem
	for _, a := range []struct{ field, v string }{{"address", c.Address}, {"ssl_vpn_address", c.SSLVPNAddress}} {
		if a.v == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(a.v); err != nil || port == "" {
			probs = append(probs, ottr.Problem{Field: a.field, Message: fmt.Sprintf("%q is not host:port", a.v)})
		}
	}
	if v := c.VDOM; v != "" && (len(v) > 31 || strings.Trim(v, nameChars) != "") {
		probs = append(probs, ottr.Problem{Field: "vdom", Message: fmt.Sprintf("%q: a VDOM name is at most 31 letters, digits, '_', '.' or '-'", v)})
	}
	seen := map[string]bool{}
	for i, b := range c.Bind {
		switch {
		case b != BindAdmin && b != BindSSLVPN:
			probs = append(probs, ottr.Problem{Field: fmt.Sprintf("bind[%d]", i), Message: fmt.Sprintf("%q: want admin or ssl-vpn", b)})
		case seen[b]:
			probs = append(probs, ottr.Problem{Field: fmt.Sprintf("bind[%d]", i), Message: fmt.Sprintf("%q is listed twice", b)})
		}
		seen[b] = true
	}
	if c.Bind != nil && len(c.Bind) == 0 {
		probs = append(probs, ottr.Problem{Field: "bind", Message: "is empty: list admin, ssl-vpn or both"})
	}
	if c.SSLVPNAddress != "" && c.Bind != nil && !slices.Contains(c.Bind, BindSSLVPN) {
		probs = append(probs, ottr.Problem{Field: "ssl_vpn_address", Message: "is set but bind does not list ssl-vpn"})
	}
	// Local certificate names are at most 35 characters; the time and the
	// random suffix take 20.
	if p := c.CertificatePrefix; p != "" && (len(p) > 15 || strings.Trim(p, nameChars) != "") {
		probs = append(probs, ottr.Problem{Field: "certificate_prefix", Message: fmt.Sprintf("%q: at most 15 letters, digits, '_', '.' or '-'", p)})
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"request_timeout", c.RequestTimeout}, {"serve_timeout", c.ServeTimeout}, {"serve_poll", c.ServePoll}} {
		if d.v < 0 {
			probs = append(probs, ottr.Problem{Field: d.field, Message: fmt.Sprintf("%s is negative", d.v)})
		}
	}
	return probs
}

// Driver rotates the administration (and SSL-VPN) certificate of a
// FortiGate through its REST API.
type Driver struct {
	c      Config
	base   string // https://host:port/api/v2/
	token  string
	client *http.Client
	// probe reads what a TLS server presents (served.Chain; tests
	// replace it to keep answers in memory).
	probe func(ctx context.Context, addr, serverName string) ([]*x509.Certificate, error)
}

var (
	_ ottr.Driver   = (*Driver)(nil)
	_ ottr.CSRMaker = (*Driver)(nil)
	_ ottr.Restorer = (*Driver)(nil)
)

// New checks c and returns a driver; it does not connect yet.
func New(c Config) (*Driver, error) {
	if c.Asset == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "fortigate driver: no asset")
	}
	probs := c.Check()
	if c.Credential.Get("api_token").IsZero() {
		probs = append(probs, ottr.Problem{Field: "credential", Message: "needs api_token (a REST API administrator's key)"})
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("fortigate driver for "+c.Asset.SystemName, probs...)
	}
	if c.Address == "" {
		c.Address = net.JoinHostPort(c.Asset.Host(), "443")
	}
	if c.VDOM == "" {
		c.VDOM = "root"
	}
	if c.Bind == nil {
		c.Bind = []string{BindAdmin}
	}
	if c.CertificatePrefix == "" {
		c.CertificatePrefix = "ottr-"
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = time.Minute
	}
	if c.ServeTimeout == 0 {
		c.ServeTimeout = 2 * time.Minute
	}
	if c.ServePoll == 0 {
		c.ServePoll = 2 * time.Second
	}
	tc := devicetls.Config(c.RootCAs, c.Asset.SystemName, bool(c.Asset.CertificateValidation), c.Trust)
	return &Driver{c: c, base: "https://" + c.Address + "/api/v2/", token: c.Credential.Get("api_token").Reveal(),
		client: &http.Client{Timeout: c.RequestTimeout, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}},
		probe:  served.Chain}, nil
}

// binds reports whether the configuration binds what.
func (d *Driver) binds(what string) bool { return slices.Contains(d.c.Bind, what) }

// reply is FortiOS's envelope; results stay raw for the caller to read.
type reply struct {
	Status     string          `json:"status"`
	HTTPStatus int             `json:"http_status"`
	Error      int             `json:"error"`
	CLIError   string          `json:"cli_error"`
	Message    string          `json:"message"`
	Results    json.RawMessage `json:"results"`
	Version    string          `json:"version"`
}

// errorTexts say what FortiOS's error numbers mean, for the messages.
var errorTexts = map[int]string{
	-3:   "entry not found",
	-5:   "a duplicate entry already exists",
	-23:  "the entry is in use",
	-37:  "permission denied",
	-651: "invalid value",
}

// deviceError is a refusal by the device, kept so that callers can tell
// FortiOS's error number.
type deviceError struct {
	httpStatus, code int
}

// Error is the HTTP status alone: the message around it says the rest.
func (e *deviceError) Error() string { return fmt.Sprintf("HTTP %d", e.httpStatus) }

// fortiosCode is the FortiOS error number err carries, or 0.
func fortiosCode(err error) int {
	var de *deviceError
	if errors.As(err, &de) {
		return de.code
	}
	return 0
}

// call sends one API request (path below /api/v2/, query besides vdom,
// a JSON body or nil) and returns the envelope's results. Any answer but
// status "success" is an error carrying the device's words: a refused
// token (401) is permanent EUNAUTHORIZED, a refused permission (403)
// permanent EFORBIDDEN, a request the API refuses as malformed (400, 405,
// 424) permanent EINVALID, a missing object (404) ENOTFOUND, anything else
// (500 with FortiOS's error number and CLI text, a dropped connection)
// transient.
func (d *Driver) call(ctx context.Context, method, path string, query url.Values, body any) (json.RawMessage, error) {
	raw, status, err := d.send(ctx, method, path, query, body)
	if err != nil {
		return nil, err
	}
	what := method + " " + path
	var r reply
	if err := json.Unmarshal(raw, &r); err != nil {
		if status == http.StatusUnauthorized {
			return nil, ottr.Errorf(ottr.EUNAUTHORIZED, "FortiOS %s: %s: the API token was refused (HTTP 401)", d.c.Address, what)
		}
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "FortiOS %s: %s: the answer is not FortiOS's JSON (HTTP %d)", d.c.Address, what, status)
	}
	if r.Status == "success" && status/100 == 2 {
		return r.Results, nil
	}
	if r.HTTPStatus == 0 {
		r.HTTPStatus = status
	}
	var detail []string
	if r.Error != 0 {
		s := fmt.Sprintf("error %d", r.Error)
		if t := errorTexts[r.Error]; t != "" {
			s += " (" + t + ")"
		}
		detail = append(detail, s)
	}
	for _, t := range []string{r.CLIError, r.Message} {
		if t = d.oneLine(t); t != "" {
			detail = append(detail, t)
		}
	}
	msg := fmt.Sprintf("HTTP %d", r.HTTPStatus)
	if len(detail) > 0 {
		msg += ", " + strings.Join(detail, ": ")
	}
	cause := &deviceError{httpStatus: r.HTTPStatus, code: r.Error}
	code := ottr.EUNAVAILABLE
	switch {
	case status == http.StatusUnauthorized || r.HTTPStatus == http.StatusUnauthorized:
		code, msg = ottr.EUNAUTHORIZED, "the API token was refused ("+msg+")"
	case status == http.StatusForbidden || r.HTTPStatus == http.StatusForbidden:
		code, msg = ottr.EFORBIDDEN, "the API administrator's profile or VDOM does not allow this ("+msg+")"
	case r.HTTPStatus == http.StatusNotFound:
		code = ottr.ENOTFOUND
	case r.HTTPStatus == http.StatusBadRequest || r.HTTPStatus == http.StatusMethodNotAllowed || r.HTTPStatus == http.StatusFailedDependency:
		code = ottr.EINVALID
	}
	return nil, &ottr.Error{Code: code, Message: fmt.Sprintf("FortiOS %s: %s: %s", d.c.Address, what, msg), Err: cause}
}

// oneLine puts the device's text on one line, without the CLI's "Command
// fail." trailer's line break, and keeps the token out of it.
func (d *Driver) oneLine(s string) string {
	var parts []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			parts = append(parts, l)
		}
	}
	out := strings.Join(parts, "; ")
	if d.token != "" {
		out = strings.ReplaceAll(out, d.token, "[api_token]")
	}
	if len(out) > 500 {
		out = out[:500] + "…"
	}
	return out
}

// send makes one request and returns the answer's body and HTTP status.
// The token travels in the Authorization header, never in a URL.
func (d *Driver) send(ctx context.Context, method, path string, query url.Values, body any) ([]byte, int, error) {
	q := url.Values{}
	for k, v := range query {
		q[k] = v
	}
	q.Set("vdom", d.c.VDOM)
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, 0, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.base+path+"?"+q.Encode(), rd)
	if err != nil {
		return nil, 0, ottr.Errorf(ottr.EINVALID, "FortiOS %s: %s %s: %v", d.c.Address, method, path, err)
	}
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		if refused := devicetls.Refused(err); refused != nil {
			return nil, 0, refused
		}
		return nil, 0, ottr.Errorf(ottr.EUNAVAILABLE, "FortiOS %s: %s %s: %w", d.c.Address, method, path, scrub(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, ctx.Err()
		}
		return nil, 0, ottr.Errorf(ottr.EUNAVAILABLE, "FortiOS %s: %s %s: reading the answer: %w", d.c.Address, method, path, scrub(err))
	}
	return raw, resp.StatusCode, nil
}

// scrub keeps the request URL out of a transport error.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
