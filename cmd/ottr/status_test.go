package main

import (
	"context"
	"encoding/json"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/store"
)

// fleet adds one asset in each state 'ottr status' tells apart, plus two
// that become due within 7 and 30 days, and returns the open database for
// the state the CLI cannot set (failures, router rotations).
func fleet(t *testing.T, c *cli) *store.DB {
	t.Helper()
	now := time.Now().UTC()
	day := 24 * time.Hour
	add := func(name, os, exp string) {
		t.Helper()
		c.ok("asset", "add", name, "--platform", "panos", "--os", os, "--model", "PA-XXXX", "--ca", "lets_encrypt")
		if exp != "" {
			c.ok("asset", "update", name, "--certificate-expiration", exp)
		}
	}
	at := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	add("healthy.example.com", "9.1.0", at(365*day))
	add("due.example.com", "9.1.0", at(10*day))
	add("never.example.com", "9.1.0", "")
	add("unrouted.example.com", "10.2.0", "")
	add("failing.example.com", "9.1.0", at(365*day))
	add("rotating.example.com", "9.1.0", "")
	// Default rule 30 days before expiry, moved earlier by at most the
	// default jitter (10%, 3 days): due in 2-5 days and in 17-20 days.
	add("soon7.example.com", "9.1.0", at(35*day))
	add("soon30.example.com", "9.1.0", at(50*day))

	db, err := store.Open(t.Context(), store.Config{DataDir: c.dataDir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	if _, err := db.UpdateAsset(ctx, "failing.example.com", func(a *ottr.Asset) error {
		a.LastRotation = &ottr.LastRotation{Time: *ottr.NewTime(now.Add(-time.Hour)), Status: string(ottr.StateFailed),
			Error: "install: device refused the key", Failures: 3, RetryAfter: ottr.NewTime(now.Add(time.Hour))}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateRotation(ctx, &ottr.Rotation{SystemName: "rotating.example.com", State: ottr.StateQueued,
		Trigger: ottr.TriggerRouter, Recipe: "otter-panos-9x-lets-encrypt"}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestStatusCountsAssetsByState(t *testing.T) {
	c := newCLI(t)
	fleet(t, c)
	var rep ottr.FleetStatus
	if err := json.Unmarshal([]byte(c.ok("status", "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{ottr.AssetHealthy: 3, ottr.AssetDue: 1, ottr.AssetRotating: 1, ottr.AssetFailing: 1, ottr.AssetUnrouted: 1, ottr.AssetNeverRotated: 1}
	for s, n := range want {
		if rep.States[s] != n {
			t.Errorf("states[%s] = %d, want %d (all: %v)", s, rep.States[s], n, rep.States)
		}
	}
	if rep.Assets != 8 || rep.Source != "database" {
		t.Errorf("assets %d from %q, want 8 from the database", rep.Assets, rep.Source)
	}
	if rep.DueIn7 != 1 || rep.DueIn30 != 2 {
		t.Errorf("due within 7/30 days = %d/%d, want 1/2", rep.DueIn7, rep.DueIn30)
	}
	if len(rep.Failing) != 1 || rep.Failing[0].SystemName != "failing.example.com" || rep.Failing[0].Failures != 3 ||
		rep.Failing[0].Error != "install: device refused the key" {
		t.Errorf("failing = %+v", rep.Failing)
	}
	if len(rep.Unrouted) != 1 || rep.Unrouted[0].SystemName != "unrouted.example.com" || rep.Unrouted[0].MissingKey != "platform.panos.os.10.2.0" {
		t.Errorf("unrouted = %+v", rep.Unrouted)
	}
	if rep.LastRouterRotation == nil || rep.LastRouterRotation.SystemName != "rotating.example.com" {
		t.Errorf("last router rotation = %+v", rep.LastRouterRotation)
	}

	if rep.Queued != 1 || rep.Running != 0 || rep.FailingTotal != 1 || rep.UnroutedTotal != 1 {
		t.Errorf("queued/running %d/%d, failing/unrouted totals %d/%d", rep.Queued, rep.Running, rep.FailingTotal, rep.UnroutedTotal)
	}
	// Five certificates recorded: two with a year left, one with 10 days,
	// two with 35 and 50 days.
	expiry := map[string]int{}
	for _, b := range rep.Expiry {
		expiry[b.Label] = b.Count
	}
	if want := map[string]int{"expired": 0, "7 days": 0, "14 days": 1, "30 days": 0, "60 days": 2, "90 days": 0, "later": 2}; !maps.Equal(expiry, want) {
		t.Errorf("expiry buckets = %v, want %v", expiry, want)
	}
	if rep.Router == nil || rep.Router.LastPass != nil || rep.Router.NextPass != nil {
		t.Errorf("router before any pass: %+v", rep.Router)
	}

	out := c.ok("status")
	for _, want := range []string{"8 assets", "never rotated", "failing.example.com", "install: device refused the key",
		"unrouted.example.com", "platform.panos.os.10.2.0", "rotating.example.com", "last pass", "none recorded"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
	assertFits(t, out)

	// A pass run by hand is on record: when, what it did, who ran it, and
	// when the next is due.
	before := time.Now()
	c.ok("router", "run")
	rep = ottr.FleetStatus{}
	if err := json.Unmarshal([]byte(c.ok("status", "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	p := rep.Router.LastPass
	// due and never are queued, unrouted is not; rotating joins its
	// rotation; failing has a year left.
	if p == nil || p.StartedAt.Before(before.Add(-time.Second)) || p.Due != 4 || p.Queued != 2 || p.Joined != 1 ||
		p.Unrouted != 1 || p.Held != 0 || !strings.HasPrefix(p.Owner, "cli:") {
		t.Fatalf("last pass after 'router run': %+v", p)
	}
	if rep.Router.NextPass == nil || !rep.Router.NextPass.Equal(p.StartedAt.Add(time.Duration(rep.Router.IntervalSeconds)*time.Second)) {
		t.Errorf("next pass %v, last %v, interval %d s", rep.Router.NextPass, p.StartedAt, rep.Router.IntervalSeconds)
	}
	if out := c.ok("status"); !regexp.MustCompile(`last pass +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d, \S+: 4 due, 2 queued, 1 joined, 0 held, 1 unrouted`).MatchString(out) {
		t.Errorf("status after a pass:\n%s", out)
	}
}

// TestAssetListDueIsTheRoutersDue: --due lists what a router pass calls
// due, including the never-rotated assets --days-until-expiration cannot
// see.
func TestAssetListDueIsTheRoutersDue(t *testing.T) {
	c := newCLI(t)
	fleet(t, c)
	var list []*ottr.Asset
	if err := json.Unmarshal([]byte(c.ok("asset", "list", "--due", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	got := names(list)
	slices.Sort(got)
	// failing.example.com has a year left: its failure does not make it due.
	want := []string{"due.example.com", "never.example.com", "rotating.example.com", "unrouted.example.com"}
	if !slices.Equal(got, want) {
		t.Errorf("asset list --due = %v, want %v", got, want)
	}
	// What the router itself calls due, in a dry run.
	var pass []routerEntry
	if err := json.Unmarshal([]byte(c.ok("router", "run", "--dry-run", "-o", "json")), &pass); err != nil {
		t.Fatal(err)
	}
	var routerDue []string
	for _, e := range pass {
		routerDue = append(routerDue, e.SystemName)
	}
	slices.Sort(routerDue)
	if !slices.Equal(got, routerDue) {
		t.Errorf("asset list --due %v differs from the router's pass %v", got, routerDue)
	}
	// The old way misses the never-rotated assets.
	list = nil
	if err := json.Unmarshal([]byte(c.ok("asset", "list", "--days-until-expiration", "30", "-o", "json")), &list); err != nil {
		t.Fatal(err)
	}
	if n := names(list); slices.Contains(n, "never.example.com") {
		t.Errorf("--days-until-expiration lists never-rotated assets now: %v", n)
	}
	out := c.ok("asset", "list", "--due")
	if !strings.Contains(out, "no certificate recorded") || !strings.Contains(out, "DUE_REASON") {
		t.Errorf("asset list --due shows no reason:\n%s", out)
	}
	assertFits(t, out)
	if out := c.ok("asset", "list", "--due", "--limit", "2", "-o", "json"); strings.Count(out, `"system_name"`) != 2 {
		t.Errorf("--due --limit 2 listed:\n%s", out)
	}
}

// TestStatusWithoutRoutes: with no route table every due asset is
// unrouted, and the command says why.
func TestStatusWithoutRoutes(t *testing.T) {
	c := newCLI(t)
	c.ok("asset", "add", "fw01.example.com", "--platform", "panos", "--os", "9.1.0", "--ca", "lets_encrypt")
	var out, errb strings.Builder
	if err := run(t.Context(), []string{"--data-dir", c.dataDir, "status", "-o", "json"}, func(string) string { return "" }, nil, &out, &errb); err != nil {
		t.Fatalf("status: %v %s", err, errb.String())
	}
	var rep ottr.FleetStatus
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.States[ottr.AssetUnrouted] != 1 || len(rep.Unrouted) != 1 || rep.Unrouted[0].MissingKey != "route table" {
		t.Errorf("without routes: %+v", rep)
	}
	if !strings.Contains(errb.String(), "no route table") {
		t.Errorf("no warning on stderr: %q", errb.String())
	}
}
