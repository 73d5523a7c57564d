package fortigate

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// generateParams are csr/generate's parameters (FortiOS 7.x monitor API;
// the same names as Fortinet's Ansible module fortios_monitor sends).
var generateParams = []string{"certname", "subject", "keytype", "keysize", "curvename", "orgunits", "org", "city",
	"state", "countrycode", "email", "subject_alt_name", "sub_alt_name", "password", "scep_url", "scep_password", "scope"}

// csrGenerate is POST monitor/vpn-certificate/csr/generate: a key made on
// the device and a request for it, kept as a new local certificate entry
// waiting for its certificate.
func (d *Device) csrGenerate(c *call) {
	for k := range c.body {
		if !slices.Contains(generateParams, k) {
			c.refuse(http.StatusFailedDependency, "unknown parameter %q", k)
			return
		}
	}
	for _, k := range []string{"password", "scep_url", "scep_password"} {
		if v, _ := c.body[k].(string); v != "" {
			c.refuse(http.StatusFailedDependency, "%s: the simulator does not model encrypted keys or SCEP enrollment", k)
			return
		}
	}
	var f struct {
		Certname, Subject, Keytype, Curvename, Org, City, State, Countrycode, Email, Scope string
		SubjectAltName                                                                     string `json:"subject_alt_name"`
		SubAltName                                                                         string `json:"sub_alt_name"`
		Keysize                                                                            json.Number
		Orgunits                                                                           []string
	}
	raw, _ := json.Marshal(c.body)
	if err := json.Unmarshal(raw, &f); err != nil {
		c.refuse(http.StatusFailedDependency, "parameters of the wrong type: %v", err)
		return
	}
	for name, v := range map[string]string{"certname": f.Certname, "subject": f.Subject, "keytype": f.Keytype} {
		if v == "" {
			c.refuse(http.StatusFailedDependency, "%s is required", name)
			return
		}
	}
	if len(f.Certname) > 35 || strings.ContainsAny(f.Certname, "\"'<>&/\\ ") {
		c.refuse(http.StatusFailedDependency, "certname %q: at most 35 characters, no spaces, quotes or slashes", f.Certname)
		return
	}
	if d.find(f.Certname) != nil {
		c.fail(http.StatusInternalServerError, -5, cliFail(-5, "A duplicate entry already exists."))
		return
	}
	scope, ok := rangeOf(c, f.Scope)
	if !ok {
		return
	}
	key, err := makeKey(f.Keytype, f.Keysize.String(), f.Curvename)
	if err != nil {
		c.refuse(http.StatusFailedDependency, "%v", err)
		return
	}
	// The subject in OpenSSL's order, one attribute per RDN (an OU each),
	// as the device writes it.
	var dn []pkix.AttributeTypeAndValue
	add := func(oid asn1.ObjectIdentifier, v any) {
		dn = append(dn, pkix.AttributeTypeAndValue{Type: oid, Value: v})
	}
	if f.Countrycode != "" {
		if len(f.Countrycode) != 2 {
			c.refuse(http.StatusFailedDependency, "countrycode %q: want a two-letter ISO 3166 code", f.Countrycode)
			return
		}
		add(asn1.ObjectIdentifier{2, 5, 4, 6}, strings.ToUpper(f.Countrycode))
	}
	for _, a := range []struct {
		oid asn1.ObjectIdentifier
		v   string
	}{{asn1.ObjectIdentifier{2, 5, 4, 8}, f.State}, {asn1.ObjectIdentifier{2, 5, 4, 7}, f.City}, {asn1.ObjectIdentifier{2, 5, 4, 10}, f.Org}} {
		if a.v != "" {
			add(a.oid, a.v)
		}
	}
	for _, ou := range f.Orgunits {
		add(asn1.ObjectIdentifier{2, 5, 4, 11}, ou)
	}
	add(asn1.ObjectIdentifier{2, 5, 4, 3}, f.Subject)
	if f.Email != "" {
		if _, err := mail.ParseAddress(f.Email); err != nil {
			c.refuse(http.StatusFailedDependency, "email %q is not an email address", f.Email)
			return
		}
		add(oidEmailAddress, asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(f.Email)})
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{ExtraNames: dn}}
	san := f.SubjectAltName
	if san == "" {
		san = f.SubAltName
	}
	if err := addSANs(tmpl, san); err != nil {
		c.refuse(http.StatusFailedDependency, "subject_alt_name: %v", err)
		return
	}
	if d.faults.DropSANs && len(tmpl.DNSNames) > 1 {
		tmpl.DNSNames = tmpl.DNSNames[:1]
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		c.refuse(http.StatusFailedDependency, "%v", err)
		return
	}
	csr, _ := x509.ParseCertificateRequest(der)
	d.certs = append(d.certs, &entry{name: f.Certname, source: "user", rng: scope, key: key, csr: csr, updated: time.Now()})
	d.revision++
	e := c.base(http.StatusOK)
	e.Action = c.rest
	c.reply(e)
}

// rangeOf is the entry range a scope parameter asks for; FortiOS's
// default is the VDOM.
func rangeOf(c *call, scope string) (string, bool) {
	switch scope {
	case "", "vdom":
		return "vdom", true
	case "global":
		return "global", true
	}
	c.refuse(http.StatusFailedDependency, "scope %q: want vdom or global", scope)
	return "", false
}

// makeKey makes the key csr/generate asks for: RSA 1024, 1536, 2048
// (default) or 4096 bits, or an EC key on secp256r1 (default), secp384r1
// or secp521r1.
func makeKey(keytype, keysize, curve string) (crypto.Signer, error) {
	switch keytype {
	case "rsa":
		if curve != "" {
			return nil, errors.New("curvename is for keytype ec")
		}
		bits := map[string]int{"": 2048, "1024": 1024, "1536": 1536, "2048": 2048, "4096": 4096}[keysize]
		if bits == 0 {
			return nil, fmt.Errorf("keysize %s: want 1024, 1536, 2048 or 4096", keysize)
		}
		return rsa.GenerateKey(rand.Reader, bits)
	case "ec":
		if keysize != "" {
			return nil, errors.New("keysize is for keytype rsa")
		}
		c := map[string]elliptic.Curve{"": elliptic.P256(), "secp256r1": elliptic.P256(), "secp384r1": elliptic.P384(), "secp521r1": elliptic.P521()}[curve]
		if c == nil {
			return nil, fmt.Errorf("curvename %q: want secp256r1, secp384r1 or secp521r1", curve)
		}
		return ecdsa.GenerateKey(c, rand.Reader)
	}
	return nil, fmt.Errorf("keytype %q: want rsa or ec", keytype)
}

// addSANs reads FortiOS's subject alternative name list, "DNS:a,IP:b,
// email:c,URI:d", into the request.
func addSANs(tmpl *x509.CertificateRequest, list string) error {
	if strings.TrimSpace(list) == "" {
		return nil
	}
	for _, item := range strings.Split(list, ",") {
		kind, v, ok := strings.Cut(strings.TrimSpace(item), ":")
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			return fmt.Errorf("%q is not TYPE:value", item)
		}
		switch strings.ToUpper(kind) {
		case "DNS":
			tmpl.DNSNames = append(tmpl.DNSNames, v)
		case "IP":
			ip := net.ParseIP(v)
			if ip == nil {
				return fmt.Errorf("%q is not an IP address", v)
			}
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		case "EMAIL":
			tmpl.EmailAddresses = append(tmpl.EmailAddresses, v)
		case "URI":
			u, err := url.Parse(v)
			if err != nil {
				return fmt.Errorf("%q is not a URI", v)
			}
			tmpl.URIs = append(tmpl.URIs, u)
		default:
			return fmt.Errorf("%q: the types are DNS, IP, email and URI", kind)
		}
	}
	return nil
}

// parseChain reads certificates, PEM (one or more) or a single DER one.
func parseChain(b []byte) ([]*x509.Certificate, error) {
	var chain []*x509.Certificate
	rest := b
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		chain = append(chain, c)
	}
	if len(chain) == 0 {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, errors.New("no certificate")
		}
		chain = append(chain, c)
	}
	return chain, nil
}

// parseKey reads an unencrypted private key, PKCS #8, PKCS #1 or SEC 1.
func parseKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	der := b
	if block != nil {
		der = block.Bytes
	}
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not an unencrypted private key")
}
