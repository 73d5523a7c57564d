package bigip

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

// FuzzDeviceAnswers has the driver read arbitrary iControl REST answers
// (one per request, NUL-separated) while it logs in, makes a CSR and reads
// certificates and profiles: nothing panics, every error is classified
// and repeats no credential, and a CSR is only returned with names.
func FuzzDeviceAnswers(f *testing.F) {
	csr, _ := testpki.CSR("lb01.example.com")
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})
	for _, s := range []string{
		`{"token":{"token":"F5TOKEN1"}}` + "\x00{}\x00{}\x00" + string(csrPEM),
		`{"code":401,"message":"Authentication failed. Uri:/mgmt/shared/authn/login Referrer:192.0.2.9"}`,
		`{"token":{"token":"F5TOKEN1"}}` + "\x00" + `{"items":[{"name":"ottr-1","fullPath":"/Common/ottr-1","certificate":"-----BEGIN CERTIFICATE-----"}]}`,
		`{"token":{"token":"F5TOKEN1"}}` + "\x00" + `{"cert":"/Common/a.crt","key":"/Common/a.key","chain":"/Common/ca.crt"}`,
		`<html>Configuration Utility restarting...</html>`,
	} {
		f.Add([]byte(s), uint16(100))
	}
	asset := &ottr.Asset{SystemName: "lb01.example.com", CommonName: "lb01.example.com", IPAddress: "192.0.2.1", CertificateValidation: true}
	f.Fuzz(func(t *testing.T, data []byte, status uint16) {
		d, err := New(Config{Asset: asset, Profiles: []string{"/Common/clientssl-www"}, Serve: "192.0.2.1:443",
			Credential: ottr.Credential{"username": "admin", "password": fuzzPassword}})
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
		got, err := d.CSR(ctx, ottr.CSRRequest{CommonName: "lb01.example.com"})
		check("csr", err)
		if err == nil && len(ottr.CSRNames(got)) == 0 {
			t.Fatal("csr without names accepted")
		}
		_, err = d.installed(ctx)
		check("installed", err)
		_, err = d.profile(ctx, "/Common/clientssl-www")
		check("profile", err)
	})
}
