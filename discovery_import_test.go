package ottr_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/storetest"
)

func endpoint(addr, host string, port int, platform, cn string, sans ...string) ottr.DiscoveredEndpoint {
	return ottr.DiscoveredEndpoint{Address: addr, Host: host, Port: port, Platform: platform, Product: "x",
		Certificate: &ottr.DiscoveredCertificate{CommonName: cn, DNSNames: sans, Issuer: "CN=Old Internal CA", Serial: "0a1b",
			NotBefore: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2026, 12, 21, 0, 0, 0, 0, time.UTC)}}
}

func TestAssetFromEndpoint(t *testing.T) {
	o := ottr.DiscoveryImport{CertificateAuthority: "lets_encrypt"}
	ep := endpoint("10.0.0.1:8443", "10.0.0.1", 8443, "panos", "FW01.example.com", "fw01.example.com", "fw01-mgmt.example.com", "*.fw.example.com", "PA-VM")
	ep.Certificate.Trusted = false
	a, why := ottr.AssetFromEndpoint(ep, o)
	if a == nil {
		t.Fatal(why)
	}
	exp, nb := ottr.NewTime(ep.Certificate.NotAfter), ottr.NewTime(ep.Certificate.NotBefore)
	want := &ottr.Asset{SystemName: "fw01.example.com", CommonName: "fw01.example.com",
		SubjectAlternativeName: []string{"fw01.example.com", "fw01-mgmt.example.com", "*.fw.example.com"},
		CertificateAuthority:   "lets_encrypt", CertificateExpiration: exp, CertificateValidation: false, HostPlatform: "panos",
		IPAddress: "10.0.0.1", Origin: ottr.OriginDiscovery, Port: 8443,
		CertificateSerial: "0a1b", CertificateIssuer: "CN=Old Internal CA", CertificateNotBefore: nb}
	if d := cmp.Diff(want, a); d != "" {
		t.Errorf("(-want +got)\n%s", d)
	}
	if err := ottr.ValidateAsset(a, nil); err != nil {
		t.Errorf("the asset does not validate: %v", err)
	}

	// A factory certificate names no host: the first DNS SAN, else the
	// host dialled when it is a name.
	ep = endpoint("bmc.example.com:443", "bmc.example.com", 443, "idrac", "idrac-SVCTAG1")
	if a, _ := ottr.AssetFromEndpoint(ep, o); a == nil || a.SystemName != "bmc.example.com" || a.CommonName != "bmc.example.com" || a.IPAddress != "" {
		t.Errorf("named by the host: %+v", a)
	}
	ep = endpoint("10.0.0.2:443", "10.0.0.2", 443, "f5", "localhost.localdomain", "lb02.example.com")
	if a, _ := ottr.AssetFromEndpoint(ep, o); a == nil || a.SystemName != "lb02.example.com" || a.CommonName != "lb02.example.com" ||
		!cmp.Equal(a.SubjectAlternativeName, []string{"lb02.example.com"}) {
		t.Errorf("named by its SAN: %+v", a)
	}
	for _, tc := range []struct {
		ep   ottr.DiscoveredEndpoint
		o    ottr.DiscoveryImport
		want string
	}{
		{endpoint("10.0.0.3:443", "10.0.0.3", 443, "fortigate", "FGVM02TM24000917", "FGVM02TM24000917"), o, "no host name to call it by: the certificate names FGVM02TM24000917, FGVM02TM24000917 and it was reached at 10.0.0.3"},
		{endpoint("10.0.0.4:443", "10.0.0.4", 443, "", "app.example.com"), o, "no platform guessed (x)"},
		{ottr.DiscoveredEndpoint{Address: "10.0.0.5:443", Error: "TLS handshake: no answer in time"}, o, "nothing to import: TLS handshake"},
	} {
		if _, why := ottr.AssetFromEndpoint(tc.ep, tc.o); !strings.Contains(why, tc.want) {
			t.Errorf("%s: %q, want %q", tc.ep.Address, why, tc.want)
		}
	}
	if a, _ := ottr.AssetFromEndpoint(endpoint("10.0.0.4:443", "10.0.0.4", 443, "", "app.example.com"), o); a == nil || a.SystemName != "app.example.com" {
		t.Errorf("without a platform, still named: %+v", a)
	}
	o.Platform = "linux"
	if a, why := ottr.AssetFromEndpoint(endpoint("10.0.0.4:443", "10.0.0.4", 443, "", "app.example.com"), o); a == nil || a.HostPlatform != "linux" || why != "" {
		t.Errorf("the platform given: %+v %q", a, why)
	}
}

// TestImportPrefersManagement: where a device serves one name on its
// management interface and on a portal, the asset is the management
// interface's, whatever the order.
func TestImportPrefersManagement(t *testing.T) {
	db := storetest.Open(t)
	vpn := endpoint("10.0.0.3:443", "10.0.0.3", 443, "fortigate", "fgt1.example.com", "fgt1.example.com")
	vpn.Product = "FortiGate SSL-VPN"
	admin := endpoint("10.0.0.3:8443", "10.0.0.3", 8443, "fortigate", "fgt1.example.com", "fgt1.example.com")
	admin.Product = "FortiGate"
	generic := endpoint("10.0.0.3:10443", "10.0.0.3", 10443, "", "fgt1.example.com", "fgt1.example.com")
	res, err := ottr.ImportDiscovered(t.Context(), db, []ottr.DiscoveredEndpoint{generic, vpn, admin}, ottr.DiscoveryImport{CertificateAuthority: "lets_encrypt", Platform: "demo", Apply: true},
		func(a *ottr.Asset) error { return ottr.ValidateAsset(a, nil) }, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range res.Outcomes {
		got = append(got, o.Action)
	}
	if d := cmp.Diff([]string{"skip", "skip", "add"}, got); d != "" || !strings.Contains(res.Outcomes[1].Reason, "the same name as 10.0.0.3:8443") {
		t.Errorf("(-want +got)\n%s%+v", d, res.Outcomes)
	}
	if a, err := db.GetAsset(t.Context(), "fgt1.example.com"); err != nil || a.Port != 8443 || a.HostPlatform != "fortigate" {
		t.Errorf("fgt1: %v %+v", err, a)
	}
}

// TestImportDiscovered: a dry run changes nothing and says what an
// import would do; the import adds new assets, leaves existing ones alone
// unless asked to update, and then refreshes only their certificate
// fields (and an empty platform); an asset the caller's check refuses is
// refused with the field named; every change is told.
func TestImportDiscovered(t *testing.T) {
	db := storetest.Open(t)
	ctx := t.Context()
	old := &ottr.Asset{SystemName: "lb02.example.com", CommonName: "lb02.example.com", SubjectAlternativeName: []string{"lb02.example.com"},
		CertificateAuthority: "digicert", HostPlatform: "f5", OSVersion: "14.1.0", DataCenter: "DC1", Origin: ottr.OriginImport, CertificateValidation: true}
	if err := db.CreateAsset(ctx, old); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open("testdata/route.json")
	rt, err := ottr.ParseRouteTable(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	check := func(a *ottr.Asset) error { return ottr.ValidateAsset(a, rt) }
	eps := []ottr.DiscoveredEndpoint{
		endpoint("10.0.0.1:443", "10.0.0.1", 443, "panos", "fw01.example.com", "fw01.example.com"),
		endpoint("10.0.0.1:8443", "10.0.0.1", 8443, "panos", "fw01.example.com", "fw01.example.com"),
		endpoint("10.0.0.2:443", "10.0.0.2", 443, "f5", "lb02.example.com", "lb02.example.com"),
		endpoint("10.0.0.3:443", "10.0.0.3", 443, "fortigate", "fgt1.example.com", "fgt1.example.com"),
		endpoint("10.0.0.4:443", "10.0.0.4", 443, "", "app.example.com", "app.example.com"),
		endpoint("10.0.0.5:443", "10.0.0.5", 443, "lighthouse", "console.elsewhere.net", "console.elsewhere.net"),
	}
	var told []string
	changed := func(action string, before, after *ottr.Asset) { told = append(told, action+" "+after.SystemName) }
	actions := func(r *ottr.DiscoveryImportResult) []string {
		var out []string
		for _, o := range r.Outcomes {
			out = append(out, o.Address+" "+o.SystemName+" "+o.Action)
		}
		return out
	}
	o := ottr.DiscoveryImport{CertificateAuthority: "lets_encrypt"}
	dry, err := ottr.ImportDiscovered(ctx, db, eps, o, check, changed)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"10.0.0.1:443 fw01.example.com add", "10.0.0.1:8443 fw01.example.com skip", "10.0.0.2:443 lb02.example.com exists",
		"10.0.0.3:443 fgt1.example.com refused", "10.0.0.4:443 app.example.com skip", "10.0.0.5:443 console.elsewhere.net refused",
	}
	if d := cmp.Diff(want, actions(dry)); d != "" || dry.Applied || dry.Refused() != 2 {
		t.Errorf("dry run (-want +got)\n%s", d)
	}
	if r := dry.Outcomes[3].Reason; !strings.Contains(r, "host_platform") || !strings.Contains(r, "fortigate") {
		t.Errorf("refusal of the FortiGate: %q", r)
	}
	if r := dry.Outcomes[5].Reason; !strings.Contains(r, "hosted zone") {
		t.Errorf("refusal outside the hosted zones: %q", r)
	}
	if got, _, _ := db.FindAssets(ctx, ottr.AssetFilter{}); len(got) != 1 || len(told) != 0 {
		t.Fatalf("a dry run changed the inventory: %d assets, told %v", len(got), told)
	}

	o.Apply = true
	res, err := ottr.ImportDiscovered(ctx, db, eps, o, check, changed)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, actions(res)); d != "" || !res.Applied {
		t.Errorf("import (-want +got)\n%s", d)
	}
	fw, err := db.GetAsset(ctx, "fw01.example.com")
	if err != nil || fw.Origin != ottr.OriginDiscovery || fw.CertificateSerial != "0a1b" || fw.CertificateExpiration == nil ||
		fw.IPAddress != "10.0.0.1" || fw.Port != 443 || fw.CertificateValidation {
		t.Errorf("fw01: %v %+v", err, fw)
	}
	if lb, _ := db.GetAsset(ctx, "lb02.example.com"); lb.CertificateSerial != "" || lb.CertificateExpiration != nil {
		t.Errorf("lb02 changed without update: %+v", lb)
	}
	if d := cmp.Diff([]string{"asset.create fw01.example.com"}, told); d != "" {
		t.Errorf("told (-want +got)\n%s", d)
	}

	// Update refreshes the certificate fields of what exists, and only
	// them; a second time there is nothing to do.
	o.Update, told = true, nil
	eps[2].Certificate.Serial = "0c0d"
	res, err = ottr.ImportDiscovered(ctx, db, eps[:3], o, check, changed)
	if err != nil {
		t.Fatal(err)
	}
	if got := actions(res); got[0] != "10.0.0.1:443 fw01.example.com unchanged" || got[2] != "10.0.0.2:443 lb02.example.com update" {
		t.Errorf("update: %v", got)
	}
	lb, _ := db.GetAsset(ctx, "lb02.example.com")
	if lb.CertificateSerial != "0c0d" || lb.CertificateExpiration == nil || lb.CertificateIssuer != "CN=Old Internal CA" ||
		lb.CertificateAuthority != "digicert" || lb.OSVersion != "14.1.0" || lb.DataCenter != "DC1" || lb.Origin != ottr.OriginImport ||
		lb.IPAddress != "" || lb.Port != 0 || !bool(lb.CertificateValidation) {
		t.Errorf("lb02 after update: %+v", lb)
	}
	if !strings.Contains(res.Outcomes[2].Reason, "serial none → 0c0d") {
		t.Errorf("update reason: %q", res.Outcomes[2].Reason)
	}
	if d := cmp.Diff([]string{"asset.update lb02.example.com"}, told); d != "" {
		t.Errorf("told (-want +got)\n%s", d)
	}
}
