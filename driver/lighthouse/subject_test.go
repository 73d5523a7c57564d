package lighthouse_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/lighthouse"
	"github.com/ottr-dev/ottr/internal/testpki"
)

// emailOf is the subject's PKCS #9 emailAddress.
func emailOf(n pkix.Name) string {
	for _, a := range n.Names {
		if a.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}) {
			v, _ := a.Value.(string)
			return v
		}
	}
	return ""
}

func contains(err error, s string) bool { return err != nil && strings.Contains(err.Error(), s) }

// TestSubjectFields: the configured subject reaches the request the
// Lighthouse makes, and the upload keeps that request (a PUT without
// https.csr would cancel it and the certificate would match no key).
func TestSubjectFields(t *testing.T) {
	t.Parallel()
	dev := start(t)
	subj := lighthouse.Subject{Country: "AU", State: "Queensland", Locality: "Toowong", Organization: "Example Pty Ltd",
		OrgUnit: "Network Operations", Email: "noc@example.com"}
	d, err := lighthouse.New(lighthouse.Config{Address: dev.Addr, Asset: consoleAsset(), Subject: subj,
		Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}})
	if err != nil {
		t.Fatal(err)
	}
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	s := csr.Subject
	if s.CommonName != "console01.example.com" || strings.Join(s.Country, "") != "AU" || strings.Join(s.Province, "") != "Queensland" ||
		strings.Join(s.Locality, "") != "Toowong" || strings.Join(s.Organization, "") != "Example Pty Ltd" ||
		strings.Join(s.OrganizationalUnit, "") != "Network Operations" || emailOf(s) != "noc@example.com" {
		t.Errorf("request subject %q", s.String())
	}
	chain := testpki.NewCA("Corp CA").Sign(csr, time.Hour)
	if err := d.Install(t.Context(), chain); err != nil {
		t.Fatal(err)
	}
	serves(t, dev, "after the upload", chain[0])
}

func TestSubjectChecked(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		subj  lighthouse.Subject
		field string
	}{
		{lighthouse.Subject{Country: "Australia"}, "subject.country"},
		{lighthouse.Subject{Email: "noc.example.com"}, "subject.email"},
		{lighthouse.Subject{OrgUnit: strings.Repeat("x", 65)}, "subject.org_unit"},
	} {
		probs := lighthouse.Config{Subject: tc.subj}.Check()
		if len(probs) != 1 || probs[0].Field != tc.field {
			t.Errorf("%+v: problems %v, want one for %s", tc.subj, probs, tc.field)
		}
	}
}

// The rotation's subject (CSRRequest.Subject) fills the fields the
// subject setting leaves empty; a field the setting has wins. Its key type
// is honoured where the Lighthouse can make it (RSA 2048 or 4096, RSA
// 2048 by default as Ottr asked), refused by name where it cannot, and
// made in Ottr with key_off_device.
func TestRequestSubjectAndKey(t *testing.T) {
	t.Parallel()
	dev := start(t)
	cred := ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}
	d, err := lighthouse.New(lighthouse.Config{Address: dev.Addr, Asset: consoleAsset(), Credential: cred,
		Subject: lighthouse.Subject{Organization: "Example Pty Ltd", Email: "noc@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	rotation := ottr.Subject{Country: "us", State: "California", Locality: "San Francisco", Organization: "Example Inc",
		OrganizationalUnit: "Security", Email: "pki@example.com"}
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com", Subject: rotation})
	if err != nil {
		t.Fatal(err)
	}
	s := csr.Subject
	if strings.Join(s.Country, "") != "US" || strings.Join(s.Province, "") != "California" || strings.Join(s.Locality, "") != "San Francisco" ||
		strings.Join(s.Organization, "") != "Example Pty Ltd" || strings.Join(s.OrganizationalUnit, "") != "Security" || emailOf(s) != "noc@example.com" {
		t.Errorf("request subject %q", s.String())
	}
	if k, ok := csr.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
		t.Errorf("default key %T, want RSA 2048", csr.PublicKey)
	}
	chain := testpki.NewCA("Corp CA").Sign(csr, time.Hour)
	if err := d.Install(t.Context(), chain); err != nil {
		t.Fatal(err)
	}
	serves(t, dev, "after the upload", chain[0])

	csr, err = d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com", KeyType: "rsa4096"})
	if k, ok := csr.PublicKey.(*rsa.PublicKey); err != nil || !ok || k.N.BitLen() != 4096 {
		t.Errorf("rsa4096: %v", err)
	}
	for _, kt := range []string{"p256", "rsa3072"} {
		if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com", KeyType: kt}); ottr.ErrorCode(err) != ottr.EINVALID || !contains(err, kt) {
			t.Errorf("%s on the device: %v", kt, err)
		}
	}
	if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com", Subject: ottr.Subject{Country: "USA"}}); !contains(err, "subject.country") {
		t.Errorf("a bad rotation subject: %v", err)
	}

	off, err := lighthouse.New(lighthouse.Config{Address: dev.Addr, Asset: consoleAsset(), Credential: cred, KeyOffDevice: true})
	if err != nil {
		t.Fatal(err)
	}
	csr, err = off.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com", KeyType: "p384", Subject: rotation})
	if err != nil {
		t.Fatal(err)
	}
	if k, ok := csr.PublicKey.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P384() || strings.Join(csr.Subject.Organization, "") != "Example Inc" || emailOf(csr.Subject) != "pki@example.com" {
		t.Errorf("key_off_device: key %T, subject %q", csr.PublicKey, csr.Subject.String())
	}
}
