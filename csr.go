package ottr

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
)

// CSRPolicy says which certificate requests may go to a CA.
type CSRPolicy struct {
	// MinRSABits is the smallest RSA modulus allowed; 0 means 2048.
	MinRSABits int
	// AllowEd25519 admits Ed25519 keys, for CAs that issue for them.
	AllowEd25519 bool
	// KeyType, when set, is the key type the device was asked for
	// (CSRRequest.KeyType): a request with another key is refused, so a
	// device that ignores the setting fails clearly instead of rotating
	// to a key nobody chose.
	KeyType string
	// Subject holds the subject fields the device was asked for; each set
	// field must be in the request with that value.
	Subject Subject
}

// CheckCSR checks a certificate request before it goes to the CA: its
// signature is valid, its names (CN and SANs) are exactly names (order and
// case aside), it asks for nothing but DNS names, and its key is RSA of at
// least MinRSABits, ECDSA P-256 or P-384, or Ed25519 where allowed; and,
// where the policy says what was requested, that its key is of KeyType and
// its subject holds Subject's fields. The EINVALID error lists every
// violation.
func CheckCSR(csr *x509.CertificateRequest, names []string, p CSRPolicy) error {
	if csr == nil {
		return Errorf(EINVALID, "csr: missing")
	}
	var probs []Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if err := csr.CheckSignature(); err != nil {
		bad("csr.signature", "does not verify: %v", err)
	}

	want := normNames(names)
	got := normNames(append([]string{csr.Subject.CommonName}, csr.DNSNames...))
	for _, n := range want {
		if !slices.Contains(got, n) {
			bad("csr.names", "%s is missing (the asset's names are %s)", n, strings.Join(want, ", "))
		}
	}
	for _, n := range got {
		if !slices.Contains(want, n) {
			bad("csr.names", "%s is not one of the asset's names (%s)", n, strings.Join(want, ", "))
		}
	}
	if len(csr.IPAddresses) > 0 || len(csr.EmailAddresses) > 0 || len(csr.URIs) > 0 {
		bad("csr.names", "only DNS names are allowed (found IP, e-mail or URI SANs)")
	}

	minRSA := p.MinRSABits
	if minRSA == 0 {
		minRSA = 2048
	}
	switch k := csr.PublicKey.(type) {
	case *rsa.PublicKey:
		if bits := k.N.BitLen(); bits < minRSA {
			bad("csr.key", "RSA key of %d bits; at least %d required", bits, minRSA)
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			bad("csr.key", "ECDSA curve %s; P-256 or P-384 required", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		if !p.AllowEd25519 {
			bad("csr.key", "Ed25519 keys are not accepted by this CA; use RSA ≥ %d, P-256 or P-384", minRSA)
		}
	default:
		bad("csr.key", "unsupported key algorithm %s", csr.PublicKeyAlgorithm)
	}
	if p.KeyType != "" {
		if got := KeyTypeOf(csr.PublicKey); got != p.KeyType {
			bad("csr.key", "%s key; %s was requested (the device did not make the key type asked for)", describeKey(csr.PublicKey), p.KeyType)
		}
	}
	probs = append(probs, subjectProblems(p.Subject, csr.Subject)...)
	if len(probs) > 0 {
		return Invalid("certificate request violates the CSR policy", probs...)
	}
	return nil
}

// CSRNames returns the distinct DNS names a CSR asks for, CN first.
func CSRNames(csr *x509.CertificateRequest) []string {
	return normNames(append([]string{csr.Subject.CommonName}, csr.DNSNames...))
}

func normNames(in []string) []string {
	out := make([]string, 0, len(in))
	for _, n := range in {
		n = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(n)), ".")
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
