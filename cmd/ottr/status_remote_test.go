package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// TestStatusDueAndCompletionThroughServer: after 'ottr login', status,
// asset list --due and completion read the server's inventory and route
// table, not a local database.
func TestStatusDueAndCompletionThroughServer(t *testing.T) {
	srv := newCLI(t)
	if _, stderr, err := srv.run("Adm1n.Passw0rd\n", "user", "create", "--username", "admin", "--role", "ADMIN", "--password-stdin"); err != nil {
		t.Fatalf("bootstrap: %v %s", err, stderr)
	}
	// Only rotations record an expiry through the API: this asset is
	// added to the database before the server starts.
	srv.ok("asset", "add", "lb01.example.com", "--platform", "f5", "--os", "14.1.0", "--ca", "lets_encrypt")
	srv.ok("asset", "update", "lb01.example.com", "--certificate-expiration", time.Now().AddDate(1, 0, 0).UTC().Format(time.RFC3339))
	// Due by the server's policy (renew 60 days before expiry), not by
	// this CLI's default of 30.
	srv.ok("asset", "add", "lb02.example.com", "--platform", "f5", "--os", "14.1.0", "--ca", "lets_encrypt")
	srv.ok("asset", "update", "lb02.example.com", "--certificate-expiration", time.Now().AddDate(0, 0, 45).UTC().Format(time.RFC3339))
	url := serveUnreachableCA(t, srv)
	env := map[string]string{"HOME": t.TempDir()}
	must := func(stdin string, args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb); err != nil {
			t.Fatalf("ottr %s: %v\n%s", strings.Join(args, " "), err, errb.String())
		}
		return out.String()
	}
	must("Adm1n.Passw0rd\n", "login", "--server", url, "-u", "admin", "--password-stdin")
	// The CLI has no --routes here: routing comes from the server's table.
	must("", "asset", "add", "fw01.example.com", "--platform", "panos", "--os", "9.1.0", "--model", "PA-XXXX", "--ca", "lets_encrypt")
	must("", "asset", "add", "fw02.example.com", "--platform", "panos", "--os", "10.2.0", "--model", "PA-XXXX", "--ca", "lets_encrypt")

	var rep ottr.FleetStatus
	if err := json.Unmarshal([]byte(must("", "status", "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Source != url || rep.Assets != 4 || rep.States[ottr.AssetHealthy] != 1 || rep.States[ottr.AssetUnrouted] != 1 || rep.States[ottr.AssetDue] != 1 {
		t.Errorf("status through the server: %+v", rep)
	}
	// fw01 is due and routed: never rotated, or already picked up by the
	// server's router (rotating, or failing against the unreachable CA).
	if n := rep.States[ottr.AssetNeverRotated] + rep.States[ottr.AssetRotating] + rep.States[ottr.AssetFailing]; n != 1 {
		t.Errorf("fw01 counted %d times: %v", n, rep.States)
	}
	if len(rep.Unrouted) != 1 || rep.Unrouted[0].SystemName != "fw02.example.com" || rep.Unrouted[0].MissingKey != "platform.panos.os.10.2.0" {
		t.Errorf("unrouted through the server: %+v", rep.Unrouted)
	}
	// The server says how its router runs: paused here, so no pass is due.
	if r := rep.Router; r == nil || r.State != "paused" || r.NextPass != nil || r.Replica == "" {
		t.Errorf("router through the server: %+v", r)
	}

	var due []*ottr.Asset
	if err := json.Unmarshal([]byte(must("", "asset", "list", "--due", "-o", "json")), &due); err != nil {
		t.Fatal(err)
	}
	if got := names(due); !slices.Equal(got, []string{"fw01.example.com", "fw02.example.com", "lb02.example.com"}) {
		t.Errorf("asset list --due through the server = %v", got)
	}

	out := must("", "__complete", "asset", "get", "fw")
	if !strings.Contains(out, "fw01.example.com\t") || !strings.Contains(out, "fw02.example.com\t") || strings.Contains(out, "lb0") {
		t.Errorf("completion through the server:\n%s", out)
	}
	if out := must("", "__complete", "asset", "add", "x", "--host-platform", "l"); !strings.Contains(out, "lighthouse") || strings.Contains(out, "panos") {
		t.Errorf("platform completion from the server's route table:\n%s", out)
	}
}
