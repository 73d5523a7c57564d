package ottr

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
)

// Names are the names the certificate needs: the common name first, then
// the other DNS names, each once.
func (r CSRRequest) Names() []string {
	names := []string{r.CommonName}
	for _, n := range r.DNSNames {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

// OtherNames are the DNS names besides the common name: what a device that
// can only request its common name would leave out.
func (r CSRRequest) OtherNames() []string { return r.Names()[1:] }

// MissingNames lists the requested DNS names a device's CSR lacks in its
// subject alternative names.
func (r CSRRequest) MissingNames(csr *x509.CertificateRequest) []string {
	var missing []string
	for _, n := range r.DNSNames {
		if !slices.Contains(csr.DNSNames, n) {
			missing = append(missing, n)
		}
	}
	return missing
}

// Missing lists the fields of s that a request's subject got lacks or
// holds otherwise, each as `field "wanted" (the request has "…")`. A field
// must hold exactly the value asked for; the email is the PKCS #9
// emailAddress attribute. Fields s leaves empty are not checked.
func (s Subject) Missing(got pkix.Name) []string {
	var emails []string
	for _, a := range got.Names {
		if v, ok := a.Value.(string); ok && a.Type.Equal(oidEmailAddress) {
			emails = append(emails, v)
		}
	}
	var bad []string
	for _, f := range []struct {
		name, want string
		got        []string
	}{{"country", s.Country, got.Country}, {"state", s.State, got.Province}, {"locality", s.Locality, got.Locality},
		{"organization", s.Organization, got.Organization}, {"organizational_unit", s.OrganizationalUnit, got.OrganizationalUnit},
		{"email", s.Email, emails}} {
		if f.want != "" && !slices.Equal(f.got, []string{f.want}) {
			bad = append(bad, fmt.Sprintf("%s %q (the request has %q)", f.name, f.want, strings.Join(f.got, ", ")))
		}
	}
	return bad
}

// NewKey makes a private key of a CSRRequest key type ("" is P-256).
func NewKey(keyType string) (crypto.Signer, error) {
	switch keyType {
	case "", "p256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa2048":
		return rsa.GenerateKey(rand.Reader, 2048)
	case "rsa3072":
		return rsa.GenerateKey(rand.Reader, 3072)
	case "rsa4096":
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return nil, Errorf(EINVALID, "cannot make a %q key (p256, p384, rsa2048, rsa3072, rsa4096)", keyType)
}

// MakeCSR makes a key and a CSR with every name in the subject alternative
// names, in Ottr rather than on the device — for drivers whose device
// cannot request all the names (key_off_device).
func MakeCSR(r CSRRequest) (crypto.Signer, *x509.CertificateRequest, error) {
	key, err := NewKey(r.KeyType)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: r.Subject.Name(r.CommonName), DNSNames: r.Names()}, key)
	if err != nil {
		return nil, nil, err
	}
	csr, err := x509.ParseCertificateRequest(der)
	return key, csr, err
}

// Name is the subject as a pkix.Name with cn as its common name.
func (s Subject) Name(cn string) pkix.Name {
	n := pkix.Name{CommonName: cn}
	add := func(to *[]string, v string) {
		if v != "" {
			*to = []string{v}
		}
	}
	add(&n.Country, s.Country)
	add(&n.Province, s.State)
	add(&n.Locality, s.Locality)
	add(&n.Organization, s.Organization)
	add(&n.OrganizationalUnit, s.OrganizationalUnit)
	if s.Email != "" {
		// PKCS #9 emailAddress, as OpenSSL writes it.
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidEmailAddress,
			Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(s.Email)}})
	}
	return n
}

// IsZero reports whether no field is set.
func (s Subject) IsZero() bool { return s == Subject{} }

var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
