package ottr_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

func makeCSR(t *testing.T, key crypto.Signer, cn string, sans ...string) *x509.CertificateRequest {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: cn}, DNSNames: sans,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		t.Fatal(err)
	}
	return csr
}

func TestCheckCSR(t *testing.T) {
	p256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	names := []string{"fw01.example.com", "fw01-mgmt.example.com", "vpn.example.com"}

	ok := []struct {
		name string
		csr  *x509.CertificateRequest
		p    ottr.CSRPolicy
	}{
		{"p256", makeCSR(t, p256, "fw01.example.com", names...), ottr.CSRPolicy{}},
		{"rsa2048, case and order differ", makeCSR(t, rsa2048, "FW01.example.com", "vpn.example.com", "fw01-mgmt.example.com", "fw01.example.com"), ottr.CSRPolicy{}},
		{"cn only in SANs", makeCSR(t, p256, "", names...), ottr.CSRPolicy{}},
		{"ed25519 allowed", makeCSR(t, ed, "fw01.example.com", names...), ottr.CSRPolicy{AllowEd25519: true}},
	}
	for _, tc := range ok {
		if err := ottr.CheckCSR(tc.csr, names, tc.p); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}

	tampered := makeCSR(t, p256, "fw01.example.com", names...)
	tampered.Signature[len(tampered.Signature)-3] ^= 0xff

	withIP := func() *x509.CertificateRequest {
		der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
			Subject: pkix.Name{CommonName: "fw01.example.com"}, DNSNames: names, IPAddresses: []net.IP{net.ParseIP("10.0.0.1")},
		}, p256)
		c, _ := x509.ParseCertificateRequest(der)
		return c
	}()

	bad := []struct {
		name string
		csr  *x509.CertificateRequest
		want []string // substrings of the error, each a separate violation
	}{
		{"missing SAN", makeCSR(t, p256, "fw01.example.com", "fw01.example.com", "vpn.example.com"), []string{"fw01-mgmt.example.com is missing"}},
		{"extra SAN", makeCSR(t, p256, "fw01.example.com", append(names, "evil.example.org")...), []string{"evil.example.org is not one of"}},
		{"weak RSA", makeCSR(t, rsa1024, "fw01.example.com", names...), []string{"RSA key of 1024 bits"}},
		{"P-224", makeCSR(t, p224, "fw01.example.com", names...), []string{"ECDSA curve P-224"}},
		{"ed25519 not allowed", makeCSR(t, ed, "fw01.example.com", names...), []string{"Ed25519 keys are not accepted"}},
		{"bad signature", tampered, []string{"csr.signature: does not verify"}},
		{"IP SAN", withIP, []string{"only DNS names"}},
		{"everything at once", makeCSR(t, rsa1024, "other.example.com"), []string{
			"fw01.example.com is missing", "fw01-mgmt.example.com is missing", "vpn.example.com is missing",
			"other.example.com is not one of", "RSA key of 1024 bits"}},
	}
	for _, tc := range bad {
		err := ottr.CheckCSR(tc.csr, names, ottr.CSRPolicy{})
		if ottr.ErrorCode(err) != ottr.EINVALID {
			t.Errorf("%s: err = %v, want EINVALID", tc.name, err)
			continue
		}
		if got := len(ottr.ErrorProblems(err)); got != len(tc.want) {
			t.Errorf("%s: %d problems, want %d: %v", tc.name, got, len(tc.want), err)
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", tc.name, err, w)
			}
		}
	}
	if err := ottr.CheckCSR(nil, names, ottr.CSRPolicy{}); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("nil CSR: %v", err)
	}
}
