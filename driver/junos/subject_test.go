package junos_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/asn1"
	"slices"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/junos"
)

var subject = ottr.Subject{Country: "US", State: "California", Locality: "San Francisco", Organization: "Example Inc", OrganizationalUnit: "Net Ops"}

// The device makes the key type asked for, with the subject fields in its
// request; what Junos cannot put in a request it makes is refused by
// name, and key_off_device carries the email in the subject instead.
func TestRequestSubjectAndKey(t *testing.T) {
	t.Parallel()
	dev, kh := start(t)
	d := newDriver(t, dev, kh)
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com", KeyType: "rsa3072", Subject: subject})
	if err != nil {
		t.Fatal(err)
	}
	if got := csr.Subject.String(); got != "CN=srx1.example.com,OU=Net Ops,O=Example Inc,L=San Francisco,ST=California,C=US" {
		t.Errorf("subject %s", got)
	}
	if k, ok := csr.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 3072 {
		t.Errorf("key %T, want RSA 3072", csr.PublicKey)
	}
	if !slices.ContainsFunc(dev.RPCs(), func(r string) bool {
		return strings.HasPrefix(r, "request security pki generate-key-pair ") && strings.HasSuffix(r, " size 3072 type rsa")
	}) {
		t.Errorf("key pair not made on the device: %v", dev.RPCs())
	}
	if csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com", KeyType: "p384"}); err != nil || csr.PublicKey.(*ecdsa.PublicKey).Curve != elliptic.P384() {
		t.Errorf("p384: %v", err)
	}

	withEmail := subject
	withEmail.Email = "pki@example.com"
	if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com", Subject: withEmail}); ottr.ErrorCode(err) != ottr.EINVALID ||
		!strings.Contains(err.Error(), "pki@example.com") || !strings.Contains(err.Error(), "key_off_device") {
		t.Errorf("email: %v", err)
	}
	for field, s := range map[string]ottr.Subject{
		"subject.organization": {Organization: `Example, "Inc"`},
		"subject.country":      {Country: "USA"},
	} {
		_, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com", Subject: s})
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), field) {
			t.Errorf("%s: %v", field, err)
		}
	}

	c := config(dev, kh, srxAsset(), nil)
	c.KeyOffDevice = true
	off, err := junos.New(c)
	if err != nil {
		t.Fatal(err)
	}
	csr, err = off.CSR(t.Context(), ottr.CSRRequest{CommonName: "srx1.example.com", KeyType: "rsa2048", Subject: withEmail})
	if err != nil {
		t.Fatal(err)
	}
	var email string
	for _, a := range csr.Subject.Names {
		if a.Type.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}) {
			email, _ = a.Value.(string)
		}
	}
	if email != "pki@example.com" || !slices.Equal(csr.Subject.Organization, []string{"Example Inc"}) || len(csr.EmailAddresses) != 0 {
		t.Errorf("key_off_device subject %v (email %q), alternative emails %v", csr.Subject, email, csr.EmailAddresses)
	}
	if k, ok := csr.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
		t.Errorf("key_off_device key %T", csr.PublicKey)
	}
}
