package lighthouse

import (
	"context"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/internal/testpki"
)

const fuzzPassword = "fuzz-S3cret-pw"

// FuzzDeviceAnswers has the driver read arbitrary Lighthouse REST answers
// (one per request, NUL-separated) while it logs in and makes a CSR, on
// the device and off it: nothing panics, every error is classified and
// repeats no credential, no answer leads a request (with the session
// token) to another host, and a CSR is only returned for the common name.
func FuzzDeviceAnswers(f *testing.F) {
	csr, _ := testpki.CSR("lh01.example.com")
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})
	login := `{"state":"authenticated","session":"LHSESSION1"}`
	for _, s := range []string{
		login + "\x00" + `{"https":{"csr":{"csr":"https://192.0.2.1:443/api/v3.7/services/https/csr"}}}` + "\x00" + string(csrPEM),
		login + "\x00" + `{"https":{"csr":{"csr":"https://evil.example.net/steal"}}}` + "\x00" + string(csrPEM),
		login + "\x00" + `{"https":{"csr":{"csr":"https://192.0.2.1:443@evil.example.net/"}}}`,
		`{"state":"otp_required","session":""}`,
		`{"error":[{"level":1,"type":7,"code":32,"text":"Permission denied","args":{"uuid":"abc"}}]}`,
	} {
		f.Add([]byte(s), uint16(100), false)
	}
	asset := &ottr.Asset{SystemName: "lh01.example.com", CommonName: "lh01.example.com", IPAddress: "192.0.2.1", CertificateValidation: true}
	f.Fuzz(func(t *testing.T, data []byte, status uint16, offDevice bool) {
		d, err := New(Config{Asset: asset, KeyOffDevice: offDevice, Credential: ottr.Credential{"username": "root", "password": fuzzPassword}})
		if err != nil {
			t.Fatal(err)
		}
		rp := drivertest.SplitReplies(data, status)
		d.client = &http.Client{Transport: rp}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		got, err := d.CSR(ctx, ottr.CSRRequest{CommonName: "lh01.example.com"})
		if ctx.Err() != nil {
			t.Fatal("waited for the deadline on in-memory answers")
		}
		if err != nil {
			if ottr.ErrorCode(err) == ottr.EINTERNAL {
				t.Fatalf("unclassified error %q", err)
			}
			if s := drivertest.Leaks(err.Error(), fuzzPassword); s != "" {
				t.Fatalf("error %q repeats the secret %q", err, s)
			}
		} else if got.Subject.CommonName != "lh01.example.com" {
			t.Fatalf("csr for %q accepted", got.Subject.CommonName)
		}
		for _, h := range rp.Hosts() {
			if h != "192.0.2.1:443" {
				t.Fatalf("a request went to %q, not the device", h)
			}
		}
	})
}
