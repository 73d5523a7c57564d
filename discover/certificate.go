package discover

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net"

	"github.com/ottr-dev/ottr"
)

// summarise describes the chain an endpoint served; host is the name or
// address dialled, roots what Trusted is judged against (nil: the
// system's).
func summarise(chain []*x509.Certificate, host string, roots *x509.CertPool) *ottr.DiscoveredCertificate {
	leaf := chain[0]
	c := &ottr.DiscoveredCertificate{
		Subject: leaf.Subject.String(), CommonName: leaf.Subject.CommonName,
		DNSNames: leaf.DNSNames, Issuer: leaf.Issuer.String(),
		Serial:    fmt.Sprintf("%x", leaf.SerialNumber),
		NotBefore: leaf.NotBefore.UTC(), NotAfter: leaf.NotAfter.UTC(),
		KeyType: keyType(leaf), ChainLength: len(chain),
	}
	for _, ip := range leaf.IPAddresses {
		c.IPAddresses = append(c.IPAddresses, ip.String())
	}
	sum := sha256.Sum256(leaf.Raw)
	c.SHA256 = hex.EncodeToString(sum[:])
	// Signed by its own key: CheckSignatureFrom would also ask the leaf to
	// be a CA, which a device's factory certificate seldom is.
	c.SelfSigned = bytes.Equal(leaf.RawIssuer, leaf.RawSubject) && leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil
	opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
	for _, ic := range chain[1:] {
		opts.Intermediates.AddCert(ic)
	}
	// An address dialled by IP is judged on the chain alone: a device
	// reached by address is later reached by its certificate's name.
	if net.ParseIP(host) == nil {
		opts.DNSName = host
	}
	_, err := leaf.Verify(opts)
	c.Trusted = err == nil
	return c
}

// keyType names the leaf's public key: "RSA 2048", "ECDSA P-256",
// "Ed25519".
func keyType(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return c.PublicKeyAlgorithm.String()
}

// tlsVersion names a negotiated version as people write it.
func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS 1.0"
	case tls.VersionTLS11:
		return "TLS 1.1"
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS13:
		return "TLS 1.3"
	}
	return tls.VersionName(v)
}

// clientConfig is the handshake discovery makes. It verifies nothing:
// discovery reports what an endpoint serves (self-signed, expired, for
// another name) and sends it nothing secret, no credential and no client
// certificate, so there is nothing a rogue endpoint could take. Trust is
// judged afterwards, on the chain recorded (summarise). Old versions and
// cipher suites are offered so that old devices are found too.
func clientConfig(serverName string) *tls.Config {
	var suites []uint16
	for _, s := range tls.CipherSuites() {
		suites = append(suites, s.ID)
	}
	for _, s := range tls.InsecureCipherSuites() {
		suites = append(suites, s.ID)
	}
	return &tls.Config{
		InsecureSkipVerify: true, // see above: the chain is recorded and judged, nothing secret is sent
		ServerName:         serverName,
		MinVersion:         tls.VersionTLS10,
		CipherSuites:       suites,
	}
}
