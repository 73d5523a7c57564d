package netscaler

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/internal/testpki"
)

const fuzzPassword = "fuzz-S3cret-pw"

// FuzzDeviceAnswers has the driver read arbitrary NITRO answers (one per
// request, NUL-separated) while it logs in, makes a CSR and lists pairs
// and bindings: nothing panics, every error is classified and repeats no
// credential, a CSR is only returned with names, and no answer sends the
// session to another host.
func FuzzDeviceAnswers(f *testing.F) {
	csr, _ := testpki.CSR("adc01.example.com", "adc01.example.com")
	csrFile := base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw}))
	login := `{"errorcode":0,"message":"Done","severity":"NONE","sessionid":"##0A1B2C"}`
	for _, s := range []string{
		login + "\x00\x00\x00" + `{"errorcode":0,"message":"Done","severity":"NONE","systemfile":[{"filename":"x.csr","filecontent":"` + csrFile + `","fileencoding":"BASE64"}]}`,
		`{ "errorcode": 354, "message": "Invalid username or password", "severity": "ERROR" }`,
		login + "\x00" + `{ "errorcode": 444, "message": "Session expired or killed. Please login again", "severity": "ERROR" }`,
		login + "\x00" + `{"errorcode":0,"sslcertkey":[{"certkey":"a","cert":"/nsconfig/ssl/a.crt","serial":"0A","key":"a.key"}]}`,
		login + "\x00" + `{"errorcode":0,"sslvserver_sslcertkey_binding":[{"vservername":"vs","certkeyname":"a","ca":false}]}`,
		`<html>503 Service Unavailable</html>`,
	} {
		f.Add([]byte(s), uint16(100))
	}
	asset := &ottr.Asset{SystemName: "adc01.example.com", CommonName: "adc01.example.com", IPAddress: "192.0.2.1", CertificateValidation: true}
	f.Fuzz(func(t *testing.T, data []byte, status uint16) {
		d, err := New(Config{Asset: asset, VServers: []string{"vs"}, Serve: "192.0.2.1:443",
			Subject:    ottr.Subject{Country: "US", State: "CA", Organization: "Example"},
			Credential: ottr.Credential{"username": "admin", "password": fuzzPassword}})
		if err != nil {
			t.Fatal(err)
		}
		replies := drivertest.SplitReplies(data, status)
		d.client = &http.Client{Transport: replies}
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
		got, err := d.CSR(ctx, ottr.CSRRequest{CommonName: "adc01.example.com", KeyType: "p256"})
		check("csr", err)
		if err == nil && len(ottr.CSRNames(got)) == 0 {
			t.Fatal("csr without names accepted")
		}
		_, err = d.pairs(ctx)
		check("pairs", err)
		_, err = d.boundTo(ctx, "vs")
		check("bindings", err)
		for _, h := range replies.Hosts() {
			if h != "192.0.2.1:443" {
				t.Fatalf("a request went to %s", h)
			}
		}
	})
}
