package acme

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/ottr-dev/ottr"
)

// Well-known ACME directories, used when a CA of that name has no
// directory configured.
var knownDirectories = map[string]string{
	"lets_encrypt":         "https://acme-v02.api.letsencrypt.org/directory",
	"lets_encrypt_staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
	"digicert":             "https://acme.digicert.com/v2/acme/directory/",
	"zerossl":              "https://acme.zerossl.com/v2/DV90",
	"google":               "https://dv.acme-v02.api.pki.goog/directory",
}

// KnownDirectory returns the directory URL Ottr assumes for a CA name, or
// "".
func KnownDirectory(name string) string { return knownDirectories[name] }

// CA is one configured certificate authority.
type CA struct {
	// Directory is the ACME directory URL. Empty picks the well-known
	// directory of the CA's name (lets_encrypt, lets_encrypt_staging,
	// digicert, zerossl, google).
	Directory string
	// Email is the account's contact address (optional for most CAs).
	Email string
	// DirectoryCA is PEM of extra roots trusted for the directory's HTTPS,
	// for private and test CAs.
	DirectoryCA []byte
	// TrustedRoots is PEM of the roots issued chains must lead to; empty
	// skips that check (the rotation's verify step checks the device).
	TrustedRoots []byte
	// EAB is External Account Binding, required by DigiCert, ZeroSSL,
	// Google and others.
	EAB EAB
	// Profile is the ACME profile to order (e.g. "shortlived"); empty uses
	// the CA's default.
	Profile string
	// PreferredChain picks, among the chains the CA offers, the one whose
	// top certificate is issued by (or is) this common name.
	PreferredChain string
	// CSRPolicy is applied to every CSR before ordering.
	CSRPolicy ottr.CSRPolicy
	// Timeout bounds each HTTP request to the CA; default 30s.
	Timeout time.Duration
	// PollInterval is how often a pending authorization or order is polled
	// when the CA sends no Retry-After; default 100ms.
	PollInterval time.Duration
}

// EAB is an External Account Binding: a key ID and an HMAC key (base64url,
// as CAs hand them out).
type EAB struct {
	KID     string
	HMACKey ottr.Secret
}

func (c CA) directory(name string) string {
	if c.Directory != "" {
		return c.Directory
	}
	return knownDirectories[name]
}

// Validate reports every problem with c, naming the fields under
// certificate_authorities.<name>.
func (c CA) Validate(name string) []ottr.Problem {
	var probs []ottr.Problem
	f := "certificate_authorities." + name + "."
	dir := c.directory(name)
	if dir == "" {
		probs = append(probs, ottr.Problem{Field: f + "directory", Message: "is required for a CA Ottr does not know by name"})
	} else if u, err := url.Parse(dir); err != nil || u.Scheme != "https" || u.Host == "" {
		probs = append(probs, ottr.Problem{Field: f + "directory", Message: fmt.Sprintf("%q is not an https:// URL", dir)})
	}
	if len(c.DirectoryCA) > 0 && !x509.NewCertPool().AppendCertsFromPEM(c.DirectoryCA) {
		probs = append(probs, ottr.Problem{Field: f + "directory_ca", Message: "holds no PEM certificate"})
	}
	if len(c.TrustedRoots) > 0 && !x509.NewCertPool().AppendCertsFromPEM(c.TrustedRoots) {
		probs = append(probs, ottr.Problem{Field: f + "trusted_roots", Message: "holds no PEM certificate"})
	}
	if (c.EAB.KID == "") != c.EAB.HMACKey.IsZero() {
		probs = append(probs, ottr.Problem{Field: f + "eab", Message: "kid and hmac_key go together"})
	}
	if !c.EAB.HMACKey.IsZero() {
		if _, err := decodeHMAC(c.EAB.HMACKey.Reveal()); err != nil {
			probs = append(probs, ottr.Problem{Field: f + "eab.hmac_key", Message: "is not base64url"})
		}
	}
	return probs
}

func (c CA) httpClient() *http.Client {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(c.DirectoryCA) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil || pool == nil {
			pool = x509.NewCertPool()
		}
		pool.AppendCertsFromPEM(c.DirectoryCA)
		tlsConf.RootCAs = pool
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	tr := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConnsPerHost: 8,
		IdleConnTimeout:     90 * time.Second,
		ForceAttemptHTTP2:   true,
	}
	return &http.Client{Transport: retryAfterTransport{tr}, Timeout: timeout}
}
