package memdevice_test

import (
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/sim/memdevice"
)

func TestConformance(t *testing.T) {
	d := &memdevice.Device{}
	drivertest.Run(t, drivertest.Harness{
		New:        func(*testing.T) ottr.Driver { return d },
		CommonName: "mem.example.com", SANs: []string{"mem.example.com", "alt.example.com"},
		KeyTypes: ottr.KeyTypes,
	})
}

// The device's request carries the subject fields asked for, beside the
// common name.
func TestSubject(t *testing.T) {
	d := &memdevice.Device{}
	s := ottr.Subject{Country: "US", State: "CA", Locality: "San Francisco", Organization: "Example, Inc",
		OrganizationalUnit: "Security", Email: "security@example.com"}
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "mem.example.com", DNSNames: []string{"mem.example.com"}, KeyType: "rsa2048", Subject: s})
	if err != nil {
		t.Fatal(err)
	}
	if err := ottr.CheckCSR(csr, []string{"mem.example.com"}, ottr.CSRPolicy{KeyType: "rsa2048", Subject: s}); err != nil {
		t.Error(err)
	}
	if csr.Subject.CommonName != "mem.example.com" || len(csr.Subject.OrganizationalUnit) != 1 || csr.Subject.OrganizationalUnit[0] != "Security" {
		t.Errorf("subject %s", csr.Subject)
	}
}
