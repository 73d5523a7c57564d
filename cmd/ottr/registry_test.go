package main

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	bigipdriver "github.com/ottr-dev/ottr/driver/bigip"
	panosdriver "github.com/ottr-dev/ottr/driver/panos"
)

// TestRecipeDriverLongestPrefix: overlapping recipe prefixes pick the
// longest, whatever the order of the registry.
func TestRecipeDriverLongestPrefix(t *testing.T) {
	reg := []platform{
		{info: driverInfo{Driver: "linux"}, recipes: []string{"otter-linux-"}},
		{info: driverInfo{Driver: "ssm"}, recipes: []string{"otter-linux-aws-ssm-"}},
		{info: driverInfo{Driver: "panos"}, recipes: []string{"otter-panos-"}},
	}
	for range 20 {
		for _, tc := range []struct{ recipe, want string }{
			{"otter-linux-aws-ssm-lets-encrypt", "ssm"},
			{"otter-linux-nginx-lets-encrypt", "linux"},
			{"otter-panos-9x-lets-encrypt", "panos"},
			{"otter-junos-x", ""},
		} {
			if got := recipeDriverIn(reg, tc.recipe); got != tc.want {
				t.Errorf("recipe %s: driver %q, want %q", tc.recipe, got, tc.want)
			}
		}
		reg[0], reg[1] = reg[1], reg[0]
	}
	if got := recipeDriver("otter-linux-aws-ssm-lets-encrypt"); got != "ssm" {
		t.Errorf("built-in registry: %q", got)
	}
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ottr.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestDeviceSettingsCheckedAtLoad: every problem of the drivers' settings
// is reported at load with its full key path, in both the settings: shape
// and the deprecated per-driver blocks.
func TestDeviceSettingsCheckedAtLoad(t *testing.T) {
	cfg := writeConfig(t, `devices:
  platforms:
    lb:
      driver: bigip
      settings: {target: client_ssl_profiles, serve: 10.0.0.1:443, profilez: [/Common/x]}
    fw:
      driver: panos
      panos: {profil: mgmt}
    odd:
      driver: ciscoo
    host:
      driver: linux
      settings: {known_hosts: /k, cert_path: relative.crt, timeout: soon}
  assets:
    box1:
      driver: exec
      settings: {install: [/bin/true]}
    box2:
      settings: {profile: x}
      exce: {}
    box3:
      driver: exec
      exec: {csr: [/bin/csr], install: [/bin/install], address: "h:1"}
      linux: {known_hosts: /k}
`)
	_, err := loadConfig(cfg, func(string) string { return "" })
	var got []string
	for _, p := range ottr.ErrorProblems(err) {
		got = append(got, p.Field)
	}
	slices.Sort(got)
	want := []string{
		"devices.assets.box1.settings.csr",
		"devices.assets.box2.driver",
		"devices.assets.box2.exce",
		"devices.assets.box3.linux",
		"devices.platforms.fw.panos.profil",
		"devices.platforms.host.settings.cert_path",
		"devices.platforms.host.settings.timeout",
		"devices.platforms.lb.settings.profiles",
		"devices.platforms.lb.settings.profilez",
		"devices.platforms.odd.driver",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("problem fields (-want +got):\n%s\nerror: %v", diff, err)
	}
	for _, p := range ottr.ErrorProblems(err) {
		if strings.Contains(p.Message, "Config") || strings.Contains(p.Message, "time.Duration") {
			t.Errorf("%s: message names a Go type: %s", p.Field, p.Message)
		}
	}
}

// TestDeviceSettingsShapes reads the settings: shape and today's blocks to
// the same typed settings, and notes each deprecated block once.
func TestDeviceSettingsShapes(t *testing.T) {
	cfg := writeConfig(t, `devices:
  platforms:
    panos:
      driver: panos
      credential: panos
      settings: {profile: mgmt-tls, commit_poll: 5s, commit_timeout: 15m}
    f5:
      driver: bigip
      credential: f5
      bigip:
        profiles: [/Common/clientssl-www]
        serve: 10.0.0.10:443
`)
	c, err := loadConfig(cfg, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	p, ok := c.Devices.Platforms["panos"].Settings.(panosdriver.Config)
	if !ok || p.Profile != "mgmt-tls" || p.CommitPoll != 5*time.Second || p.CommitTimeout != 15*time.Minute {
		t.Errorf("panos: %#v", c.Devices.Platforms["panos"].Settings)
	}
	f, ok := c.Devices.Platforms["f5"].Settings.(bigipdriver.Config)
	if !ok || f.Serve != "10.0.0.10:443" || len(f.Profiles) != 1 {
		t.Errorf("bigip: %#v", c.Devices.Platforms["f5"].Settings)
	}
	if diff := cmp.Diff([]string{"devices.platforms.f5.bigip is deprecated: write devices.platforms.f5.settings"}, c.Devices.Deprecated()); diff != "" {
		t.Errorf("deprecations (-want +got):\n%s", diff)
	}
}

// TestDriversImportNoOtherDriver: a driver package uses shared helpers
// only, never another driver, so adding or changing one touches no other.
func TestDriversImportNoOtherDriver(t *testing.T) {
	for _, name := range driverNames() {
		files, err := filepath.Glob(filepath.Join("..", "..", "driver", name, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("driver %s: no files (%v)", name, err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			parsed, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range parsed.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				other, ok := strings.CutPrefix(path, "github.com/ottr-dev/ottr/driver/")
				if ok && lookupPlatform(other) != nil {
					t.Errorf("%s imports the %s driver", f, other)
				}
			}
		}
	}
}

// TestEachDriverChecksItsSettingsAtLoad: every registered driver's own
// checks run when the file is read, each problem under its key path.
func TestEachDriverChecksItsSettingsAtLoad(t *testing.T) {
	cases := []struct{ driver, settings, want string }{
		{"exec", `{csr: [/bin/csr], install: [/bin/install], pass_env: [OTTR_MASTER_KEY]}`, "pass_env"},
		{"linux", `{known_hosts: /k, cert_mode: rw}`, "cert_mode"},
		{"panos", `{profile: "a'b"}`, "profile"},
		{"bigip", `{profiles: [clientssl]}`, "profiles[0]"},
		{"lighthouse", `{api_version: "4"}`, "api_version"},
		{"junos", `{address: nohost, known_hosts: /k}`, "address"},
		{"ssm", `{endpoint: "ftp://x"}`, "endpoint"},
		{"fortigate", `{bind: [console]}`, "bind[0]"},
		{"redfish", `{auth: token}`, "auth"},
		{"netscaler", `{vservers: [vs1], serve: 10.0.0.20:443, partition: p1}`, "partition"},
	}
	for _, name := range driverNames() {
		if !slices.ContainsFunc(cases, func(c struct{ driver, settings, want string }) bool { return c.driver == name }) {
			t.Errorf("driver %s has no case here", name)
		}
	}
	for _, tc := range cases {
		t.Run(tc.driver, func(t *testing.T) {
			cfg := writeConfig(t, "devices:\n  platforms:\n    p:\n      driver: "+tc.driver+"\n      settings: "+tc.settings+"\n")
			_, err := loadConfig(cfg, func(string) string { return "" })
			var got []string
			for _, p := range ottr.ErrorProblems(err) {
				got = append(got, p.Field)
			}
			want := []string{"devices.platforms.p.settings." + tc.want}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("problem fields (-want +got):\n%s\nerror: %v", diff, err)
			}
		})
	}
}
