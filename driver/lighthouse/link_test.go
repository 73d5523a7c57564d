package lighthouse_test

import (
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestLinkToAnotherName: a Lighthouse that names itself differently in
// its links (address translation, its own hostname) is asked at the
// configured address, for the path its link gives.
func TestLinkToAnotherName(t *testing.T) {
	t.Parallel()
	dev := start(t)
	dev.SetLinkHost("lighthouse.internal.example:443")
	d := newDriver(t, dev, consoleAsset(), false, nil)
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com"})
	if err != nil || csr.Subject.CommonName != "console01.example.com" {
		t.Fatalf("CSR through a link to another name: %v", err)
	}
}
