package bigip_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the device's checksum
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/internal/testtool"
	"github.com/ottr-dev/ottr/sim/bigip"
)

// ansibleResult is the part of a registered module result asserted on.
type ansibleResult struct {
	Changed  bool             `json:"changed"`
	Failed   bool             `json:"failed"`
	Msg      string           `json:"msg"`
	Stdout   []string         `json:"stdout"`
	Checksum string           `json:"checksum"`
	Facts    map[string]any   `json:"system_info"`
	Certs    []map[string]any `json:"ssl_certs"`
	Keys     []map[string]any `json:"ssl_keys"`
	Profiles []map[string]any `json:"client_ssl_profiles"`
}

// TestAnsibleF5Modules runs F5's own Ansible collection (f5networks.f5_modules,
// as Debian ships it) against the simulator in one playbook and asserts
// what the modules report and what the device then holds: keys and
// certificates installed from the uploaded files (not new ones), a
// transaction of both, a profile bound and one created, a mismatched
// binding refused, tmsh through util/bash, facts, a renewal in place, the
// configuration saved, and no change on a second run.
func TestAnsibleF5Modules(t *testing.T) {
	py := testtool.NeedPython(t, "ansible_collections.f5networks.f5_modules", "ansible")

	dev, err := bigip.Start("admin", "Adm1n.Passw0rd", "clientssl-www")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()

	ca := testpki.NewCA("Corp CA")
	appCSR, appKey := testpki.CSR("app.example.com", "app.example.com")
	appChain := ca.Sign(appCSR, 24*time.Hour)
	renewed := ca.Sign(appCSR, 48*time.Hour)
	appKeyPEM, err := testpki.MarshalKey(appKey)
	if err != nil {
		t.Fatal(err)
	}
	// The second key is PKCS #1 RSA, the other form F5's clients upload.
	apiKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "api.example.com"}, DNSNames: []string{"api.example.com"}}, apiKey)
	apiCSR, _ := x509.ParseCertificateRequest(der)
	apiChain := ca.Sign(apiCSR, 24*time.Hour)
	apiKeyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(apiKey)})

	_, port, _ := strings.Cut(dev.Addr, ":")
	vars := map[string]any{"bigip_port": port, "bigip_user": "admin", "bigip_password": "Adm1n.Passw0rd",
		"app_key": string(appKeyPEM), "app_cert": string(ottr.EncodeChain(appChain[:1])), "ca_cert": string(ca.PEM()),
		"api_key": string(apiKeyPEM), "api_cert": string(ottr.EncodeChain(apiChain[:1])),
		"app_cert_renewed": string(ottr.EncodeChain(renewed[:1]))}
	rb := testtool.Playbook(t, py, "certificates.yml", vars, append(os.Environ(), "F5_TELEMETRY_OFF=true"))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("requests:\n%s", strings.Join(dev.Paths(), "\n"))
		}
	})
	var res map[string]ansibleResult
	if err := json.Unmarshal(rb, &res); err != nil {
		t.Fatalf("results: %v\n%s", err, rb)
	}

	sha := func(b []byte) string { s := sha1.Sum(b); return hex.EncodeToString(s[:]) } //nolint:gosec // the device's checksum
	// First run: every module changed the device.
	for _, n := range []string{"key", "cert", "ca", "keycert", "profile", "new_profile", "renewed", "save"} {
		if r := res[n]; !r.Changed || r.Failed {
			t.Errorf("%s: changed=%v failed=%v %s", n, r.Changed, r.Failed, r.Msg)
		}
	}
	// Second run: nothing to change.
	for _, n := range []string{"key_again", "cert_again", "keycert_again", "profile_again", "new_profile_again"} {
		if r := res[n]; r.Changed || r.Failed {
			t.Errorf("%s: changed=%v failed=%v %s (want no change)", n, r.Changed, r.Failed, r.Msg)
		}
	}
	if r := res["cert"]; r.Checksum != sha(ottr.EncodeChain(appChain[:1])) {
		t.Errorf("bigip_ssl_certificate reports checksum %q", r.Checksum)
	}

	// The keys are the uploaded ones, the certificates the uploaded ones.
	for _, c := range []struct {
		name string
		pub  any
		cert *x509.Certificate
	}{{"app", appKey.Public(), renewed[0]}, {"api", apiKey.Public(), apiChain[0]}} {
		k := dev.Key("/Common/" + c.name + ".key")
		if k == nil || !ottr.SamePublicKey(k.Public(), c.pub) {
			t.Errorf("/Common/%s.key is not the key uploaded", c.name)
		}
		if got := dev.Cert("/Common/" + c.name + ".crt"); len(got) != 1 || !got[0].Equal(c.cert) {
			t.Errorf("/Common/%s.crt is not the certificate uploaded", c.name)
		}
	}
	if got := dev.Cert("/Common/corp-ca.crt"); len(got) != 1 || !got[0].Equal(ca.Cert) {
		t.Error("/Common/corp-ca.crt is not the CA uploaded")
	}

	// Profiles: the existing one bound, the new one created; the
	// mismatched key refused with the device's message and nothing changed.
	if got, want := dev.Profile("clientssl-www"), (bigip.Profile{Cert: "/Common/app.crt", Key: "/Common/app.key", Chain: "/Common/corp-ca.crt"}); got != want {
		t.Errorf("clientssl-www binds %+v, want %+v", got, want)
	}
	if got, want := dev.Profile("clientssl-api"), (bigip.Profile{Cert: "/Common/api.crt", Key: "/Common/api.key", Chain: "none"}); got != want {
		t.Errorf("clientssl-api binds %+v, want %+v", got, want)
	}
	if r := res["mismatch"]; !r.Failed || r.Changed || !strings.Contains(r.Msg, "do not match") {
		t.Errorf("mismatched key: failed=%v changed=%v %q", r.Failed, r.Changed, r.Msg)
	}

	// The virtual server presents the renewed certificate and the chain.
	conn, err := tls.Dial("tcp", dev.VirtualAddr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading what is served
	if err != nil {
		t.Fatal(err)
	}
	peer := conn.ConnectionState().PeerCertificates
	conn.Close()
	if len(peer) != 2 || !peer[0].Equal(renewed[0]) || !peer[1].Equal(ca.Cert) {
		t.Errorf("the virtual server presents %d certificates, not the renewed one and the CA", len(peer))
	}

	// tmsh through util/bash.
	if r := res["command"]; len(r.Stdout) != 2 || !strings.Contains(r.Stdout[0], "Version     15.1.8") ||
		!strings.Contains(r.Stdout[1], "cert app.crt") || !strings.Contains(r.Stdout[1], "chain corp-ca.crt") {
		t.Errorf("bigip_command stdout: %q", r.Stdout)
	}

	// Facts, read before the renewal.
	info := res["info"]
	if info.Facts["product_version"] != "15.1.8" || info.Facts["product_code"] != "BIG-IP" || info.Facts["marketing_name"] != "BIG-IP Virtual Edition" {
		t.Errorf("system_info: %v", info.Facts)
	}
	find := func(items []map[string]any, fp string) map[string]any {
		for _, it := range items {
			if it["full_path"] == fp {
				return it
			}
		}
		return nil
	}
	fpr := sha256.Sum256(appChain[0].Raw)
	if c := find(info.Certs, "/Common/app.crt"); c == nil || c["sha1_checksum"] != sha(ottr.EncodeChain(appChain[:1])) ||
		!strings.EqualFold(strings.ReplaceAll(strings.TrimPrefix(fmt.Sprint(c["fingerprint"]), "SHA256/"), ":", ""), hex.EncodeToString(fpr[:])) ||
		c["subject"] != "CN=app.example.com" || c["is_bundle"] != "no" {
		t.Errorf("ssl_certs /Common/app.crt: %v", c)
	}
	if k := find(info.Keys, "/Common/app.key"); k == nil || k["sha1_checksum"] != sha(appKeyPEM) || k["key_type"] != "ec-private" {
		t.Errorf("ssl_keys /Common/app.key: %v", k)
	}
	if k := find(info.Keys, "/Common/api.key"); k == nil || k["sha1_checksum"] != sha(apiKeyPEM) || k["key_type"] != "rsa-private" || fmt.Sprint(k["key_size"]) != "2048" {
		t.Errorf("ssl_keys /Common/api.key: %v", k)
	}
	if p := find(info.Profiles, "/Common/clientssl-api"); p == nil || p["parent"] != "/Common/clientssl" {
		t.Errorf("client_ssl_profiles /Common/clientssl-api: %v", p)
	}
	if find(info.Profiles, "/Common/clientssl-www") == nil || find(info.Profiles, "/Common/clientssl") == nil {
		t.Errorf("client_ssl_profiles: %v", info.Profiles)
	}

	// Saved last, and every uploaded file removed by the modules.
	if _, _, saved := dev.State(); !saved {
		t.Error("the running configuration is not saved after bigip_config save")
	}
	if up := dev.Uploads(); len(up) > 0 {
		t.Errorf("uploads left: %v", up)
	}
}
