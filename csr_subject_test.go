package ottr

import (
	"bytes"
	"strings"
	"testing"
)

// MakeCSR puts every subject field in the request, the email as PKCS #9
// emailAddress, and none when the subject is empty.
func TestMakeCSRSubject(t *testing.T) {
	s := Subject{Country: "US", State: "California", Locality: "San Francisco", Organization: "Example Inc",
		OrganizationalUnit: "NetOps", Email: "noc@example.com"}
	_, csr, err := MakeCSR(CSRRequest{CommonName: "fw1.example.com", KeyType: "rsa2048", Subject: s})
	if err != nil {
		t.Fatal(err)
	}
	got := csr.Subject.String()
	for _, want := range []string{"CN=fw1.example.com", "OU=NetOps", "O=Example Inc", "L=San Francisco", "ST=California", "C=US", "1.2.840.113549.1.9.1="} {
		if !strings.Contains(got, want) {
			t.Errorf("subject %q lacks %q", got, want)
		}
	}
	// emailAddress is an IA5String (tag 22), as RFC 2985 wants.
	if !bytes.Contains(csr.RawSubject, append([]byte{22, byte(len(s.Email))}, s.Email...)) {
		t.Errorf("the email is not an IA5String in the raw subject %x", csr.RawSubject)
	}
	if csr.PublicKeyAlgorithm.String() != "RSA" {
		t.Errorf("key %s, want RSA", csr.PublicKeyAlgorithm)
	}
	_, csr, err = MakeCSR(CSRRequest{CommonName: "fw1.example.com"})
	if err != nil || csr.Subject.String() != "CN=fw1.example.com" {
		t.Errorf("empty subject: %q %v", csr.Subject.String(), err)
	}
}

// Subject.Missing names each requested field a request lacks or holds
// otherwise, the email among them; a field must hold exactly the value.
func TestSubjectMissing(t *testing.T) {
	want := Subject{Country: "US", Organization: "Example Inc", Email: "noc@example.com"}
	_, csr, err := MakeCSR(CSRRequest{CommonName: "fw1.example.com", Subject: Subject{Country: "DE", Organization: "Example Inc"}})
	if err != nil {
		t.Fatal(err)
	}
	got := want.Missing(csr.Subject)
	if len(got) != 2 || got[0] != `country "US" (the request has "DE")` || got[1] != `email "noc@example.com" (the request has "")` {
		t.Errorf("Missing = %q", got)
	}
	_, csr, _ = MakeCSR(CSRRequest{CommonName: "fw1.example.com", Subject: want})
	if got := want.Missing(csr.Subject); len(got) != 0 {
		t.Errorf("a request with every field: %q", got)
	}
}
