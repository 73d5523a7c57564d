package fortigate_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/sim/fortigate"
)

// TestServerHeaderAndPortal: every answer, the REST API's refusals
// included, carries FortiOS's masked Server header, and the SSL-VPN
// portal's root sends a browser to /remote/login with a script, as the
// device does.
func TestServerHeaderAndPortal(t *testing.T) {
	d, err := fortigate.Start("token-0123456789")
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the factory certificate
	get := func(url string) (int, http.Header, string) {
		t.Helper()
		resp, err := hc.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	for _, url := range []string{"https://" + d.Addr + "/", "https://" + d.Addr + "/api/v2/monitor/system/status", "https://" + d.VPNAddr + "/"} {
		if _, h, _ := get(url); h.Get("Server") != "xxxxxxxx-xxxxx" {
			t.Errorf("%s: Server %q", url, h.Get("Server"))
		}
	}
	if code, _, body := get("https://" + d.VPNAddr + "/"); code != 200 || !strings.Contains(body, `top.location="/remote/login";`) {
		t.Errorf("portal root: %d %s", code, body)
	}
	if code, _, body := get("https://" + d.VPNAddr + "/remote/login"); code != 200 || !strings.Contains(body, "SSL-VPN") {
		t.Errorf("portal login: %d %s", code, body)
	}
	if code, _, _ := get("https://" + d.Addr + "/api/v2/monitor/system/status"); code != 401 {
		t.Errorf("status without a token: %d", code)
	}
}
