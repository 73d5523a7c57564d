package ottr_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/pem"
	"slices"
	"testing"

	"github.com/ottr-dev/ottr"
)

func TestCSRRequestHelpers(t *testing.T) {
	r := ottr.CSRRequest{CommonName: "a.example.com", DNSNames: []string{"b.example.com", "a.example.com", "b.example.com"}}
	if got := r.Names(); !slices.Equal(got, []string{"a.example.com", "b.example.com"}) {
		t.Errorf("Names = %v", got)
	}
	if got := r.OtherNames(); !slices.Equal(got, []string{"b.example.com"}) {
		t.Errorf("OtherNames = %v", got)
	}
	key, csr, err := ottr.MakeCSR(r)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := key.(*ecdsa.PrivateKey); !ok || !ottr.SamePublicKey(key.Public(), csr.PublicKey) || csr.CheckSignature() != nil {
		t.Errorf("MakeCSR: %T", key)
	}
	if m := r.MissingNames(csr); len(m) != 0 {
		t.Errorf("MakeCSR's CSR misses %v", m)
	}
	short := *csr
	short.DNSNames = []string{"a.example.com"}
	if m := r.MissingNames(&short); !slices.Equal(m, []string{"b.example.com", "b.example.com"}) {
		t.Errorf("MissingNames = %v", m)
	}
	if k, err := ottr.NewKey("rsa2048"); err != nil || k.(*rsa.PrivateKey).N.BitLen() != 2048 {
		t.Errorf("rsa2048: %v", err)
	}
	if _, err := ottr.NewKey("dsa"); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("unknown key type: %v", err)
	}
	// ParseCSR skips text before the block, as a device's CLI prints it.
	out := append([]byte("Generated certificate request\n"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})...)
	if got, err := ottr.ParseCSR(out); err != nil || !bytes.Equal(got.Raw, csr.Raw) {
		t.Errorf("ParseCSR: %v", err)
	}
	if _, err := ottr.ParseCSR([]byte("error: no key")); err != ottr.ErrNoCSR {
		t.Errorf("no CSR: %v", err)
	}
	if h := (&ottr.Asset{SystemName: "x.example.com"}).Host(); h != "x.example.com" {
		t.Errorf("Host = %q", h)
	}
	if h := (&ottr.Asset{SystemName: "x.example.com", IPAddress: "10.0.0.1"}).Host(); h != "10.0.0.1" {
		t.Errorf("Host with IP = %q", h)
	}
}
