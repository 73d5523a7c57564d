package fortigate

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/internal/testpki"
)

const fuzzToken = "FuzzT0ken9zYxWvUtSrQpOnMlKjIhG"

// FuzzDeviceAnswers has the driver read arbitrary REST API answers (one
// per request, NUL-separated) while it makes a request, installs, reads
// its bindings and restores: nothing panics, every error is classified
// (never an uncoded internal error) and repeats no token, a request is
// only returned when it has the names asked for, and every request goes
// to the configured address.
func FuzzDeviceAnswers(f *testing.F) {
	csr, _ := testpki.CSR("fgt01.example.com", "fgt01.example.com")
	csrPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw}))
	entry, _ := json.Marshal(map[string]any{"status": "success", "http_status": 200,
		"results": []any{map[string]any{"name": "ottr-1", "source": "user", "csr": csrPEM, "certificate": ""}}})
	ok := `{"http_method":"POST","status":"success","http_status":200}`
	list := `{"status":"success","http_status":200,"results":[{"name":"ottr-1","source":"user"}]}`
	for _, s := range []string{
		list + "\x00" + ok + "\x00" + string(entry),
		`{"http_method":"GET","status":"error","http_status":401}`,
		`{"status":"error","http_status":500,"error":-23,"cli_error":"The entry is used by other 1 entries\nCommand fail. Return code -23\n"}`,
		`{"status":"error","http_status":403,"cli_error":"` + fuzzToken + `"}`,
		`{"status":"success","results":{"admin-server-cert":7}}`,
		`<html><body>502 Bad Gateway</body></html>`,
	} {
		f.Add([]byte(s), uint16(100))
	}
	asset := &ottr.Asset{SystemName: "fgt01.example.com", CommonName: "fgt01.example.com", IPAddress: "192.0.2.1", CertificateValidation: true}
	ca := testpki.NewCA("fuzz CA")
	chain := ca.Sign(csr, time.Hour)
	f.Fuzz(func(t *testing.T, data []byte, status uint16) {
		d, err := New(Config{Asset: asset, Credential: ottr.Credential{"api_token": fuzzToken}, Bind: []string{BindAdmin, BindSSLVPN},
			ServeTimeout: time.Millisecond, ServePoll: time.Millisecond, SSLVPNAddress: "192.0.2.1:10443"})
		if err != nil {
			t.Fatal(err)
		}
		replies := drivertest.SplitReplies(data, status)
		d.client = &http.Client{Transport: replies}
		d.probe = func(context.Context, string, string) ([]*x509.Certificate, error) {
			return nil, ottr.Errorf(ottr.EUNAVAILABLE, "no TLS in a fuzz test")
		}
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
			if s := drivertest.Leaks(err.Error(), fuzzToken); s != "" {
				t.Fatalf("%s: error %q repeats the token", what, err)
			}
		}
		got, err := d.CSR(ctx, ottr.CSRRequest{CommonName: "fgt01.example.com"})
		check("csr", err)
		if err == nil && !containsName(got, "fgt01.example.com") {
			t.Fatal("a request without the name asked for was accepted")
		}
		_, err = d.bound(ctx)
		check("bound", err)
		_, _, err = d.findKey(ctx, chain[0])
		check("findKey", err)
		check("restore", d.Restore(ctx, chain))
		_, err = d.vpnAddress(ctx)
		check("vpnAddress", err)
		for _, h := range replies.Hosts() {
			if h != "192.0.2.1:443" {
				t.Fatalf("a request went to %s", h)
			}
		}
	})
}

func containsName(csr *x509.CertificateRequest, name string) bool {
	for _, n := range csr.DNSNames {
		if n == name {
			return true
		}
	}
	return false
}
