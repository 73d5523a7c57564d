package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/store"
)

func TestTrustCommands(t *testing.T) {
	c := newCLI(t)
	c.ok("migrate")
	db, err := store.Open(t.Context(), store.Config{DataDir: c.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	err = db.PutTrust(t.Context(), &ottr.DeviceTrust{SystemName: "fw1.example.com", NeedsApproval: true, Pending: "tls SHA256:new", Updated: time.Now()})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if out := c.ok("trust", "show", "fw1.example.com"); !strings.Contains(out, "waiting:  tls SHA256:new") || !strings.Contains(out, "held:     true") {
		t.Errorf("show:\n%s", out)
	}
	if out := c.ok("trust", "accept", "fw1.example.com", "-o", "json"); !strings.Contains(out, `"fingerprint": "tls SHA256:new"`) || !strings.Contains(out, `"needs_approval": false`) {
		t.Errorf("accept:\n%s", out)
	}
	if _, stderr, err := c.run("", "trust", "accept", "fw1.example.com"); err == nil || !strings.Contains(stderr, "no key waiting") {
		t.Errorf("second accept: %v %s", err, stderr)
	}
	if _, stderr, err := c.run("", "trust", "show", "nope.example.com"); err == nil || !strings.Contains(stderr, "no trust record") {
		t.Errorf("unknown device: %v %s", err, stderr)
	}
}
