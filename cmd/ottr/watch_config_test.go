package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// router.watch is on by default, with 32 readings at once of 5s each; the
// bounds are checked with the key paths named, and the environment can
// turn it off.
func TestRouterWatchConfig(t *testing.T) {
	none := func(string) string { return "" }
	c, err := loadConfig("", none)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Router.Watch || c.Router.WatchConcurrency != 32 || time.Duration(c.Router.WatchTimeout) != 5*time.Second {
		t.Errorf("defaults: watch %v, concurrency %d, timeout %s", c.Router.Watch, c.Router.WatchConcurrency, c.Router.WatchTimeout)
	}
	c, err = loadConfig(writeConfig(t, "router:\n  watch: false\n  watch_concurrency: 8\n  watch_timeout: 2s\n"), none)
	if err != nil || c.Router.Watch || c.Router.WatchConcurrency != 8 || time.Duration(c.Router.WatchTimeout) != 2*time.Second {
		t.Errorf("from the file: %+v, %v", c.Router, err)
	}
	_, err = loadConfig(writeConfig(t, "router:\n  watch_concurrency: 0\n  watch_timeout: 10m\n"), none)
	got := map[string]string{}
	for _, p := range ottr.ErrorProblems(err) {
		got[p.Field] = p.Message
	}
	if !strings.Contains(got["router.watch_concurrency"], "0 is outside 1 to 1024") || !strings.Contains(got["router.watch_timeout"], "10m0s is outside 1s to 2m") {
		t.Errorf("problems = %v (%v)", got, err)
	}
	c, err = loadConfig("", func(k string) string { return map[string]string{"OTTR_ROUTER_WATCH": "false"}[k] })
	if err != nil || c.Router.Watch {
		t.Errorf("OTTR_ROUTER_WATCH=false: watch %v, %v", c.Router.Watch, err)
	}
	if _, err := loadConfig("", func(k string) string { return map[string]string{"OTTR_ROUTER_WATCH": "sometimes"}[k] }); err == nil ||
		!strings.Contains(err.Error(), `OTTR_ROUTER_WATCH: "sometimes" is not true or false`) {
		t.Errorf("OTTR_ROUTER_WATCH=sometimes: %v", err)
	}
}

// A watched asset is read where a rotation would reach it, on 443 when
// nothing names a port, and asked for its common name (a wildcard is not
// a name to ask for).
func TestWatchAddress(t *testing.T) {
	c := Config{Devices: DevicesConfig{
		Platforms: map[string]DeviceConfig{"nxos": {Port: 8443}},
		Assets:    map[string]DeviceConfig{"sw2.example.com": {Address: "10.9.9.9:9443"}},
	}}
	for _, tc := range []struct {
		a          ottr.Asset
		addr, name string
	}{
		{ottr.Asset{SystemName: "sw1.example.com", CommonName: "sw1.example.com", HostPlatform: "nxos", IPAddress: "192.0.2.1"}, "192.0.2.1:8443", "sw1.example.com"},
		{ottr.Asset{SystemName: "sw2.example.com", CommonName: "*.example.com", HostPlatform: "nxos"}, "10.9.9.9:9443", "sw2.example.com"},
		{ottr.Asset{SystemName: "ap1.example.com", HostPlatform: "aruba"}, "ap1.example.com:443", "ap1.example.com"},
		{ottr.Asset{SystemName: "ap2.example.com", HostPlatform: "aruba", Port: 4443, IPAddress: "2001:db8::1"}, "[2001:db8::1]:4443", "ap2.example.com"},
	} {
		if got := c.watchAddress(&tc.a); got != tc.addr {
			t.Errorf("%s: address %q, want %q", tc.a.SystemName, got, tc.addr)
		}
		if got := serverName(&tc.a); got != tc.name {
			t.Errorf("%s: server name %q, want %q", tc.a.SystemName, got, tc.name)
		}
	}
}
