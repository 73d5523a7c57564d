package acme_test

import (
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	"github.com/ottr-dev/ottr/internal/acmetest"
)

// The order's URL is handed over as soon as the CA creates it, and a
// signed order's certificate can be collected again from it — what a
// rotation interrupted between signing and recording needs.
func TestResumeOrderCollectsTheSignedCertificate(t *testing.T) {
	e := newEnv(t, acmetest.Options{})
	e.delegate("fw1.example.com")
	is := e.issuer(map[string]acme.CA{"pebble": e.ca()})
	csr, _ := newCSR(t, "fw1.example.com", "fw1.example.com")
	var orders []string
	req := ottr.IssueRequest{CA: "pebble", CSR: csr, OnOrder: func(u string) { orders = append(orders, u) }}
	chain, err := is.Issue(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(orders) != 1 || !strings.HasPrefix(orders[0], "https://") {
		t.Fatalf("orders reported: %q, want the one order's URL", orders)
	}
	issued := len(e.pebble.Issued())
	again, err := is.ResumeOrder(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr}, orders[0])
	if err != nil {
		t.Fatal(err)
	}
	if again == nil || again[0].SerialNumber.Cmp(chain[0].SerialNumber) != 0 {
		t.Fatalf("resumed order gave %v, want serial %x", again, chain[0].SerialNumber)
	}
	if n := len(e.pebble.Issued()); n != issued {
		t.Errorf("collecting the order signed %d more certificates", n-issued)
	}
	// The certificate is checked against the CSR given: another key's
	// CSR does not get it.
	other, _ := newCSR(t, "fw1.example.com", "fw1.example.com")
	if _, err := is.ResumeOrder(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: other}, orders[0]); err == nil {
		t.Error("a certificate for another key was accepted")
	}
	// An order the CA does not know (expired, removed): nothing to
	// collect, the caller orders anew.
	gone := orders[0][:strings.LastIndex(orders[0], "/")+1] + "nope"
	if got, err := is.ResumeOrder(t.Context(), ottr.IssueRequest{CA: "pebble", CSR: csr}, gone); err != nil || got != nil {
		t.Errorf("unknown order: %v %v, want nothing", got, err)
	}
}
