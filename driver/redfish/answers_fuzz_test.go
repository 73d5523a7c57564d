package redfish

import (
	"context"
	"encoding/pem"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/internal/testpki"
)

const fuzzPassword = "fuzz-S3cret-pw"

// FuzzDeviceAnswers has the driver read arbitrary Redfish answers (one per
// request, NUL-separated) while it logs in, discovers the collection,
// makes a CSR and installs: nothing panics, every error is classified and
// repeats no credential, a CSR is only returned with the names asked for,
// and no request leaves for another host.
func FuzzDeviceAnswers(f *testing.F) {
	csr, _ := testpki.CSR("bmc01.example.com", "bmc01.example.com")
	csrPEM := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})), "\n", `\n`)
	root := `{"Vendor":"Dell","CertificateService":{"@odata.id":"/redfish/v1/CertificateService"},"Managers":{"@odata.id":"/redfish/v1/Managers"},"Links":{"Sessions":{"@odata.id":"https://evil.example/redfish/v1/SessionService/Sessions"}}}`
	svc := `{"Actions":{"#CertificateService.GenerateCSR":{"target":"/redfish/v1/CertificateService/Actions/CertificateService.GenerateCSR"},"#CertificateService.ReplaceCertificate":{"target":"https://evil.example/x"}}}`
	for _, s := range []string{
		root + "\x00{}\x00" + root + "\x00" + svc + "\x00" + `{"Members":[{"@odata.id":"/redfish/v1/Managers/1"}]}` + "\x00" +
			`{"Id":"1","NetworkProtocol":{"@odata.id":"/redfish/v1/Managers/1/NetworkProtocol"}}` + "\x00" +
			`{"HTTPS":{"Certificates":{"@odata.id":"/redfish/v1/Managers/1/NetworkProtocol/HTTPS/Certificates"}}}` + "\x00{}\x00" +
			`{"CSRString":"` + csrPEM + `"}`,
		`{"error":{"code":"Base.1.16.0.NoValidSession","message":"x","@Message.ExtendedInfo":[{"MessageId":"Base.1.16.0.PropertyValueTypeError","Message":"The value 'fuzz-S3cret-pw' is wrong"}]}}`,
		`<html><body>502 Bad Gateway</body></html>`,
		`{"Members":[{"@odata.id":"//evil.example/redfish/v1/x"}]}`,
	} {
		f.Add([]byte(s), uint16(100))
	}
	asset := &ottr.Asset{SystemName: "bmc01.example.com", CommonName: "bmc01.example.com", IPAddress: "192.0.2.1", CertificateValidation: true}
	f.Fuzz(func(t *testing.T, data []byte, status uint16) {
		for _, auth := range []string{"session", "basic"} {
			d, err := New(Config{Asset: asset, Auth: auth, TaskPoll: time.Millisecond, TaskTimeout: 20 * time.Millisecond,
				Credential: ottr.Credential{"username": "root", "password": fuzzPassword}})
			if err != nil {
				t.Fatal(err)
			}
			replies := drivertest.SplitReplies(data, status)
			d.client = &http.Client{Transport: replies}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
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
					t.Fatalf("%s: error %q repeats the secret", what, err)
				}
			}
			got, err := d.CSR(ctx, ottr.CSRRequest{CommonName: "bmc01.example.com"})
			check("csr", err)
			if err == nil && (len(got.DNSNames) == 0 || got.DNSNames[0] != "bmc01.example.com") {
				t.Fatal("a CSR without the name asked for was accepted")
			}
			if svc, err := d.discover(ctx); err == nil {
				_, err = d.members(ctx, svc)
				check("members", err)
				check("upload", d.upload(ctx, svc, []member{{uri: "/redfish/v1/x"}}, testpki.NewCA("x").Sign(csr, time.Hour)))
			}
			cancel()
			for _, h := range replies.Hosts() {
				if h != "192.0.2.1:443" {
					t.Fatalf("a request went to %s", h)
				}
			}
		}
	})
}
