package ottr_test

import (
	"encoding/pem"
	"errors"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
)

func TestChainPEM(t *testing.T) {
	ca := testpki.NewCA("chain test")
	csr, _ := testpki.CSR("a.example.com", "a.example.com")
	chain := ca.Sign(csr, 0)
	// A key block before the chain (as in a served.pem) is skipped.
	b := append(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1}}), ottr.EncodeChain(chain)...)
	got, err := ottr.ParseChain(b)
	if err != nil || len(got) != 2 || !got[0].Equal(chain[0]) || !got[1].Equal(chain[1]) {
		t.Fatalf("ParseChain = %v, %v", got, err)
	}
	if _, err := ottr.ParseChain([]byte("no pem")); !errors.Is(err, ottr.ErrNoCertificate) {
		t.Errorf("no PEM: %v", err)
	}
	bad := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})
	if _, err := ottr.ParseChain(bad); err == nil || errors.Is(err, ottr.ErrNoCertificate) {
		t.Errorf("broken certificate: %v", err)
	}
	// Said in words, without encoding/asn1's structure dump.
	broken := append(ottr.EncodeChain(chain[:1]), bad...)
	if _, err := ottr.ParseChain(broken); err == nil || err.Error() != "certificate 2 of the PEM does not parse: its DER encoding is damaged or of another kind of object" {
		t.Errorf("broken second certificate: %v", err)
	}
	cut := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw[:len(csr.Raw)/2]})
	if _, err := ottr.ParseCSR(cut); err == nil || err.Error() != "the CERTIFICATE REQUEST does not parse: it is cut short" {
		t.Errorf("CSR cut short: %v", err)
	}
}
