package lighthouse

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/devicetls"
	"github.com/ottr-dev/ottr/driver/served"
)

// Config is how to reach one Lighthouse.
type Config struct {
	// Address is the web interface, host:port; default the asset's
	// ip_address (or system_name) on 443.
	Address string `yaml:"address"`
	// APIVersion is the REST API's version path; default v3.7 (Ottr's).
	APIVersion string `yaml:"api_version"`
	// KeyOffDevice makes the key and the CSR in Ottr, with every name in
	// the subject alternative name extension — for certificates with more
	// than the common name, which the Lighthouse cannot request, and for
	// CAs that refuse a name in the subject only. The key is kept only in
	// memory and sent to the device with the certificate over the API's
	// TLS connection. Without it, multi-name assets are refused.
	KeyOffDevice bool `yaml:"key_off_device"`
	// Subject is what the Lighthouse's own request says besides the
	// common name (its https.csr fields). Each field set here wins over
	// the rotation's subject (CSRRequest.Subject: the CA's, recipe's or
	// platform's), which fills the fields left empty; fields empty in both
	// are left out.
	Subject Subject `yaml:"subject"`
	// RequestTimeout bounds one call; default 1m.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// RootCAs verify the web interface; nil uses the system roots. An
	// asset's certificate_validation "False" turns verification off.
	RootCAs *x509.CertPool `yaml:"-"`

	Asset      *ottr.Asset     `yaml:"-"`
	Credential ottr.Credential `yaml:"-"`
	// Trust decides, during each handshake, whether the device may be sent
	// the credential (its pin, a hold for approval); nil: the chain must
	// verify unless the asset turns validation off.
	Trust ottr.TrustCheck `yaml:"-"`
}

// Subject holds the subject fields of the CSR the Lighthouse makes.
type Subject struct {
	Country      string `yaml:"country"` // two letters
	State        string `yaml:"state"`
	Locality     string `yaml:"locality"`
	Organization string `yaml:"organization"`
	OrgUnit      string `yaml:"org_unit"`
	Email        string `yaml:"email"`
}

// merge is s with the fields it leaves empty taken from r: settings for
// one device are more specific than a CA's or platform's subject.
func (s Subject) merge(r ottr.Subject) Subject {
	pick := func(mine, theirs string) string {
		if mine != "" {
			return mine
		}
		return theirs
	}
	return Subject{Country: pick(s.Country, r.Country), State: pick(s.State, r.State), Locality: pick(s.Locality, r.Locality),
		Organization: pick(s.Organization, r.Organization), OrgUnit: pick(s.OrgUnit, r.OrganizationalUnit), Email: pick(s.Email, r.Email)}
}

// problems are what the Lighthouse would refuse in its own words only
// after the request was sent; checking them here names the field.
func (s Subject) problems() []ottr.Problem {
	var probs []ottr.Problem
	if s.Country != "" && !country.MatchString(s.Country) {
		probs = append(probs, ottr.Problem{Field: "subject.country", Message: fmt.Sprintf("%q: want a two-letter country code", s.Country)})
	}
	if s.Email != "" && !email.MatchString(s.Email) {
		probs = append(probs, ottr.Problem{Field: "subject.email", Message: fmt.Sprintf("%q is not an email address", s.Email)})
	}
	for _, f := range []struct{ field, v string }{{"state", s.State}, {"locality", s.Locality}, {"organization", s.Organization},
		{"org_unit", s.OrgUnit}, {"email", s.Email}} {
		if len(f.v) > 64 {
			probs = append(probs, ottr.Problem{Field: "subject." + f.field, Message: "longer than the 64 characters a subject field may have"})
		}
	}
	return probs
}

// asked is the subject as the Lighthouse is asked for it (the country in
// capitals), for checking the request it made.
func (s Subject) asked() ottr.Subject {
	return ottr.Subject{Country: strings.ToUpper(s.Country), State: s.State, Locality: s.Locality,
		Organization: s.Organization, OrganizationalUnit: s.OrgUnit, Email: s.Email}
}

// fields are the subject's https.csr fields, without the empty ones.
func (s Subject) fields() map[string]any {
	out := map[string]any{}
	for k, v := range map[string]string{"country": s.Country, "state": s.State, "locality": s.Locality,
		"organization": s.Organization, "org_unit": s.OrgUnit, "email": s.Email} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}

// Driver rotates the web (and REST API) certificate of an Opengear
// Lighthouse.
type Driver struct {
	c      Config
	base   string
	client *http.Client

	mu      sync.Mutex
	session string
	offKey  crypto.Signer // a key made here for a multi-name certificate
	// asked is the subject of the request the Lighthouse made, sent again
	// with the certificate.
	asked *Subject
}

var (
	_ ottr.Driver   = (*Driver)(nil)
	_ ottr.CSRMaker = (*Driver)(nil)
)

var (
	apiVersion = regexp.MustCompile(`^v3\.[0-9]+$`)
	country    = regexp.MustCompile(`^[A-Za-z]{2}$`)
	email      = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

// New checks c and returns a driver; it does not connect yet.
func New(c Config) (*Driver, error) {
	if c.Asset == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "lighthouse driver: no asset")
	}
	probs := c.Check()
	if c.Address == "" {
		c.Address = net.JoinHostPort(c.Asset.Host(), "443")
	}
	if c.APIVersion == "" {
		c.APIVersion = "v3.7"
	}
	if c.Credential.Get("username").IsZero() || c.Credential.Get("password").IsZero() {
		probs = append(probs, ottr.Problem{Field: "credential", Message: "needs username and password"})
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("lighthouse driver for "+c.Asset.SystemName, probs...)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = time.Minute
	}
	tc := devicetls.Config(c.RootCAs, c.Asset.SystemName, bool(c.Asset.CertificateValidation), c.Trust)
	return &Driver{c: c, base: "https://" + c.Address + "/api/" + c.APIVersion,
		client: &http.Client{Timeout: c.RequestTimeout, Transport: &http.Transport{TLSClientConfig: tc, DisableKeepAlives: true}}}, nil
}

// Check reports the problems of the settings alone (no asset or
// credential needed), so a configuration can be checked when it is loaded;
// New checks them again with the rest.
func (c Config) Check() []ottr.Problem {
	var probs []ottr.Problem
	if c.Address != "" {
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			probs = append(probs, ottr.Problem{Field: "address", Message: fmt.Sprintf("%q is not host:port", c.Address)})
		}
	}
	if c.APIVersion != "" && !apiVersion.MatchString(c.APIVersion) {
		probs = append(probs, ottr.Problem{Field: "api_version", Message: fmt.Sprintf("%q: want v3.N", c.APIVersion)})
	}
	return append(probs, c.Subject.problems()...)
}

// apiErrors is Lighthouse's error envelope.
type apiErrors struct {
	Error []struct {
		Code int               `json:"code"`
		Text string            `json:"text"`
		Args map[string]string `json:"args"`
	} `json:"error"`
}

// codeInvalidSession is the RAML's 401 entry for a session the device
// no longer knows (timed out, logged out, device restarted).
const codeInvalidSession = 43

// call makes an authenticated call, logging in first when needed and once
// more when the device has ended the session since: an ACME order between
// the request and the upload can outlast the device's session timeout.
func (d *Driver) call(ctx context.Context, method, target string, in, out any) ([]byte, error) {
	if err := d.login(ctx); err != nil {
		return nil, err
	}
	raw, err := d.do(ctx, method, target, in, out)
	if err == nil || ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		return raw, err
	}
	var e apiErrors
	if json.Unmarshal(raw, &e) != nil || len(e.Error) == 0 || e.Error[0].Code != codeInvalidSession {
		return raw, err
	}
	d.mu.Lock()
	d.session = ""
	d.mu.Unlock()
	if err := d.login(ctx); err != nil {
		return nil, err
	}
	return d.do(ctx, method, target, in, out)
}

func (d *Driver) do(ctx context.Context, method, target string, in, out any) ([]byte, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	if !strings.HasPrefix(target, "https://") {
		target = d.base + target
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	d.mu.Lock()
	if d.session != "" {
		req.Header.Set("Authorization", "Token "+d.session)
	}
	d.mu.Unlock()
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if refused := devicetls.Refused(err); refused != nil {
			return nil, refused
		}
		var ue *url.Error
		if ok := asURLError(err, &ue); ok {
			err = ue.Err
		}
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "Lighthouse %s: %s %s: %w", d.c.Address, method, strings.TrimPrefix(target, d.base), err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "Lighthouse %s: reading the answer: %w", d.c.Address, err)
	}
	if resp.StatusCode >= 300 {
		var e apiErrors
		_ = json.Unmarshal(raw, &e)
		var texts []string
		for _, x := range e.Error {
			t := strings.TrimSpace(x.Text)
			if f := x.Args["uuid"]; f != "" {
				t += " (" + f + ")"
			}
			texts = append(texts, t)
		}
		msg := strings.Join(texts, "; ")
		if msg == "" {
			msg = resp.Status
		}
		code := ottr.EUNAVAILABLE
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			code = ottr.EUNAUTHORIZED
		case http.StatusForbidden:
			code = ottr.EFORBIDDEN
		case http.StatusBadRequest:
			code = ottr.EINVALID // the device refused what was sent: sending it again changes nothing
		}
		return raw, ottr.Errorf(code, "Lighthouse %s: %s %s: %s", d.c.Address, method, strings.TrimPrefix(target, d.base), msg)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return raw, ottr.Errorf(ottr.EUNAVAILABLE, "Lighthouse %s: answer is not JSON", d.c.Address)
		}
	}
	return raw, nil
}

func asURLError(err error, target **url.Error) bool {
	ue, ok := err.(*url.Error)
	if ok {
		*target = ue
	}
	return ok
}

func (d *Driver) login(ctx context.Context) error {
	d.mu.Lock()
	have := d.session != ""
	d.mu.Unlock()
	if have {
		return nil
	}
	var out struct {
		State   string `json:"state"`
		Session string `json:"session"`
	}
	if _, err := d.do(ctx, http.MethodPost, "/sessions", map[string]string{"username": d.c.Credential.Get("username").Reveal(),
		"password": d.c.Credential.Get("password").Reveal()}, &out); err != nil {
		return err
	}
	if out.State != "authenticated" || out.Session == "" {
		return ottr.Errorf(ottr.EUNAUTHORIZED, "Lighthouse %s: login not completed (state %q): a second factor cannot be answered by Ottr", d.c.Address, out.State)
	}
	d.mu.Lock()
	d.session = out.Session
	d.mu.Unlock()
	return nil
}

// CSR has the Lighthouse make an RSA key and a CSR for the common name.
// A certificate that needs other names too is refused, unless
// key_off_device is set: then the key and CSR are made here.
func (d *Driver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	if d.c.KeyOffDevice {
		return d.offDeviceCSR(ctx, req)
	}
	if extra := req.OtherNames(); len(extra) > 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "Lighthouse %s can only request a certificate for its common name %s, and this asset also needs %s: "+
			"set key_off_device in its lighthouse settings to make the key in Ottr and send it with the certificate, or remove the other names",
			d.c.Address, req.CommonName, strings.Join(extra, ", "))
	}
	bits := 2048
	switch req.KeyType {
	case "", "rsa2048":
	case "rsa4096":
		bits = 4096
	default:
		return nil, ottr.Errorf(ottr.EINVALID, "Lighthouse makes RSA 2048 or 4096 keys, not %q", req.KeyType)
	}
	var out struct {
		HTTPS struct {
			CSR struct {
				CSR string `json:"csr"`
			} `json:"csr"`
		} `json:"https"`
	}
	subj := d.c.Subject.merge(req.Subject)
	if probs := subj.problems(); len(probs) > 0 {
		return nil, ottr.Invalid("Lighthouse request subject", probs...)
	}
	csrFields := subj.fields()
	csrFields["csr"], csrFields["common_name"], csrFields["key_length"] = "new", req.CommonName, bits
	body := map[string]any{"https": map[string]any{"csr": csrFields}}
	if _, err := d.call(ctx, http.MethodPut, "/services/https", body, &out); err != nil {
		return nil, err
	}
	ottr.Logf(ctx, "the Lighthouse made an RSA %d key and a request for %s", bits, req.CommonName)
	// The answer's csr field is where the request can be fetched.
	link := out.HTTPS.CSR.CSR
	if !strings.HasPrefix(link, "https://") {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "Lighthouse %s: the answer names no request to fetch", d.c.Address)
	}
	u, err := url.Parse(link)
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "Lighthouse %s: the request's link %q is not a URL", d.c.Address, link)
	}
	if u.Host != d.c.Address {
		// A device reached by another name links to itself by its own: ask
		// the address configured for the same path, and never send the
		// session token to another host.
		link = "https://" + d.c.Address + u.RequestURI()
	}
	raw, err := d.call(ctx, http.MethodGet, link, nil, nil)
	if err != nil {
		return nil, err
	}
	csr, err := ottr.ParseCSR(raw)
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "Lighthouse %s: request: %w", d.c.Address, err)
	}
	if csr.Subject.CommonName != req.CommonName {
		return nil, ottr.Errorf(ottr.EINVALID, "Lighthouse %s made a request for %q, not %s", d.c.Address, csr.Subject.CommonName, req.CommonName)
	}
	if bad := subj.asked().Missing(csr.Subject); len(bad) > 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "Lighthouse %s: the request it made leaves out %s; nothing was ordered", d.c.Address, strings.Join(bad, "; "))
	}
	d.mu.Lock()
	d.asked = &subj
	d.mu.Unlock()
	return csr, nil
}

func (d *Driver) offDeviceCSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	// No key for a device that cannot be reached or logged in to.
	if _, err := d.call(ctx, http.MethodGet, "/services/https", nil, nil); err != nil {
		return nil, err
	}
	key, csr, err := ottr.MakeCSR(req)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	d.offKey = key
	d.mu.Unlock()
	ottr.Logf(ctx, "made the key and a request for %s in Ottr (key_off_device)", strings.Join(req.Names(), ", "))
	return csr, nil
}

// Install replaces the web certificate (with the key made here, when the
// key was made off the device) and waits for the restarted web server to
// present it.
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no certificate to install")
	}
	if cur, err := d.Current(ctx); err == nil && len(cur) > 0 && cur[0].Equal(chain[0]) {
		ottr.Logf(ctx, "the Lighthouse already serves serial %x", chain[0].SerialNumber)
		return nil
	}
	https := map[string]any{"cert": string(ottr.EncodeChain(chain))}
	d.mu.Lock()
	key := d.offKey
	d.mu.Unlock()
	if key != nil {
		if !ottr.SamePublicKey(key.Public(), chain[0].PublicKey) {
			return ottr.Errorf(ottr.EINVALID, "Lighthouse %s: this certificate is not for the key Ottr made", d.c.Address)
		}
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		https["key"] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	} else if len(chain[0].DNSNames) > 1 {
		return ottr.Errorf(ottr.EINVALID, "Lighthouse %s: the key for this multi-name certificate was made by an earlier process and is gone; a new rotation makes a new one", d.c.Address)
	} else {
		// A PUT without https.csr cancels the device's pending request
		// (RAML), and with it the key this certificate is for; Ottr's own
		// Lighthouse client sends the request's fields with the upload. A
		// driver that did not make the request (a resumed rotation) knows
		// only the setting's fields.
		d.mu.Lock()
		subj := d.c.Subject
		if d.asked != nil {
			subj = *d.asked
		}
		d.mu.Unlock()
		csrFields := subj.fields()
		csrFields["common_name"] = chain[0].Subject.CommonName
		https["csr"] = csrFields
	}
	if _, err := d.call(ctx, http.MethodPut, "/services/https", map[string]any{"https": https}, nil); err != nil {
		return err
	}
	ottr.Logf(ctx, "sent the certificate; the web server restarts")
	if err := served.Await(ctx, d.Current, chain[0], 3*time.Minute, 100*time.Millisecond); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return ottr.Errorf(ottr.EUNAVAILABLE, "Lighthouse %s: the certificate was accepted, but %w", d.c.Address, err)
	}
	ottr.Logf(ctx, "the Lighthouse serves serial %x", chain[0].SerialNumber)
	return nil
}

// Current returns the chain the web interface presents.
func (d *Driver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	return served.Chain(ctx, d.c.Address, d.c.Asset.SystemName)
}
