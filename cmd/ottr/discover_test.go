//go:build !nodemo

package main

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	bigipdriver "github.com/ottr-dev/ottr/driver/bigip"
	fortigatedriver "github.com/ottr-dev/ottr/driver/fortigate"
	netscalerdriver "github.com/ottr-dev/ottr/driver/netscaler"
)

// labEndpoint is what discover should call one of the lab's addresses.
type labEndpoint struct {
	device, platform, product string
	// cn is the certificate's common name when the lab chose it.
	cn string
}

// labEndpoints lists every TLS address the demo lab serves, keyed by
// address: each device's own, and the management interfaces and portals
// beside them.
func labEndpoints(t *testing.T, lab *demoLab) map[string]labEndpoint {
	t.Helper()
	out := map[string]labEndpoint{}
	for _, name := range lab.names {
		dev := lab.devices[name]
		e := labEndpoint{device: name, cn: name}
		switch dev.Driver {
		case "exec", "ssm":
			e.product = ottr.ProductTLS
		case "linux":
			e.product = ottr.ProductNginx
		case "panos":
			e.platform, e.product = "panos", "PAN-OS"
		case "bigip":
			// The asset's address is the virtual server, which says
			// nothing of BIG-IP; its management interface does.
			e.product = ottr.ProductTLS
			out[dev.Settings.(bigipdriver.Config).Address] = labEndpoint{device: name, platform: "f5", product: "BIG-IP"}
		case "lighthouse":
			e.platform, e.product, e.cn = "lighthouse", "Opengear Lighthouse", "" // serves its factory certificate
		case "junos":
			e.platform, e.product = "junos", "Junos J-Web"
		case "fortigate":
			// The lab binds the same certificate to both.
			e.platform, e.product = "fortigate", "FortiGate"
			out[dev.Settings.(fortigatedriver.Config).SSLVPNAddress] = labEndpoint{device: name, platform: "fortigate", product: "FortiGate SSL-VPN", cn: name}
		case "netscaler":
			e.product = ottr.ProductTLS
			out[dev.Settings.(netscalerdriver.Config).Address] = labEndpoint{device: name, platform: "netscaler", product: "NetScaler ADC"}
		case "redfish":
			e.platform, e.product = "idrac", "Dell iDRAC"
		default:
			t.Fatalf("the lab has a %s device (%s) this test does not know", dev.Driver, name)
		}
		out[dev.Address] = e
	}
	return out
}

// labPorts is the lab's ports on 127.0.0.1, as --ports takes them.
func labPorts(t *testing.T, want map[string]labEndpoint) string {
	t.Helper()
	var ports []string
	for addr := range want {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("lab address %q", addr)
		}
		ports = append(ports, port)
	}
	return strings.Join(ports, ",")
}

// TestDiscoverDemoLab: ottr discover, scanning 127.0.0.1 on the lab's
// ports, finds every TLS endpoint the demo lab starts and calls each what
// it is: PAN-OS, BIG-IP, Lighthouse, J-Web, FortiGate (admin and
// SSL-VPN), NetScaler, the iDRAC, and the script-driven devices, virtual
// servers and nginx as generic TLS servers; each with the certificate it
// serves and, the lab's resolver configured, its names' delegation.
func TestDiscoverDemoLab(t *testing.T) {
	lab, err := startDemoLab(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	want := labEndpoints(t, lab)
	c := newCLI(t)
	cfg := filepath.Join(t.TempDir(), "ottr.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("dns: {zones: [%s], resolvers: [%q]}\n", demoZone, lab.res.Addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, errs, err := c.run("", "--config", cfg, "discover", "127.0.0.1", "--ports", labPorts(t, want), "--timeout", "5s", "-o", "json")
	if err != nil {
		t.Fatalf("discover: %v\n%s", err, errs)
	}
	var got discoverOutput
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Addresses != len(want) || len(got.Endpoints) != len(want) {
		t.Errorf("%d addresses scanned, %d endpoints found; the lab serves %d", got.Addresses, len(got.Endpoints), len(want))
	}
	for _, ep := range got.Endpoints {
		w, ok := want[ep.Address]
		if !ok {
			t.Errorf("found %s, which the lab does not serve", ep.Address)
			continue
		}
		delete(want, ep.Address)
		if ep.Error != "" || ep.Platform != w.platform || ep.Product != w.product || ep.Evidence == "" || ep.Certificate == nil {
			t.Errorf("%s (%s): platform %q product %q (%s) error %q; want %q %q", ep.Address, w.device, ep.Platform, ep.Product, ep.Evidence, ep.Error, w.platform, w.product)
			continue
		}
		if w.cn == "" {
			continue
		}
		if c := ep.Certificate; c.CommonName != w.cn || !strings.Contains(c.Issuer, "Old Internal CA") || c.Trusted || c.Serial == "" {
			t.Errorf("%s (%s): certificate %+v", ep.Address, w.device, c)
		}
		if len(ep.Delegations) == 0 {
			t.Errorf("%s (%s): delegation not checked", ep.Address, w.device)
		}
		for _, d := range ep.Delegations {
			if d.Status != ottr.DelegationOK || !strings.HasSuffix(d.Target, "."+demoZone) {
				t.Errorf("%s (%s): delegation %+v", ep.Address, w.device, d)
			}
		}
	}
	for addr, w := range want {
		t.Errorf("the lab's %s (%s, %s) was not found", addr, w.device, w.product)
	}

	// The table names every endpoint in 120 columns.
	out, errs, err = c.run("", "discover", "127.0.0.1", "--ports", labPorts(t, labEndpoints(t, lab)), "--timeout", "5s")
	if err != nil {
		t.Fatalf("discover: %v\n%s", err, errs)
	}
	if testing.Verbose() {
		t.Logf("%s%s", out, errs)
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if n := len([]rune(line)); n > tableWidth {
			t.Errorf("a line of %d columns: %s", n, line)
		}
	}
	for _, s := range []string{"PAN-OS", "BIG-IP", "Opengear Lighthouse", "Junos J-Web", "FortiGate", "FortiGate SSL-VPN", "NetScaler ADC", "Dell iDRAC", "fw01.example.com", "r740-01-idrac.example.com"} {
		if !strings.Contains(out, s) {
			t.Errorf("the table lacks %q:\n%s", s, out)
		}
	}
	if n := len(labEndpoints(t, lab)); !strings.Contains(errs, fmt.Sprintf("scanned %d address(es) in ", n)) || !strings.Contains(errs, fmt.Sprintf(": %d TLS endpoint(s)", n)) {
		t.Errorf("no summary on stderr: %s", errs)
	}
}

// TestDiscoverImport: --import says what would be added and changes
// nothing; --apply adds the new assets (named and recorded from what they
// serve, origin discovery) and leaves an existing one alone; --update
// then refreshes only its certificate fields. Endpoints nothing can be
// said of are skipped unless --platform names theirs.
func TestDiscoverImport(t *testing.T) {
	lab, err := startDemoLab(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer lab.Close()
	ports := labPorts(t, labEndpoints(t, lab))
	routes := filepath.Join(t.TempDir(), "route.json")
	rt, err := labRouteTable()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(routes, rt, 0o644)
	c := newCLI(t)
	ottrCmd := func(args ...string) (discoverOutput, string, error) {
		t.Helper()
		out, errs, err := c.run("", append([]string{"--routes", routes, "discover", "127.0.0.1", "--ports", ports, "--timeout", "5s", "-o", "json"}, args...)...)
		var got discoverOutput
		if jerr := json.Unmarshal([]byte(out), &got); jerr != nil {
			t.Fatalf("discover %v: %v\n%s\n%s", args, jerr, out, errs)
		}
		return got, errs, err
	}
	c.ok("--routes", routes, "asset", "add", "fw01.example.com", "--platform", "panos", "--os", "9.1.0", "--model", "PA-XXXX", "--ca", "lets_encrypt")
	// Each name's outcome, from its first endpoint that is not skipped
	// as a second of the same name.
	byName := func(o discoverOutput) map[string]ottr.ImportOutcome {
		m := map[string]ottr.ImportOutcome{}
		for _, x := range o.Import.Outcomes {
			if _, seen := m[x.SystemName]; x.SystemName != "" && (!seen || !strings.Contains(x.Reason, "the same name as")) {
				m[x.SystemName] = x
			}
		}
		return m
	}
	vpn := lab.devices["fgt1.example.com"].Settings.(fortigatedriver.Config).SSLVPNAddress

	dry, errs, err := ottrCmd("--import")
	if err != nil {
		t.Fatalf("dry run: %v\n%s", err, errs)
	}
	m := byName(dry)
	for name, platform := range map[string]string{"srx1.example.com": "junos", "fgt1.example.com": "fortigate", "r740-01-idrac.example.com": "idrac"} {
		if o := m[name]; o.Action != ottr.ImportAdd || o.Platform != platform {
			t.Errorf("dry run, %s: %+v", name, o)
		}
	}
	if o := m["fw01.example.com"]; o.Action != ottr.ImportExists {
		t.Errorf("dry run, fw01: %+v", o)
	}
	if o := m["app1.example.com"]; o.Action != ottr.ImportSkip || !strings.Contains(o.Reason, "no platform guessed") {
		t.Errorf("dry run, app1: %+v", o)
	}
	fgtAdmin := lab.devices["fgt1.example.com"].Address
	if o := outcomeAt(dry, vpn); o.Action != ottr.ImportSkip || !strings.Contains(o.Reason, "the same name as "+fgtAdmin) {
		t.Errorf("dry run, the FortiGate's portal (the administration server's certificate): %+v", o)
	}
	nsip := lab.devices["www2.example.com"].Settings.(netscalerdriver.Config).Address
	if o := outcomeAt(dry, nsip); o.Action != ottr.ImportSkip || !strings.Contains(o.Reason, "no host name") {
		t.Errorf("dry run, the NetScaler's NSIP (factory certificate): %+v", o)
	}
	if dry.Import.Applied || !strings.Contains(errs, "dry run, nothing changed") {
		t.Errorf("dry run: applied %v\n%s", dry.Import.Applied, errs)
	}
	if got := c.assets(); len(got) != 1 {
		t.Fatalf("a dry run changed the inventory: %v", names(got))
	}

	applied, errs, err := ottrCmd("--import", "--apply", "--platform", "demo")
	if err != nil {
		t.Fatalf("import: %v\n%s", err, errs)
	}
	if o := byName(applied)["app1.example.com"]; o.Action != ottr.ImportAdd || o.Platform != "demo" {
		t.Errorf("app1 with --platform demo: %+v", o)
	}
	assets := map[string]*ottr.Asset{}
	for _, a := range c.assets() {
		assets[a.SystemName] = a
	}
	srx := assets["srx1.example.com"]
	if srx == nil || srx.HostPlatform != "junos" || srx.Origin != ottr.OriginDiscovery || srx.CertificateSerial == "" || srx.CertificateExpiration == nil ||
		srx.CertificateIssuer == "" || srx.IPAddress != "127.0.0.1" || srx.Port == 0 || bool(srx.CertificateValidation) || srx.CertificateAuthority != "lets_encrypt" {
		t.Errorf("srx1 as imported: %+v", srx)
	}
	if host, port, _ := net.SplitHostPort(lab.devices["srx1.example.com"].Address); srx != nil && (host != srx.IPAddress || port != strconv.Itoa(srx.Port)) {
		t.Errorf("srx1 at %s:%d, served at %s", srx.IPAddress, srx.Port, lab.devices["srx1.example.com"].Address)
	}
	if fw := assets["fw01.example.com"]; fw.CertificateSerial != "" || fw.Origin != ottr.OriginCLI {
		t.Errorf("fw01 changed without --update: %+v", fw)
	}
	for _, name := range []string{"app1.example.com", "fgt1.example.com", "r740-01-idrac.example.com", "www2.example.com"} {
		if assets[name] == nil {
			t.Errorf("%s not imported; the inventory has %v", name, names(c.assets()))
		}
	}

	updated, errs, err := ottrCmd("--import", "--apply", "--update", "--platform", "demo")
	if err != nil {
		t.Fatalf("update: %v\n%s", err, errs)
	}
	m = byName(updated)
	if o := m["fw01.example.com"]; o.Action != ottr.ImportUpdate {
		t.Errorf("update, fw01: %+v", o)
	}
	if o := m["srx1.example.com"]; o.Action != ottr.ImportUnchanged {
		t.Errorf("update, srx1: %+v", o)
	}
	fw := assetNamed(t, c, "fw01.example.com")
	if fw.CertificateSerial == "" || fw.CertificateExpiration == nil || fw.HostPlatform != "panos" || fw.OSVersion != "9.1.0" ||
		fw.DeviceModel != "PA-XXXX" || fw.Origin != ottr.OriginCLI || fw.IPAddress != "" || fw.Port != 0 {
		t.Errorf("fw01 after --update: %+v", fw)
	}
	if fw.CertificateSerial != lab.assets["fw01.example.com"].CertificateSerial && lab.assets["fw01.example.com"].CertificateSerial != "" {
		t.Errorf("fw01's serial %s", fw.CertificateSerial)
	}

	// A platform the route table lacks is refused with the field named,
	// and the exit status says so.
	c = newCLI(t)
	refused, errs, err := ottrCmd("--import", "--platform", "no-such-platform")
	if exitCode(err) != exitFailed || !strings.Contains(errs, "cannot be imported") {
		t.Errorf("refused: exit %d, %v\n%s", exitCode(err), err, errs)
	}
	if o := byName(refused)["app1.example.com"]; o.Action != ottr.ImportRefused || !strings.Contains(o.Reason, `host_platform: "no-such-platform" not supported`) {
		t.Errorf("app1 with an unknown platform: %+v", o)
	}
}

func outcomeAt(o discoverOutput, addr string) ottr.ImportOutcome {
	for _, x := range o.Import.Outcomes {
		if x.Address == addr {
			return x
		}
	}
	return ottr.ImportOutcome{}
}

func assetNamed(t *testing.T, c *cli, name string) *ottr.Asset {
	t.Helper()
	var a ottr.Asset
	if err := json.Unmarshal([]byte(c.ok("asset", "get", name, "-o", "json")), &a); err != nil {
		t.Fatal(err)
	}
	return &a
}

// TestDiscoverCommandLine: a wrong command line is refused with exit
// status 2 naming what is wrong, before anything is scanned.
func TestDiscoverCommandLine(t *testing.T) {
	c := newCLI(t)
	hosts := filepath.Join(t.TempDir(), "hosts.txt")
	os.WriteFile(hosts, []byte("# lab\nfw01.example.com\n10.0.0.0/33\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"discover"}, exitUsage, "give targets"},
		{[]string{"discover", "10.0.0.0/8"}, exitUsage, "target[0]: 10.0.0.0/8 has 16777216 addresses; a scan covers at most 65536 (an IPv4 /16)"},
		{[]string{"discover", "10.0.0.0/33"}, exitUsage, `"10.0.0.0/33" is not a CIDR block`},
		{[]string{"discover", "fw01.example.com", "--ports", "0"}, exitUsage, `--ports: ports: "0" is not a port`},
		{[]string{"discover", "fw01.example.com", "--apply"}, exitUsage, "--apply and --update go with --import"},
		{[]string{"discover", "fw01.example.com", "--concurrency", "0"}, exitUsage, "--concurrency 0"},
		{[]string{"discover", "fw01.example.com", "--timeout", "0s"}, exitUsage, "--timeout 0s"},
		{[]string{"discover", "fw01.example.com", "--on-server"}, exitUsage, "--on-server needs a server"},
		{[]string{"discover", "--file", hosts}, exitFailed, "target[1]"},
		{[]string{"discover", "--file", filepath.Join(t.TempDir(), "none.txt")}, exitUsage, "--file"},
	} {
		_, errs, err := c.run("", tc.args...)
		if exitCode(err) != tc.code || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, want %d with %q:\n%s", tc.args, exitCode(err), tc.code, tc.want, errs)
		}
	}
}
