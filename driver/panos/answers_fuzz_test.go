package panos

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/internal/testpki"
)

const fuzzPassword = "fuzz-S3cret-pw"

// FuzzDeviceAnswers has the driver read arbitrary XML API answers (one per
// request, NUL-separated) while it logs in, makes a CSR and reads the
// configuration: nothing panics, every error is classified (never an
// uncoded internal error) and repeats no credential, and a CSR is only
// returned when it has the names asked for.
func FuzzDeviceAnswers(f *testing.F) {
	csr, _ := testpki.CSR("fw01.example.com")
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})
	ok := `<response status="success"><result><msg>ok</msg></result></response>`
	for _, s := range []string{
		`<response status="success"><result><key>LUFRPT1</key></result></response>` + "\x00" + ok + "\x00" + string(csrPEM),
		`<response status="error" code="403"><result><msg>Invalid Credential</msg></result></response>`,
		`<response status="success"><result><certificate><entry name="ottr-1"><csr>x</csr><certificate>-----BEGIN CERTIFICATE-----</certificate></entry></certificate></result></response>`,
		`<response status="error" code="16"><msg><line>not allowed</line><line>by role</line></msg></response>`,
		`<html><body>502 Bad Gateway</body></html>`,
	} {
		f.Add([]byte(s), uint16(100))
	}
	asset := &ottr.Asset{SystemName: "fw01.example.com", CommonName: "fw01.example.com", IPAddress: "192.0.2.1", CertificateValidation: true}
	f.Fuzz(func(t *testing.T, data []byte, status uint16) {
		d, err := New(Config{Asset: asset, Credential: ottr.Credential{"username": "admin", "password": fuzzPassword}})
		if err != nil {
			t.Fatal(err)
		}
		d.client = &http.Client{Transport: drivertest.SplitReplies(data, status)}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		check := func(what string, err error) {
			t.Helper()
			if ctx.Err() != nil {
				t.Fatalf("%s: waited for the deadline on in-memory answers", what)
			}
			if err == nil {
				return
			}
			if ottr.ErrorCode(err) == ottr.EINTERNAL {
				t.Fatalf("%s: unclassified error %q", what, err)
			}
			if s := drivertest.Leaks(err.Error(), fuzzPassword); s != "" {
				t.Fatalf("%s: error %q repeats the secret %q", what, err, s)
			}
		}
		got, err := d.CSR(ctx, ottr.CSRRequest{CommonName: "fw01.example.com"})
		check("csr", err)
		if err == nil && len(ottr.CSRNames(got)) == 0 {
			t.Fatal("csr without names accepted")
		}
		_, err = d.certs(ctx)
		check("certs", err)
		_, err = d.bound(ctx)
		check("bound", err)
		_, _, err = d.post(ctx, url.Values{"type": {"op"}}, []byte("file"))
		check("post file", err)
	})
}
