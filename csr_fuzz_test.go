package ottr_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// FuzzParseCSR reads a device's answer as a CSR (text around it allowed)
// and as a certificate chain, and checks a parsed CSR against the
// asset's names: nothing panics, a policy refusal is EINVALID, and a
// parsed chain encodes back to the same certificates.
func FuzzParseCSR(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject: pkix.Name{CommonName: "fw01.example.com"}, DNSNames: []string{"fw01.example.com", "vpn.example.com"}}, key)
	if err != nil {
		f.Fatal(err)
	}
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	f.Add(csrPEM, "fw01.example.com,vpn.example.com")
	f.Add(append([]byte("admin@fw01> request certificate generate\n"), csrPEM...), "fw01.example.com")
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der[:len(der)/2]}), "fw01.example.com")
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), "")
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"), ",")
	f.Fuzz(func(t *testing.T, b []byte, names string) {
		if chain, err := ottr.ParseChain(b); err == nil {
			again, err := ottr.ParseChain(ottr.EncodeChain(chain))
			if err != nil || len(again) != len(chain) {
				t.Fatalf("a parsed chain does not read back: %v", err)
			}
			for i := range chain {
				if !bytes.Equal(again[i].Raw, chain[i].Raw) {
					t.Fatalf("certificate %d changed in a round trip", i)
				}
			}
		}
		csr, err := ottr.ParseCSR(b)
		if err != nil {
			return
		}
		_ = ottr.CSRNames(csr)
		err = ottr.CheckCSR(csr, strings.Split(names, ","), ottr.CSRPolicy{})
		if err != nil {
			if ottr.ErrorCode(err) != ottr.EINVALID || len(ottr.ErrorProblems(err)) == 0 {
				t.Fatalf("policy refusal %q: want EINVALID with problems", err)
			}
			for _, p := range ottr.ErrorProblems(err) {
				if !strings.HasPrefix(p.Field, "csr.") {
					t.Fatalf("problem %+v does not name the CSR part", p)
				}
			}
		}
	})
}
