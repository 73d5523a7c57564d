// Package devicetls builds the TLS configuration drivers use to reach a
// device's management API, so that a device whose certificate cannot be
// verified (certificate_validation "False") is pinned on first use instead
// of being sent credentials whoever answers.
package devicetls

import (
	"crypto/tls"
	"crypto/x509"
	"errors"

	"github.com/ottr-dev/ottr"
)

// Config returns the client configuration for a device named serverName.
//
// With a trust check, every handshake is decided by it: the chain is
// verified against roots for serverName, and check gets the outcome and
// the key's fingerprint before any request (and so any credential) is
// sent. Without one, the chain must verify when validate is set, and is
// not checked at all otherwise (tests and callers that send no secret).
func Config(roots *x509.CertPool, serverName string, validate bool, check ottr.TrustCheck) *tls.Config {
	tc := &tls.Config{RootCAs: roots, ServerName: serverName, MinVersion: tls.VersionTLS12}
	if check == nil {
		tc.InsecureSkipVerify = !validate //nolint:gosec // the asset says its certificate cannot be verified, and no trust store pins it
		return tc
	}
	// The verification below replaces crypto/tls's, which would end the
	// handshake before the trust record is consulted.
	tc.InsecureSkipVerify = true //nolint:gosec // VerifyConnection verifies the chain and applies the device's pin
	tc.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("device presented no certificate")
		}
		return check(Verify(cs.PeerCertificates, roots, serverName) == nil, ottr.TLSFingerprint(cs.PeerCertificates[0]))
	}
	return tc
}

// Verify checks a presented chain as crypto/tls would: to roots (the
// system's when nil), for name.
func Verify(chain []*x509.Certificate, roots *x509.CertPool, name string) error {
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: name, Intermediates: inter})
	return err
}

// Refused returns the device trust check's refusal carried by a transport
// error (a permanent EFORBIDDEN saying what to accept), or nil when err is
// any other failure. Drivers report it as it is instead of as an outage.
func Refused(err error) error {
	var oe *ottr.Error
	if errors.As(err, &oe) && oe.Code == ottr.EFORBIDDEN {
		return oe
	}
	return nil
}
