package junos_test

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/sim/junos"
)

// TestJWebLoginPage: J-Web answers a browser without a session with its
// login page (Appweb's Server header, the Juniper Web Device Manager
// title), serves it with the certificate J-Web is configured with, and
// refuses what it does not model.
func TestJWebLoginPage(t *testing.T) {
	dev, err := junos.Start("netops", "Netops.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the system-generated certificate
	resp, err := hc.Get("https://" + dev.WebAddr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Server"), "Embedthis-Appweb/") ||
		!strings.Contains(string(body), "<title>Log In - Juniper Web Device Manager</title>") || !strings.Contains(string(body), "srx340") {
		t.Errorf("GET /: %d Server %q\n%s", resp.StatusCode, resp.Header.Get("Server"), body)
	}
	if resp.TLS == nil || resp.TLS.PeerCertificates[0].Subject.CommonName != "srx1" {
		t.Errorf("J-Web does not serve the system-generated certificate")
	}
	for path, want := range map[string]int{"/api/": 404, "/jweb/": 404} {
		if resp, err := hc.Get("https://" + dev.WebAddr + path); err != nil || resp.StatusCode != want {
			t.Errorf("GET %s: %v %v", path, resp, err)
		} else {
			resp.Body.Close()
		}
	}
	resp, err = hc.Post("https://"+dev.WebAddr+"/", "application/x-www-form-urlencoded", strings.NewReader("username=netops&password=x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("POST /: %d, want 405 (logins are not modelled)", resp.StatusCode)
	}
}
