package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	bigipdriver "github.com/ottr-dev/ottr/driver/bigip"
	panosdriver "github.com/ottr-dev/ottr/driver/panos"
	"github.com/ottr-dev/ottr/sim/linuxhost"
)

// cli runs ottr against one data directory and the example route table.
type cli struct {
	t       *testing.T
	dataDir string
	env     map[string]string
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, dataDir: t.TempDir(), env: map[string]string{}}
}

func (c *cli) run(stdin string, args ...string) (stdout, stderr string, err error) {
	c.t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{"--data-dir", c.dataDir, "--routes", "../../testdata/route.json"}, args...)
	err = run(c.t.Context(), full, func(k string) string { return c.env[k] }, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

// ok runs a command that must succeed and returns its stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	out, errs, err := c.run("", args...)
	if err != nil {
		c.t.Fatalf("ottr %s: %v\nstderr: %s", strings.Join(args, " "), err, errs)
	}
	return out
}

func (c *cli) assets() []*ottr.Asset {
	c.t.Helper()
	var list []*ottr.Asset
	if err := json.Unmarshal([]byte(c.ok("asset", "list", "-o", "json")), &list); err != nil {
		c.t.Fatal(err)
	}
	return list
}

func names(list []*ottr.Asset) []string {
	var n []string
	for _, a := range list {
		n = append(n, a.SystemName)
	}
	return n
}

func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(t.Context(), []string{"demo", "--once"}, func(string) string { return "" }, nil, &out, &errb); err != nil {
		t.Fatalf("demo: %v\n%s", err, errb.String())
	}
	for _, want := range []string{
		"fw01.example.com", "otter-panos-9x-lets-encrypt", // null expiration → due, routed
		"platform.Windows", "is PENDING", // PENDING platform reported, no crash
		"platform.panos.os.10.2.0", // unrouted version names its key
		"lb02.example.com", "expired",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
	// The demo's own devices are rotated end to end: four script-driven
	// ones, the simulated PAN-OS firewall, BIG-IP and Lighthouse, and the Linux host
	// (sshd + nginx) where this machine can run it.
	n := 11 // four script-driven devices, PAN-OS, BIG-IP, Lighthouse, Junos, FortiGate, NetScaler, iDRAC
	if _, err := exec.LookPath("openssl"); err == nil {
		n++ // the instance behind Systems Manager
	}
	if len(linuxhost.Missing()) == 0 && os.Geteuid() == 0 {
		n++
	}
	want := fmt.Sprintf("%d of %d rotations succeeded", n, n)
	for _, line := range []string{"the firewall generated key and request otter_panos_", "commit job 1 finished"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("demo output lacks the firewall's %q", line)
		}
	}
	if !strings.Contains(out.String(), want) {
		t.Errorf("demo output lacks %q:\n%s", want, out.String())
	}
	for _, dev := range []string{"fgt1.example.com", "www2.example.com", "r740-01-idrac.example.com"} {
		if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(dev) + `\s+succeeded\s`).MatchString(out.String()) {
			t.Errorf("demo did not rotate %s:\n%s", dev, out.String())
		}
	}
	if strings.Contains(out.String(), "lb01.example.com\tdue") || strings.Contains(out.String(), "lb01.example.com  due") {
		t.Errorf("lb01 (70 days left) reported due:\n%s", out.String())
	}
}

func TestAssetLifecycle(t *testing.T) {
	c := newCLI(t)
	c.ok("asset", "add", "-f", "../../testdata/seed-asset.json")
	c.ok("asset", "add", "fw01.example.com", "--platform", "panos", "--os", "9.1.0", "--model", "PA-XXXX",
		"--ca", "lets_encrypt", "--ip", "10.0.0.9", "--label", "team=netops")

	var got ottr.Asset
	if err := json.Unmarshal([]byte(c.ok("asset", "get", "fw01.example.com", "-o", "json")), &got); err != nil {
		t.Fatal(err)
	}
	want := ottr.Asset{SystemName: "fw01.example.com", CommonName: "fw01.example.com",
		SubjectAlternativeName: []string{"fw01.example.com"}, CertificateAuthority: "lets_encrypt",
		CertificateValidation: true, HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX",
		IPAddress: "10.0.0.9", Origin: ottr.OriginCLI, Labels: map[string]string{"team": "netops"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("stored asset (-want +got):\n%s", d)
	}

	c.ok("asset", "update", "fw01.example.com", "--ip", "10.0.0.10", "--remove-label", "team", "--certificate-validation", "False")
	a := c.assets()
	if d := cmp.Diff([]string{"fw01.example.com", "test.example.com"}, names(a)); d != "" {
		t.Errorf("list: %s", d)
	}
	if a[0].IPAddress != "10.0.0.10" || a[0].Labels != nil || bool(a[0].CertificateValidation) {
		t.Errorf("update not applied: %+v", a[0])
	}
	if out := c.ok("asset", "list", "--label", "team=netops", "-o", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("label filter after removal: %s", out)
	}
	if out := c.ok("asset", "list", "--host-platform", "panos", "--ip-address", "10.0.0.1", "-o", "json"); !strings.Contains(out, "test.example.com") || strings.Contains(out, "fw01") {
		t.Errorf("AND-ed filters: %s", out)
	}

	// Bad input: every problem named, nothing stored or changed.
	_, errs, err := c.run("", "asset", "add", "bad.sample.com", "--platform", "INVALID", "--ca", "lets_encrypt", "--ip", "10.0.0.300")
	if ottr.ErrorCode(err) != ottr.EINVALID || exitCode(err) != 1 {
		t.Fatalf("invalid add: %v", err)
	}
	for _, frag := range []string{"system_name", "hosted zone", "host_platform", `"INVALID" not supported`, "ip_address", "10.0.0.300"} {
		if !strings.Contains(errs, frag) {
			t.Errorf("stderr lacks %q:\n%s", frag, errs)
		}
	}
	if _, _, err := c.run("", "asset", "update", "fw01.example.com", "--ca", "nope"); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("invalid update: %v", err)
	}
	if got := c.assets(); got[0].CertificateAuthority != "lets_encrypt" || len(got) != 2 {
		t.Errorf("invalid input changed the inventory: %+v", got)
	}
	if _, _, err := c.run("", "asset", "add", "-f", "../../testdata/seed-asset.json"); ottr.ErrorCode(err) != ottr.ECONFLICT {
		t.Errorf("duplicate add: %v", err)
	}
	if _, _, err := c.run("", "asset", "get", "nope.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("get absent: %v", err)
	}
	if _, _, err := c.run("", "asset", "add"); exitCode(err) != 2 {
		t.Errorf("add without a name: exit %d (%v), want usage error 2", exitCode(err), err)
	}

	_, errs, err = c.run("", "asset", "delete", "fw01.example.com", "gone.example.com")
	if err == nil || !strings.Contains(errs, `"gone.example.com" not found`) {
		t.Errorf("delete with an absent name: %v\n%s", err, errs)
	}
	if d := cmp.Diff([]string{"test.example.com"}, names(c.assets())); d != "" {
		t.Errorf("after delete: %s", d)
	}
}

func TestImportOttrScanAndRoundTripExports(t *testing.T) {
	c := newCLI(t)
	c.ok("asset", "import", "testdata/otter-scan.json")
	got := c.assets()
	if d := cmp.Diff([]string{"test.example.com", "ubuntu.example.com"}, names(got)); d != "" {
		t.Fatalf("imported: %s", d)
	}
	ub := got[1]
	if ub.CertificateExpiration == nil || !ub.CertificateExpiration.Equal(time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)) ||
		bool(ub.CertificateValidation) || ub.DeviceModel != "" || got[0].CertificateExpiration != nil || ub.Origin != "API" {
		t.Errorf("Ottr conventions not applied: %+v / %+v", got[0], ub)
	}
	for _, format := range []string{"json", "jsonl", "csv", "dynamodb", "dynamodb-export"} {
		t.Run(format, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "out."+format)
			c.ok("asset", "export", "--format", format, "--out", file)
			c2 := newCLI(t)
			c2.ok("asset", "import", file)
			if d := cmp.Diff(got, c2.assets()); d != "" {
				t.Errorf("export/import through %s changed the inventory:\n%s", format, d)
			}
		})
	}
}

func TestImportAllOrNothing(t *testing.T) {
	c := newCLI(t)
	bad := `[
{"system_name":"a.example.com","common_name":"a.example.com","certificate_authority":"lets_encrypt","host_platform":"f5","os_version":"14.1.0"},
{"system_name":"b.example.com","common_name":"b.example.com","certificate_authority":"INVALID","host_platform":"f5","os_version":"14.1.0"},
{"system_name":"c.example.com","common_name":"c.sample.com","certificate_authority":"lets_encrypt","host_platform":"f5","certificate_expiration":"soon"}
]`
	_, errs, err := c.run(bad, "asset", "import", "-")
	if ottr.ErrorCode(err) != ottr.EINVALID {
		t.Fatalf("import with bad records: %v", err)
	}
	for _, frag := range []string{"item 2", "certificate_authority", "item 3", "certificate_expiration", "nothing imported"} {
		if !strings.Contains(errs, frag) {
			t.Errorf("stderr lacks %q:\n%s", frag, errs)
		}
	}
	if n := len(c.assets()); n != 0 {
		t.Fatalf("a file with bad records imported %d assets", n)
	}
	c.ok("asset", "import", "-", "--skip-invalid") // stdin is empty here: nothing, no error
	if _, _, err := c.run(bad, "asset", "import", "-", "--skip-invalid"); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"a.example.com"}, names(c.assets())); d != "" {
		t.Errorf("--skip-invalid: %s", d)
	}

	// Existing assets are conflicts unless --update.
	upd := `[{"system_name":"a.example.com","common_name":"a.example.com","certificate_authority":"lets_encrypt","host_platform":"f5","os_version":"14.1.0","data_center":"DC9"},
{"system_name":"d.example.com","common_name":"d.example.com","certificate_authority":"lets_encrypt","host_platform":"f5","os_version":"14.1.0"}]`
	_, errs, err = c.run(upd, "asset", "import", "-")
	if ottr.ErrorCode(err) != ottr.ECONFLICT || !strings.Contains(errs, `"a.example.com" already exists`) {
		t.Fatalf("conflicting import: %v\n%s", err, errs)
	}
	if d := cmp.Diff([]string{"a.example.com"}, names(c.assets())); d != "" {
		t.Errorf("a conflicting import changed the inventory: %s", d)
	}
	if _, _, err := c.run(upd, "asset", "import", "-", "--update"); err != nil {
		t.Fatal(err)
	}
	got := c.assets()
	if d := cmp.Diff([]string{"a.example.com", "d.example.com"}, names(got)); d != "" || got[0].DataCenter != "DC9" {
		t.Errorf("--update: %s %+v", d, got[0])
	}

	dup := `[{"system_name":"e.example.com","common_name":"e.example.com","certificate_authority":"lets_encrypt","host_platform":"f5"},
{"system_name":"e.example.com","common_name":"e.example.com","certificate_authority":"lets_encrypt","host_platform":"f5"}]`
	if _, errs, err := c.run(dup, "asset", "import", "-"); err == nil || !strings.Contains(errs, "appears again (first at item 1)") {
		t.Errorf("duplicate within a file: %v\n%s", err, errs)
	}
}

func TestRouteCheck(t *testing.T) {
	c := newCLI(t)
	out := c.ok("route", "check", "../../testdata/route.json")
	if !strings.Contains(out, "ok") || !strings.Contains(out, "[Windows ios nxos]") {
		t.Errorf("check of Ottr's route.json: %s", out)
	}
	bad := filepath.Join(t.TempDir(), "route.json")
	os.WriteFile(bad, []byte(`{"platform":{"ios":"PENDNG","f5":{"os":{"1":{"certificate_authority":{"digicert":"x"}}}}},"certificate_authorities":["lets_encrypt"]}`), 0o644)
	_, errs, err := c.run("", "route", "check", bad)
	if exitCode(err) != 1 {
		t.Fatalf("bad table: exit %d", exitCode(err))
	}
	for _, frag := range []string{"platform.ios", "PENDNG", "platform.f5.os.1.certificate_authority.digicert"} {
		if !strings.Contains(errs, frag) {
			t.Errorf("stderr lacks %q:\n%s", frag, errs)
		}
	}
}

func TestRouteExplainAndRouterRun(t *testing.T) {
	c := newCLI(t)
	c.ok("asset", "import", "testdata/otter-scan.json")
	c.ok("asset", "add", "old.example.com", "--platform", "panos", "--os", "7.0.0", "--model", "PA-XXXX", "--ca", "lets_encrypt")
	c.ok("asset", "add", "fresh.example.com", "--platform", "f5", "--os", "14.1.0", "--ca", "lets_encrypt")
	c.ok("asset", "update", "fresh.example.com", "--certificate-expiration", time.Now().Add(80*24*time.Hour).Format(time.RFC3339))

	out := c.ok("route", "explain", "test.example.com")
	if !strings.Contains(out, "routed: platform.panos.os.9.1.0.certificate_authority.lets_encrypt → otter-panos-9x-lets-encrypt") || !strings.Contains(out, "due: no certificate") {
		t.Errorf("explain routed: %s", out)
	}
	out = c.ok("route", "explain", "old.example.com")
	if !strings.Contains(out, "not routed: platform.panos.os.7.0.0:") {
		t.Errorf("explain unrouted: %s", out)
	}

	var entries []routerEntry
	if err := json.Unmarshal([]byte(c.ok("router", "run", "--dry-run", "-o", "json")), &entries); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, e := range entries {
		status[e.SystemName] = e.Status + " " + e.Recipe + e.MissingKey
	}
	want := map[string]string{
		"test.example.com":   "due otter-panos-9x-lets-encrypt",
		"ubuntu.example.com": "due otter-linux-aws-ssm-lets-encrypt",
		"old.example.com":    "unrouted platform.panos.os.7.0.0",
	}
	if d := cmp.Diff(want, status); d != "" {
		t.Errorf("dry run (-want +got):\n%s", d)
	}

	if err := json.Unmarshal([]byte(c.ok("router", "run", "-o", "json")), &entries); err != nil {
		t.Fatal(err)
	}
	queued := map[string]string{}
	for _, e := range entries {
		queued[e.SystemName] = e.Status
		if e.Status == "queued" && e.RotationID == "" {
			t.Errorf("%s queued without a rotation id", e.SystemName)
		}
	}
	if queued["test.example.com"] != "queued" || queued["old.example.com"] != "unrouted" {
		t.Errorf("first real pass: %v", queued)
	}
	if err := json.Unmarshal([]byte(c.ok("router", "run", "-o", "json")), &entries); err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Status == "queued" {
			t.Errorf("second pass queued %s again instead of joining its live rotation", e.SystemName)
		}
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "ottr.yaml")
	os.WriteFile(cfg, []byte("data_dir: "+filepath.Join(dir, "from-file")+"\nrouter:\n  jitter: 0.2\n  renew_before: 45d\n"), 0o644)
	c, err := loadConfig(cfg, func(k string) string {
		return map[string]string{"OTTR_ROUTER_JITTER": "0.3", "OTTR_DNS_ZONES": "a.example.net,b.example.net"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.Router.Jitter != 0.3 || time.Duration(c.Router.RenewBefore) != 45*24*time.Hour || c.DataDir != filepath.Join(dir, "from-file") ||
		!cmp.Equal(c.DNS.Zones, []string{"a.example.net", "b.example.net"}) {
		t.Errorf("config = %+v", c)
	}
	// Flags win over file and environment.
	var out, errb bytes.Buffer
	err = run(t.Context(), []string{"--config", cfg, "--data-dir", filepath.Join(dir, "from-flag"), "migrate"},
		func(k string) string { return map[string]string{"OTTR_DATA_DIR": filepath.Join(dir, "from-env")}[k] }, nil, &out, &errb)
	if err != nil {
		t.Fatal(err, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "from-flag", "ottr.db")); err != nil {
		t.Errorf("flag did not win: %v", err)
	}

	os.WriteFile(cfg, []byte("router:\n  intervall: 1h\n  jitter: 2\n"), 0o644)
	if _, err := loadConfig(cfg, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), "intervall") {
		t.Errorf("unknown key: %v", err)
	}
	os.WriteFile(cfg, []byte("router:\n  jitter: 2\n  interval: 10s\ndatabase: mysql://x\n"), 0o644)
	_, err = loadConfig(cfg, func(string) string { return "" })
	for _, f := range []string{"router.jitter", "router.interval", "database"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error %v does not name %s", err, f)
		}
	}
	if _, err := loadConfig("", func(k string) string { return map[string]string{"OTTR_WORKERS_CONCURRENCY": "many"}[k] }); err == nil ||
		!strings.Contains(err.Error(), "OTTR_WORKERS_CONCURRENCY") {
		t.Errorf("bad env value: %v", err)
	}
}

func TestDatabaseDSNNeverPrinted(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(t.Context(), []string{"--database", "postgres://u:s3cretpw@127.0.0.1:1/x?connect_timeout=1", "migrate"},
		func(string) string { return "" }, nil, &out, &errb)
	if err == nil {
		t.Fatal("migrate against a closed port succeeded")
	}
	if strings.Contains(errb.String()+out.String(), "s3cretpw") {
		t.Errorf("password printed: %s", errb.String())
	}
}

func TestHelpEverywhere(t *testing.T) {
	a := &app{getenv: func(string) string { return "" }}
	root := a.rootCmd()
	var walk func(cmdPath []string, cmds interface{ HasSubCommands() bool })
	_ = walk
	for _, cmd := range root.Commands() {
		for _, sub := range append(cmd.Commands(), cmd) {
			args := strings.Fields(strings.TrimPrefix(sub.CommandPath(), "ottr "))
			var out bytes.Buffer
			if err := run(t.Context(), append(args, "--help"), func(string) string { return "" }, nil, &out, &out); err != nil {
				t.Errorf("%s --help: %v", sub.CommandPath(), err)
			}
			if !strings.Contains(out.String(), "Usage:") {
				t.Errorf("%s --help printed no usage", sub.CommandPath())
			}
		}
	}
}

func TestPlatforms(t *testing.T) {
	c := newCLI(t)
	out := c.ok("platforms")
	for _, want := range []string{"panos", "otter-panos-*", "bigip", "otter-f5-*", "lighthouse", "otter-lighthouse-*", "ssm", "otter-linux-aws-ssm-*", "junos", "otter-junos-*", "linux", "exec"} {
		if !strings.Contains(out, want) {
			t.Errorf("platforms lacks %q:\n%s", want, out)
		}
	}
	var list []map[string]any
	if err := json.Unmarshal([]byte(c.ok("platforms", "-o", "json")), &list); err != nil || len(list) != len(registry) {
		t.Errorf("json: %v %d", err, len(list))
	}
}

// TestDeviceConfigDrivers reads the appliance drivers' settings as
// docs/platforms.md shows them.
func TestDeviceConfigDrivers(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "ottr.yaml")
	os.WriteFile(cfg, []byte(`devices:
  platforms:
    panos:
      driver: panos
      credential: panos
      panos: {profile: mgmt-tls, commit_poll: 5s, commit_timeout: 15m}
    f5:
      driver: bigip
      credential: f5
      bigip:
        profiles: [/Common/clientssl-www]
        serve: 10.0.0.10:443
`), 0o644)
	c, err := loadConfig(cfg, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	p, okP := c.Devices.Platforms["panos"].Settings.(panosdriver.Config)
	f, okF := c.Devices.Platforms["f5"].Settings.(bigipdriver.Config)
	if !okP || p.Profile != "mgmt-tls" || p.CommitPoll != 5*time.Second || p.CommitTimeout != 15*time.Minute {
		t.Errorf("panos: %+v", c.Devices.Platforms["panos"].Settings)
	}
	if !okF || f.Serve != "10.0.0.10:443" || len(f.Profiles) != 1 || c.Devices.Platforms["f5"].Driver != "bigip" {
		t.Errorf("bigip: %+v", c.Devices.Platforms["f5"].Settings)
	}
}
