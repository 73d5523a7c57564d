package panos_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PaloAltoNetworks/pango/commit"

	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/panos"
)

// GlobalProtect through Palo Alto's Go SDK: a portal's and a gateway's
// profile are read and written at their xpaths, references are checked, a
// profile in use cannot be deleted, the rest of a portal is refused by
// name, and after a commit each serves the certificate its profile names.
func TestGlobalProtect(t *testing.T) {
	dev, err := panos.Start("admin", "Adm1n.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	ca := testpki.NewCA("Corp CA")
	csr, key := testpki.CSR("vpn.example.com", "vpn.example.com")
	first := ca.Sign(csr, time.Hour)
	dev.Preload("first", "gp-tls", key, first)
	dev.Preload("mgmt", "mgmt-tls", key, first) // the management interface moves to a profile of its own
	portalAddr, err := dev.AddGlobalProtect("portal", "corp-portal", "gp-tls")
	if err != nil {
		t.Fatal(err)
	}
	gatewayAddr, err := dev.AddGlobalProtect("gateway", "corp-gw", "gp-tls")
	if err != nil {
		t.Fatal(err)
	}
	if got := servedLeaf(t, portalAddr); !got.Equal(first[0]) {
		t.Fatalf("portal serves %s", got.Subject)
	}
	fw, err := pangoFirewall(t, dev, "admin", "Adm1n.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	gp := "/config/devices/entry[@name='localhost.localdomain']/vsys/entry[@name='vsys1']/global-protect"
	portal := gp + "/global-protect-portal/entry[@name='corp-portal']"
	gateway := gp + "/global-protect-gateway/entry[@name='corp-gw']"
	var ans struct {
		Profile string `xml:"result>ssl-tls-service-profile"`
	}
	if _, err := fw.Get(portal+"/portal-config/ssl-tls-service-profile", nil, &ans); err != nil || ans.Profile != "gp-tls" {
		t.Errorf("portal's profile: %v %q", err, ans.Profile)
	}
	if _, err := fw.Set(gateway, "<ssl-tls-service-profile>nope</ssl-tls-service-profile>", nil, nil); err == nil || panosCode(t, err) != 12 || !strings.Contains(err.Error(), "not a valid reference") {
		t.Errorf("gateway to a missing profile: %v", err)
	}
	if _, err := fw.Set(portal+"/portal-config", "<certificate-profile>x</certificate-profile>", nil, nil); err == nil || !strings.Contains(err.Error(), "not simulated") {
		t.Errorf("an unmodelled part of a portal: %v", err)
	}
	if _, err := fw.Delete("/config/shared/ssl-tls-service-profile/entry[@name='gp-tls']", nil, nil); err == nil || panosCode(t, err) != 10 || !strings.Contains(err.Error(), "global-protect-") {
		t.Errorf("delete a profile GlobalProtect uses: %v", err)
	}

	// A new certificate through a new profile for the gateway only.
	csr2, key2 := testpki.CSR("vpn.example.com", "vpn.example.com")
	second := ca.Sign(csr2, time.Hour)
	keyPEM, _ := testpki.MarshalKey(key2)
	if _, err := fw.Import("keypair", string(testpki.EncodeChain(second))+string(keyPEM), "kp.pem", "file", 0,
		url.Values{"certificate-name": {"second"}, "format": {"pem"}, "passphrase": {"unused"}}, nil); err != nil {
		t.Fatalf("import: %v", err)
	}
	if _, err := fw.Set("/config/shared/ssl-tls-service-profile/entry[@name='gw-tls']", "<certificate>second</certificate>", nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := fw.Edit(gateway, `<entry name="corp-gw"><ssl-tls-service-profile>gw-tls</ssl-tls-service-profile></entry>`, nil, nil); err != nil {
		t.Fatalf("edit gateway: %v", err)
	}
	if p, _, _ := dev.RunningGlobalProtect("gateway", "corp-gw"); p != "gp-tls" {
		t.Errorf("running gateway before the commit: %q", p)
	}
	id, _, err := fw.Commit(commit.FirewallCommit{Admins: []string{"admin"}}, "", nil)
	if err != nil || id == 0 {
		t.Fatalf("commit: %d %v", id, err)
	}
	if err := fw.WaitForJob(id, 5*time.Millisecond, nil, nil); err != nil {
		t.Fatal(err)
	}
	if p, c, _ := dev.RunningGlobalProtect("gateway", "corp-gw"); p != "gw-tls" || c != "second" {
		t.Errorf("running gateway: %q %q", p, c)
	}
	if got := servedLeaf(t, gatewayAddr); !got.Equal(second[0]) {
		t.Errorf("gateway serves %s, want the second certificate", got.SerialNumber)
	}
	if got := servedLeaf(t, portalAddr); !got.Equal(first[0]) {
		t.Errorf("portal serves %s, want the first certificate still", got.SerialNumber)
	}
}
