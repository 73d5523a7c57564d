package rotate_test

import (
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/rotate"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	ca, other := testpki.NewCA("Issuing CA"), testpki.NewCA("Someone Else")
	csr, _ := testpki.CSR("web.example.com", "web.example.com")
	issued := ca.Sign(csr, 24*time.Hour)
	reissued := ca.Sign(csr, 24*time.Hour) // same key, another serial
	csr2, _ := testpki.CSR("web.example.com", "web.example.com")
	otherKey := ca.Sign(csr2, 24*time.Hour)
	foreign := other.Sign(csr, 24*time.Hour)
	now := time.Now()
	orgs := []string{"Ottr Test CA"}

	cases := []struct {
		name   string
		served []*x509.Certificate
		roots  *x509.CertPool
		orgs   []string
		want   []string
	}{
		{"the new certificate", issued, ca.Pool(), orgs, nil},
		{"old serial", reissued, ca.Pool(), orgs, []string{"not the new"}},
		{"other key", otherKey, ca.Pool(), nil, []string{"not the new", "not the CSR's key"}},
		{"foreign chain", foreign, ca.Pool(), nil, []string{"not the new", "does not lead to the CA's roots"}},
		{"issuer organization", issued, ca.Pool(), []string{"Let's Encrypt"}, []string{"issuer organization"}},
	}
	for _, tc := range cases {
		errs := rotate.Verify(tc.served, issued, tc.roots, tc.orgs, now)
		if len(tc.want) == 0 && len(errs) > 0 {
			t.Errorf("%s: %v", tc.name, errs)
		}
		joined := strings.Join(errs, "; ")
		for _, w := range tc.want {
			if !strings.Contains(joined, w) {
				t.Errorf("%s: %q lacks %q", tc.name, joined, w)
			}
		}
	}
	// Expired by the time it is checked.
	if errs := rotate.Verify(issued, issued, ca.Pool(), nil, now.Add(48*time.Hour)); len(errs) == 0 {
		t.Error("an expired certificate verified")
	}
}
