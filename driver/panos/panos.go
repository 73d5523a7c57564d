package panos

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/devicetls"
	"github.com/ottr-dev/ottr/driver/served"
)

// Config is how to reach one firewall and what to bind.
type Config struct {
	// Address is the management interface, host:port; default the asset's
	// ip_address (or system_name) on 443.
	Address string `yaml:"address"`
	// Profile is the SSL/TLS service profile the certificate is bound
	// through (created if missing); default "otter", the profile Ottr's
	// panos recipes created and bound to the management interface
	// (airbnb/ottr platforms/panos-9.x/src/app.py), so a firewall Ottr
	// rotated keeps its bindings. GlobalProtect portals and gateways that
	// use the profile follow it.
	Profile string `yaml:"profile"`
	// CertificatePrefix names the certificates this driver makes
	// <prefix><time>-<random> (e.g. "ottr-"); empty: Ottr's names,
	// otter_panos_<YYYY_MM_DD> (with a random suffix when that name is
	// taken).
	CertificatePrefix string `yaml:"certificate_prefix"`
	// SkipManagement leaves the management interface's profile alone (for
	// a certificate used only by GlobalProtect).
	SkipManagement bool `yaml:"skip_management"`
	// CommitPoll is how often a commit job is polled (default 2s) and
	// CommitTimeout how long it may take (default 10m).
	CommitPoll    time.Duration `yaml:"commit_poll"`
	CommitTimeout time.Duration `yaml:"commit_timeout"`
	// RequestTimeout bounds one API call; default 1m.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// RootCAs verify the management interface's certificate; nil uses the
	// system roots. The asset's certificate_validation "False" turns
	// verification off (a factory self-signed certificate).
	RootCAs *x509.CertPool `yaml:"-"`

	// Asset is the device; Credential its login: username and password,
	// or api_key.
	Asset      *ottr.Asset     `yaml:"-"`
	Credential ottr.Credential `yaml:"-"`
	// Trust decides, during each handshake, whether the device may be sent
	// the credential (its pin, a hold for approval); nil: the chain must
	// verify unless the asset turns validation off.
	Trust ottr.TrustCheck `yaml:"-"`
}

// Certificates with these prefixes are the only ones prune deletes: Ottr's
// (otter_panos_<date>, platforms/panos-*/src/app.py) and this driver's,
// under either naming.
const (
	ottrPrefix = "otter_panos_"
	ownPrefix  = "ottr-"
)

// Driver rotates the management (and GlobalProtect) certificate of a
// PAN-OS firewall through its XML API.
type Driver struct {
	c      Config
	api    string // https://host:port/api/
	client *http.Client

	mu  sync.Mutex
	key string
}

var (
	_ ottr.Driver   = (*Driver)(nil)
	_ ottr.CSRMaker = (*Driver)(nil)
	_ ottr.Restorer = (*Driver)(nil)
)

// New checks c and returns a driver; it does not connect yet.
func New(c Config) (*Driver, error) {
	if c.Asset == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "panos driver: no asset")
	}
	probs := c.Check()
	if c.Address == "" {
		c.Address = net.JoinHostPort(c.Asset.Host(), "443")
	}
	if c.Profile == "" {
		c.Profile = "otter"
	}
	if c.Credential.Get("api_key").IsZero() && (c.Credential.Get("username").IsZero() || c.Credential.Get("password").IsZero()) {
		probs = append(probs, ottr.Problem{Field: "credential", Message: "needs username and password, or api_key"})
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("panos driver for "+c.Asset.SystemName, probs...)
	}
	if c.CommitPoll <= 0 {
		c.CommitPoll = 2 * time.Second
	}
	if c.CommitTimeout <= 0 {
		c.CommitTimeout = 10 * time.Minute
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = time.Minute
	}
	tc := devicetls.Config(c.RootCAs, c.Asset.SystemName, bool(c.Asset.CertificateValidation), c.Trust)
	return &Driver{c: c, api: "https://" + c.Address + "/api/",
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
	if strings.ContainsAny(c.Profile, "'\"<>&") || len(c.Profile) > 31 {
		probs = append(probs, ottr.Problem{Field: "profile", Message: fmt.Sprintf("%q: at most 31 characters, no quotes or markup", c.Profile)})
	}
	// PAN-OS names are at most 31 characters; the time and random suffix
	// take 20.
	if p := c.CertificatePrefix; p != "" && (len(p) > 11 || strings.Trim(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != "") {
		probs = append(probs, ottr.Problem{Field: "certificate_prefix", Message: fmt.Sprintf("%q: at most 11 letters, digits, '_', '.' or '-'", p)})
	}
	return probs
}

// message is PAN-OS's text node, either <line>s or plain text.
type message struct {
	Lines []string `xml:"line"`
	Text  string   `xml:",chardata"`
}

func (m message) String() string {
	parts := slices.Clone(m.Lines)
	if t := strings.TrimSpace(m.Text); t != "" {
		parts = append(parts, t)
	}
	return strings.Join(parts, " ")
}

// response is the XML API's envelope.
type response struct {
	Status string  `xml:"status,attr"`
	Code   string  `xml:"code,attr"`
	Msg    message `xml:"msg"`
	Result struct {
		Msg message `xml:"msg"`
		Key string  `xml:"key"`
		// Job is a commit's job number (<job>4</job>) or, from "show
		// jobs", the job itself.
		Job struct {
			ID      string  `xml:",chardata"`
			Status  string  `xml:"status"`
			Result  string  `xml:"result"`
			Details message `xml:"details"`
		} `xml:"job"`
		Certificates []entry `xml:"certificate>entry"`
		Entry        []entry `xml:"entry"`
		Profile      string  `xml:"ssl-tls-service-profile"`
	} `xml:"result"`
}

// entry is a certificate entry or a profile entry of the configuration.
type entry struct {
	Name        string `xml:"name,attr"`
	CSR         string `xml:"csr"`
	PublicKey   string `xml:"public-key"`
	PrivateKey  string `xml:"private-key"`
	Certificate string `xml:"certificate"`
}

// text gathers every message the response carries, where pan-python
// looks for them.
func (r *response) text() string {
	var parts []string
	for _, s := range []string{r.Msg.String(), r.Result.Msg.String(), r.Result.Job.Details.String()} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// post sends one API call as a form (or multipart, with file) and
// returns the envelope; status="error" is an error, whatever the HTTP
// status.
func (d *Driver) post(ctx context.Context, params url.Values, file []byte) (*response, []byte, error) {
	var body io.Reader
	ctype := "application/x-www-form-urlencoded"
	target := d.api
	if file != nil {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", params.Get("certificate-name")+".pem")
		fw.Write(file)
		mw.Close()
		body, ctype = &buf, mw.FormDataContentType()
		target += "?" + params.Encode() // parameters in the query, the file in the body, as pan-python does
	} else {
		body = strings.NewReader(params.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, body)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Content-Type", ctype)
	if d.key != "" {
		req.Header.Set("X-PAN-KEY", d.key)
	}
	resp, err := d.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if refused := devicetls.Refused(err); refused != nil {
			return nil, nil, refused
		}
		return nil, nil, ottr.Errorf(ottr.EUNAVAILABLE, "PAN-OS %s: %s: %w", d.c.Address, params.Get("type"), scrub(err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, nil, ottr.Errorf(ottr.EUNAVAILABLE, "PAN-OS %s: reading the answer: %w", d.c.Address, err)
	}
	if params.Get("type") == "export" && bytes.HasPrefix(bytes.TrimSpace(raw), []byte("-----BEGIN")) {
		return &response{Status: "success"}, raw, nil
	}
	var r response
	if err := xml.Unmarshal(raw, &r); err != nil {
		return nil, nil, ottr.Errorf(ottr.EUNAVAILABLE, "PAN-OS %s: answer is not the XML API's (HTTP %d)", d.c.Address, resp.StatusCode)
	}
	if r.Status != "success" {
		msg := r.text()
		if msg == "" {
			msg = "status " + r.Status
		}
		code := ottr.EUNAVAILABLE
		switch {
		case resp.StatusCode == http.StatusForbidden || r.Code == "403" || strings.Contains(msg, "Invalid Credential"):
			code = ottr.EUNAUTHORIZED
		case r.Code == "16" || r.Code == "15":
			code = ottr.EFORBIDDEN
		}
		return &r, raw, ottr.Errorf(code, "PAN-OS %s: %s: %s", d.c.Address, params.Get("type"), msg)
	}
	return &r, raw, nil
}

// scrub keeps the API key out of error text and out of the chain the
// caller can reach (it may sit in the *url.Error's URL).
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// login gets an API key, once per driver.
func (d *Driver) login(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.key != "" {
		return nil
	}
	if k := d.c.Credential.Get("api_key"); !k.IsZero() {
		d.key = k.Reveal()
		return nil
	}
	r, _, err := d.post(ctx, url.Values{"type": {"keygen"}, "user": {d.c.Credential.Get("username").Reveal()},
		"password": {d.c.Credential.Get("password").Reveal()}}, nil)
	if err != nil {
		return err
	}
	if r.Result.Key == "" {
		return ottr.Errorf(ottr.EUNAVAILABLE, "PAN-OS %s: keygen answered without a key", d.c.Address)
	}
	d.key = r.Result.Key
	return nil
}

func (d *Driver) call(ctx context.Context, params url.Values) (*response, error) {
	if err := d.login(ctx); err != nil {
		return nil, err
	}
	r, _, err := d.post(ctx, params, nil)
	return r, err
}

// algorithm is the generate command's algorithm element for a key type;
// "" is RSA 2048, the key Ottr's panos recipes had the firewall make
// (platforms/panos-9.x/src/app.py).
func algorithm(kt string) (string, error) {
	switch kt {
	case "", "rsa2048", "rsa3072", "rsa4096":
		bits := strings.TrimPrefix(kt, "rsa")
		if kt == "" {
			bits = "2048"
		}
		return "<RSA><rsa-nbits>" + bits + "</rsa-nbits></RSA>", nil
	case "p256":
		return "<ECDSA><ecdsa-nbits>256</ecdsa-nbits></ECDSA>", nil
	case "p384":
		return "<ECDSA><ecdsa-nbits>384</ecdsa-nbits></ECDSA>", nil
	}
	return "", ottr.Errorf(ottr.EINVALID, "PAN-OS cannot make a %q key (p256, p384, rsa2048, rsa3072, rsa4096)", kt)
}

// subjectXML is the generate command's subject elements, in the order
// Ottr's recipe sent them. The email is left out: Ottr's panos recipes
// never sent one, and where the firewall puts the generate command's
// email (subject or subjectAltName, which ACME CAs refuse) is not
// documented; the caller says so in the log.
func subjectXML(s ottr.Subject) string {
	var b strings.Builder
	for _, f := range []struct{ tag, v string }{{"country-code", s.Country}, {"state", s.State},
		{"locality", s.Locality}, {"organization", s.Organization}} {
		if f.v != "" {
			b.WriteString("<" + f.tag + ">" + x(f.v) + "</" + f.tag + ">")
		}
	}
	if s.OrganizationalUnit != "" {
		b.WriteString("<organization-unit><member>" + x(s.OrganizationalUnit) + "</member></organization-unit>")
	}
	return b.String()
}

func x(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// newName is a certificate name no entry has: Ottr's otter_panos_<date>
// (a random suffix when a rotation already made that day's), or
// <certificate_prefix><time>-<random>.
func (d *Driver) newName(taken []entry) string {
	free := func(n string) bool {
		return !slices.ContainsFunc(taken, func(e entry) bool { return e.Name == n })
	}
	now := time.Now().UTC()
	for {
		suffix := make([]byte, 2)
		_, _ = rand.Read(suffix)
		var name string
		if d.c.CertificatePrefix != "" {
			name = d.c.CertificatePrefix + now.Format("20060102-150405") + "-" + hex.EncodeToString(suffix) // at most 31
		} else {
			name = ottrPrefix + now.Format("2006_01_02") // Ottr's exact name, 22 characters
			if !free(name) {
				name += "_" + hex.EncodeToString(suffix)
			}
		}
		if free(name) {
			return name
		}
	}
}

// CSR has the firewall generate a key and a CSR for every name (signed-by
// external) with the requested subject fields: the key stays in the
// firewall's configuration.
func (d *Driver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	algo, err := algorithm(req.KeyType)
	if err != nil {
		return nil, err
	}
	if c := req.Subject.Country; c != "" && (len(c) != 2 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "") {
		// country-code takes a two-letter code; the firewall's own refusal
		// would not name the setting.
		return nil, ottr.Invalid("PAN-OS request", ottr.Problem{Field: "subject.country", Message: fmt.Sprintf("%q: want a two-letter country code", c)})
	}
	entries, err := d.certs(ctx)
	if err != nil {
		return nil, err
	}
	name := d.newName(entries)
	var hosts strings.Builder
	for _, n := range req.Names() {
		hosts.WriteString("<member>" + x(n) + "</member>")
	}
	cmd := "<request><certificate><generate><certificate-name>" + name + "</certificate-name><name>" + x(req.CommonName) + "</name>" +
		"<algorithm>" + algo + "</algorithm><digest>sha256</digest>" + subjectXML(req.Subject) + "<hostname>" + hosts.String() + "</hostname>" +
		"<ca>no</ca><signed-by>external</signed-by></generate></certificate></request>"
	if req.Subject.Email != "" {
		ottr.Logf(ctx, "the request leaves out the subject email %s: Ottr's PAN-OS recipe did not send one either", req.Subject.Email)
	}
	if _, err := d.call(ctx, url.Values{"type": {"op"}, "cmd": {cmd}}); err != nil {
		return nil, err
	}
	ottr.Logf(ctx, "the firewall generated key and request %s", name)
	_, raw, err := d.post(ctx, url.Values{"type": {"export"}, "category": {"certificate"}, "certificate-name": {name},
		"format": {"pkcs10"}, "include-key": {"no"}}, nil)
	if err != nil {
		return nil, err
	}
	csr, err := ottr.ParseCSR(raw)
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "PAN-OS %s: export of %s: %w", d.c.Address, name, err)
	}
	missing := req.MissingNames(csr)
	bad := subjectMissing(req, csr)
	if len(missing) > 0 || len(bad) > 0 {
		_, _ = d.call(ctx, url.Values{"type": {"config"}, "action": {"delete"}, "xpath": {certEntry(name)}})
		var what []string
		if len(missing) > 0 {
			what = append(what, strings.Join(missing, ", "))
		}
		what = append(what, bad...)
		return nil, ottr.Errorf(ottr.EINVALID, "PAN-OS %s: the request the firewall made leaves out %s; nothing was ordered", d.c.Address, strings.Join(what, "; "))
	}
	return csr, nil
}

const (
	certsPath   = "/config/shared/certificate"
	profilePath = "/config/shared/ssl-tls-service-profile"
	systemPath  = "/config/devices/entry[@name='localhost.localdomain']/deviceconfig/system"
)

func certEntry(name string) string { return certsPath + "/entry[@name='" + name + "']" }

// certs lists the candidate configuration's certificate entries.
func (d *Driver) certs(ctx context.Context) ([]entry, error) {
	r, err := d.call(ctx, url.Values{"type": {"config"}, "action": {"get"}, "xpath": {certsPath}})
	if err != nil {
		return nil, err
	}
	return r.Result.Certificates, nil
}

// bound is the certificate the profile names in the candidate
// configuration ("" if none).
func (d *Driver) bound(ctx context.Context) (string, error) {
	r, err := d.call(ctx, url.Values{"type": {"config"}, "action": {"get"}, "xpath": {profilePath + "/entry[@name='" + d.c.Profile + "']"}})
	if err != nil {
		return "", err
	}
	if len(r.Result.Entry) == 0 {
		return "", nil
	}
	return r.Result.Entry[0].Certificate, nil
}

// Current returns the chain the management interface presents. It reads,
// it does not trust: verification is the rotation's verify step.
func (d *Driver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	return served.Chain(ctx, d.c.Address, d.c.Asset.SystemName)
}

// subjectMissing lists the requested subject fields the device's request
// lacks; the email aside: the firewall puts no email in its request.
func subjectMissing(req ottr.CSRRequest, csr *x509.CertificateRequest) []string {
	want := req.Subject
	want.Email = ""
	return want.Missing(csr.Subject)
}
