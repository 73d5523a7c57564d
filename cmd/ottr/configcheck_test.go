package main

import (
	"errors"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestConfigCheck: 'ottr config check' prints every problem with its key
// path and exits 2, or says the config is OK with its platforms.
func TestConfigCheck(t *testing.T) {
	c := newCLI(t)
	bad := writeConfig(t, `devices:
  platforms:
    lb: {driver: bigip, settings: {target: client_ssl_profiles, profilez: [/Common/x]}}
    odd: {driver: ciscoo}
`)
	out, errs, err := c.run("", "config", "check", "--config", bad)
	if exitCode(err) != exitUsage {
		t.Errorf("exit status %d, want %d (err %v)", exitCode(err), exitUsage, err)
	}
	if strings.Contains(out, "config OK") {
		t.Errorf("a config with problems reported OK:\n%s", out)
	}
	for _, want := range []string{"devices.platforms.lb.settings.profilez: ", "devices.platforms.lb.settings.profiles: ", "devices.platforms.odd.driver: "} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
	good := writeConfig(t, `devices:
  platforms:
    lb: {driver: bigip, settings: {profiles: [/Common/x], serve: 10.0.0.1:443}}
`)
	out = c.ok("config", "check", "--config", good)
	if !strings.Contains(out, "config OK") || !strings.Contains(out, "lb") || !strings.Contains(out, "bigip") {
		t.Errorf("config check output:\n%s", out)
	}
	legacy := writeConfig(t, `devices:
  platforms:
    lb: {driver: bigip, bigip: {profiles: [/Common/x], serve: 10.0.0.1:443}}
`)
	out, errs, err = c.run("", "config", "check", "--config", legacy)
	if err != nil || !strings.Contains(out, "note: devices.platforms.lb.bigip is deprecated: write devices.platforms.lb.settings") {
		t.Errorf("legacy block: err %v, output:\n%s", err, out)
	}
	if strings.Count(errs, "deprecated config key") != 1 {
		t.Errorf("want one deprecation warning logged, stderr:\n%s", errs)
	}
}

// TestServeRefusesBadDeviceSettings: a typo in a driver's settings stops
// 'ottr serve' before it listens.
func TestServeRefusesBadDeviceSettings(t *testing.T) {
	c := newCLI(t)
	bad := writeConfig(t, `listen: 127.0.0.1:0
devices:
  platforms:
    lb: {driver: bigip, settings: {profilez: [/Common/x]}}
`)
	_, errs, err := c.run("", "serve", "--config", bad)
	if err == nil || !strings.Contains(errs, "devices.platforms.lb.settings.profilez") {
		t.Errorf("serve: err %v, stderr:\n%s", err, errs)
	}
	if ottr.ErrorCode(err) != ottr.EINVALID && !errors.Is(err, errSilent) {
		t.Errorf("serve: %v is not a configuration error", err)
	}
}
