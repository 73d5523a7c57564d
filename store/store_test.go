package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

var testNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

// forEachEngine runs fn on a fresh SQLite database and, when
// OTTR_TEST_POSTGRES_DSN is set, on a fresh PostgreSQL schema. Under
// CI=true a missing PostgreSQL fails the test instead of skipping.
func forEachEngine(t *testing.T, fn func(t *testing.T, db *DB)) {
	forEachEngineConfig(t, func(t *testing.T, c Config) { fn(t, openTest(t, c)) })
}

// forEachEngineConfig is forEachEngine for tests that open the database
// themselves (to migrate it step by step): fn gets each engine's Config.
func forEachEngineConfig(t *testing.T, fn func(t *testing.T, c Config)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		fn(t, Config{DataDir: t.TempDir(), Now: func() time.Time { return testNow }, Sealer: testSealer})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := os.Getenv("OTTR_TEST_POSTGRES_DSN")
		if dsn == "" {
			if os.Getenv("CI") == "true" {
				t.Fatal("OTTR_TEST_POSTGRES_DSN is not set; CI must run the PostgreSQL suite")
			}
			t.Skip("OTTR_TEST_POSTGRES_DSN not set: skipping the PostgreSQL run")
		}
		b := make([]byte, 6)
		rand.Read(b)
		schema := "ottr_test_" + hex.EncodeToString(b)
		raw, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec("CREATE SCHEMA " + schema); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			raw.Exec("DROP SCHEMA " + schema + " CASCADE")
			raw.Close()
		})
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		fn(t, Config{DSN: dsn + sep + "search_path=" + schema, Now: func() time.Time { return testNow }, Sealer: testSealer})
	})
}

func openTest(t *testing.T, c Config) *DB {
	t.Helper()
	db, err := Open(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}

func fullAsset(name string) *ottr.Asset {
	return &ottr.Asset{
		SystemName: name, CommonName: "cn." + name, SubjectAlternativeName: []string{"z." + name, "a." + name},
		CertificateAuthority: "lets_encrypt", CertificateExpiration: ottr.NewTime(testNow.Add(40 * 24 * time.Hour)),
		CertificateValidation: false, HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX",
		IPAddress: "10.0.0.1", DataCenter: "DC1", Origin: "API", Labels: map[string]string{"team": "netops", "env": "prod"},
		Port: 8443, Credential: "panos-admin", DNSZone: "acme.example.net",
		LastRotation: &ottr.LastRotation{Time: *ottr.NewTime(testNow), Status: "failed", Error: "device unreachable", RotationID: "r1",
			Failures: 3, RetryAfter: ottr.NewTime(testNow.Add(4 * time.Hour))},
		CertificateSerial: "0a1b", CertificateIssuer: "CN=R3,O=Let's Encrypt", CertificateNotBefore: ottr.NewTime(testNow.Add(-50 * 24 * time.Hour)),
		RenewalWindow: &ottr.RenewalWindow{Start: *ottr.NewTime(testNow.Add(10 * 24 * time.Hour)), End: *ottr.NewTime(testNow.Add(12 * 24 * time.Hour)),
			ExplanationURL: "https://ca.example/why", CertID: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", CheckAfter: *ottr.NewTime(testNow.Add(6 * time.Hour))},
		Monitored: true, CertificateObservedAt: ottr.NewTime(testNow.Add(-time.Hour)),
		ExpiryAlerted: &ottr.ExpiryAlerted{NotAfter: *ottr.NewTime(testNow.Add(40 * 24 * time.Hour)), Expired: true},
	}
}

func TestAssetRoundTrip(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		want := fullAsset("fw01.example.com")
		bare := &ottr.Asset{SystemName: "bare.example.com", CommonName: "bare.example.com", CertificateAuthority: "le", HostPlatform: "f5", CertificateValidation: true}
		for _, a := range []*ottr.Asset{want, bare} {
			if err := db.CreateAsset(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.GetAsset(ctx, want.SystemName)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("round trip (-want +got):\n%s", d)
		}
		got, _ = db.GetAsset(ctx, bare.SystemName)
		bare.SubjectAlternativeName = []string{} // a nil list is stored as []
		if d := cmp.Diff(bare, got); d != "" {
			t.Errorf("bare round trip:\n%s", d)
		}
		if err := db.CreateAsset(ctx, fullAsset("fw01.example.com")); ottr.ErrorCode(err) != ottr.ECONFLICT {
			t.Errorf("duplicate create: %v", err)
		}
		if _, err := db.GetAsset(ctx, "nope.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("get absent: %v", err)
		}
		if err := db.DeleteAsset(ctx, "nope.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("delete absent: %v", err)
		}
		if _, err := db.UpdateAsset(ctx, "nope.example.com", func(*ottr.Asset) error { return nil }); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("update absent: %v", err)
		}

		boom := errors.New("boom")
		if _, err := db.UpdateAsset(ctx, want.SystemName, func(a *ottr.Asset) error { a.IPAddress = "10.9.9.9"; return boom }); !errors.Is(err, boom) {
			t.Errorf("fn error: %v", err)
		}
		if _, err := db.UpdateAsset(ctx, want.SystemName, func(a *ottr.Asset) error { a.SystemName = "other.example.com"; return nil }); ottr.ErrorCode(err) != ottr.EINVALID {
			t.Errorf("rename: %v", err)
		}
		got, _ = db.GetAsset(ctx, want.SystemName)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("failed updates changed the asset:\n%s", d)
		}
		up, err := db.UpdateAsset(ctx, want.SystemName, func(a *ottr.Asset) error {
			a.IPAddress, a.Labels, a.CertificateExpiration = "10.0.0.2", map[string]string{"team": "sre"}, nil
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		got, _ = db.GetAsset(ctx, want.SystemName)
		if d := cmp.Diff(up, got); d != "" || got.IPAddress != "10.0.0.2" || got.CertificateExpiration != nil || len(got.Labels) != 1 {
			t.Errorf("update not stored: %s %+v", d, got)
		}
		if err := db.DeleteAsset(ctx, want.SystemName); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetAsset(ctx, want.SystemName); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("deleted asset still there: %v", err)
		}
		// Its labels went with it: a new asset of that name starts clean.
		if err := db.CreateAsset(ctx, bareNamed(want.SystemName)); err != nil {
			t.Fatal(err)
		}
		if got, _ := db.GetAsset(ctx, want.SystemName); got.Labels != nil {
			t.Errorf("labels survived delete: %v", got.Labels)
		}
	})
}

func bareNamed(n string) *ottr.Asset {
	return &ottr.Asset{SystemName: n, CommonName: n, SubjectAlternativeName: []string{n}, CertificateAuthority: "lets_encrypt", HostPlatform: "f5", CertificateValidation: true}
}

func seed(t *testing.T, db *DB, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		a := bareNamed(fmt.Sprintf("h%02d.example.com", i))
		a.DataCenter = fmt.Sprintf("DC%d", i%3)
		a.HostPlatform = []string{"panos", "f5"}[i%2]
		a.IPAddress = fmt.Sprintf("10.0.0.%d", i)
		a.Origin = []string{"API", "import"}[i%2]
		if i%4 != 0 {
			a.CertificateExpiration = ottr.NewTime(testNow.Add(time.Duration(i*5-20) * 24 * time.Hour))
		}
		if i%5 == 0 {
			a.Labels = map[string]string{"team": "netops"}
		}
		if err := db.CreateAsset(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFindAssets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		seed(t, db, 30)
		find := func(f ottr.AssetFilter) []string {
			t.Helper()
			f.Limit = 1000
			list, _, err := db.FindAssets(t.Context(), f)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, a := range list {
				names = append(names, a.SystemName)
			}
			return names
		}
		if got := find(ottr.AssetFilter{IPAddress: "10.0.0.7"}); !cmp.Equal(got, []string{"h07.example.com"}) {
			t.Errorf("ip filter: %v", got)
		}
		if got := find(ottr.AssetFilter{DataCenter: "DC1", HostPlatform: "f5"}); !cmp.Equal(got, []string{"h01.example.com", "h07.example.com", "h13.example.com", "h19.example.com", "h25.example.com"}) {
			t.Errorf("AND of filters: %v", got)
		}
		if got := find(ottr.AssetFilter{Origin: "API", Labels: map[string]string{"team": "netops"}}); !cmp.Equal(got, []string{"h00.example.com", "h10.example.com", "h20.example.com"}) {
			t.Errorf("label + origin: %v", got)
		}
		if got := find(ottr.AssetFilter{Labels: map[string]string{"team": "other"}}); got != nil {
			t.Errorf("label mismatch: %v", got)
		}
		// Expiry (i*5-20) days from now, null for i%4==0: within 10 days
		// are i = 1,2,3,5 (expired ones included), i=6 is exactly 10.
		days := 10
		if got := find(ottr.AssetFilter{DaysUntilExpiration: &days}); !cmp.Equal(got, []string{"h01.example.com", "h02.example.com", "h03.example.com", "h05.example.com"}) {
			t.Errorf("days_until_expiration: %v", got)
		}
		// Pagination visits every asset exactly once.
		var all []string
		f := ottr.AssetFilter{Limit: 7}
		for pages := 0; ; pages++ {
			page, next, err := db.FindAssets(t.Context(), f)
			if err != nil {
				t.Fatal(err)
			}
			for _, a := range page {
				all = append(all, a.SystemName)
			}
			if next == "" {
				break
			}
			if pages > 10 {
				t.Fatal("pagination does not end")
			}
			f.Cursor = next
		}
		if len(all) != 30 || !sort.StringsAreSorted(all) || all[0] != "h00.example.com" || all[29] != "h29.example.com" {
			t.Errorf("pages: %v", all)
		}
		if _, _, err := db.FindAssets(t.Context(), ottr.AssetFilter{Cursor: "!!not-a-cursor"}); ottr.ErrorCode(err) != ottr.EINVALID || ottr.ErrorProblems(err)[0].Field != "cursor" {
			t.Errorf("bad cursor: %v", err)
		}
	})
}

func TestScanAssets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		seed(t, db, 30)
		var got []string
		err := db.ScanAssets(t.Context(), ottr.AssetScan{ExpiringBefore: testNow.Add(10 * 24 * time.Hour), Brief: true}, func(a *ottr.Asset) error {
			got = append(got, a.SystemName)
			if a.IPAddress != "" || a.Labels != nil || a.CommonName != "" || a.HostPlatform == "" || a.CertificateAuthority == "" {
				t.Errorf("brief scan filled %+v", a)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(got)
		// Null expiries (i%4==0) and those below 10 days (i=1,2,3,5).
		want := []string{"h00.example.com", "h01.example.com", "h02.example.com", "h03.example.com", "h04.example.com", "h05.example.com",
			"h08.example.com", "h12.example.com", "h16.example.com", "h20.example.com", "h24.example.com", "h28.example.com"}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("prefiltered scan (-want +got):\n%s", d)
		}
		n := 0
		err = db.ScanAssets(t.Context(), ottr.AssetScan{}, func(a *ottr.Asset) error {
			n++
			if a.SystemName == "h10.example.com" && a.Labels["team"] != "netops" {
				t.Errorf("full scan lost labels: %+v", a)
			}
			return nil
		})
		if err != nil || n != 30 {
			t.Errorf("full scan: %d assets, %v", n, err)
		}
		boom := errors.New("stop")
		calls := 0
		if err := db.ScanAssets(t.Context(), ottr.AssetScan{}, func(*ottr.Asset) error { calls++; return boom }); !errors.Is(err, boom) || calls != 1 {
			t.Errorf("fn error: %v after %d calls", err, calls)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := db.ScanAssets(ctx, ottr.AssetScan{}, func(*ottr.Asset) error { return nil }); err == nil {
			t.Error("cancelled scan succeeded")
		}
	})
}

func iter(assets ...*ottr.Asset) func() (*ottr.Asset, error) {
	i := 0
	return func() (*ottr.Asset, error) {
		if i == len(assets) {
			return nil, io.EOF
		}
		i++
		return assets[i-1], nil
	}
}

func TestImportAssets(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		res, err := db.ImportAssets(ctx, iter(bareNamed("a.example.com"), bareNamed("b.example.com")), ImportOptions{})
		if err != nil || res.Created != 2 {
			t.Fatalf("import: %+v %v", res, err)
		}
		changed := bareNamed("a.example.com")
		changed.DataCenter = "DC9"
		res, err = db.ImportAssets(ctx, iter(bareNamed("c.example.com"), changed), ImportOptions{})
		if ottr.ErrorCode(err) != ottr.ECONFLICT || !cmp.Equal(res.Conflicts, []string{"a.example.com"}) || res.Created != 0 {
			t.Fatalf("conflict: %+v %v", res, err)
		}
		if _, err := db.GetAsset(ctx, "c.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Error("a conflicting import was not rolled back")
		}
		res, err = db.ImportAssets(ctx, iter(bareNamed("c.example.com"), changed), ImportOptions{SkipConflicts: true})
		if err != nil || res.Created != 1 || len(res.Conflicts) != 1 {
			t.Fatalf("skip conflicts: %+v %v", res, err)
		}
		if a, _ := db.GetAsset(ctx, "a.example.com"); a.DataCenter != "" {
			t.Error("a skipped conflict was written")
		}
		res, err = db.ImportAssets(ctx, iter(changed), ImportOptions{Update: true})
		if err != nil || res.Updated != 1 {
			t.Fatalf("update: %+v %v", res, err)
		}
		if a, _ := db.GetAsset(ctx, "a.example.com"); a.DataCenter != "DC9" {
			t.Error("update not written")
		}
		boom := errors.New("bad file")
		i := 0
		_, err = db.ImportAssets(ctx, func() (*ottr.Asset, error) {
			i++
			if i == 1 {
				return bareNamed("d.example.com"), nil
			}
			return nil, boom
		}, ImportOptions{})
		if !errors.Is(err, boom) {
			t.Errorf("next error: %v", err)
		}
		if _, err := db.GetAsset(ctx, "d.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Error("import failing midway was not rolled back")
		}
	})
}

func TestRotations(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		r1 := &ottr.Rotation{SystemName: "a.example.com", State: ottr.StateQueued, Trigger: ottr.TriggerRouter, Recipe: "x"}
		if err := db.CreateRotation(ctx, r1); err != nil || r1.ID == "" {
			t.Fatalf("create: %v %+v", err, r1)
		}
		r2 := &ottr.Rotation{SystemName: "a.example.com", State: ottr.StateQueued, Trigger: ottr.TriggerAPI}
		if err := db.CreateRotation(ctx, r2); ottr.ErrorCode(err) != ottr.ECONFLICT || r2.ID != r1.ID {
			t.Fatalf("second live rotation: %v, joined %q want %q", err, r2.ID, r1.ID)
		}
		if err := db.AppendRotationLog(ctx, r1.ID, ottr.LogLine{Step: ottr.StepPreflight, Level: "info", Message: "reachable"}); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendRotationLog(ctx, r1.ID, ottr.LogLine{Step: ottr.StepCSR, Level: "info", Message: "csr made"}, ottr.LogLine{Step: ottr.StepOrder, Level: "error", Message: "rate limited"}); err != nil {
			t.Fatal(err)
		}
		if err := db.AppendRotationLog(ctx, "nope", ottr.LogLine{Message: "x"}); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("log for absent rotation: %v", err)
		}
		done := testNow.Add(time.Minute)
		if _, err := db.UpdateRotation(ctx, r1.ID, func(r *ottr.Rotation) error {
			r.State, r.Step, r.Attempts, r.FinishedAt, r.NewSerial = ottr.StateFailed, ottr.StepOrder, 3, &done, "ff"
			r.NewExpiration = ottr.NewTime(testNow.Add(90 * 24 * time.Hour))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err := db.GetRotation(ctx, r1.ID)
		if err != nil {
			t.Fatal(err)
		}
		var msgs []string
		for _, l := range got.Log {
			msgs = append(msgs, string(l.Step)+":"+l.Message)
		}
		if got.State != ottr.StateFailed || got.Attempts != 3 || !got.FinishedAt.Equal(done) || got.NewExpiration == nil ||
			!cmp.Equal(msgs, []string{"preflight:reachable", "csr:csr made", "order:rate limited"}) {
			t.Errorf("rotation = %+v, log %v", got, msgs)
		}
		// Terminal: a new live rotation may start.
		r3 := &ottr.Rotation{SystemName: "a.example.com", State: ottr.StateQueued, Trigger: ottr.TriggerAPI}
		if err := db.CreateRotation(ctx, r3); err != nil || r3.ID == r1.ID {
			t.Fatalf("after failure: %v", err)
		}
		if _, err := db.UpdateRotation(ctx, r1.ID, func(r *ottr.Rotation) error { r.State = ottr.StateRunning; return nil }); ottr.ErrorCode(err) != ottr.ECONFLICT {
			t.Errorf("reviving a rotation beside a live one: %v", err)
		}
		for i := 0; i < 5; i++ {
			if err := db.CreateRotation(ctx, &ottr.Rotation{SystemName: fmt.Sprintf("b%d.example.com", i), State: ottr.StateSucceeded, CreatedAt: testNow.Add(time.Duration(i) * time.Second)}); err != nil {
				t.Fatal(err)
			}
		}
		list, _, err := db.FindRotations(ctx, ottr.RotationFilter{SystemName: "a.example.com"})
		if err != nil || len(list) != 2 || list[0].Log != nil {
			t.Errorf("filter by asset: %d %v", len(list), err)
		}
		var seen []string
		f := ottr.RotationFilter{State: ottr.StateSucceeded, Limit: 2}
		for {
			page, next, err := db.FindRotations(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page {
				seen = append(seen, r.SystemName)
			}
			if next == "" {
				break
			}
			f.Cursor = next
		}
		if !cmp.Equal(seen, []string{"b4.example.com", "b3.example.com", "b2.example.com", "b1.example.com", "b0.example.com"}) {
			t.Errorf("newest first, paged: %v", seen)
		}
		if err := db.CreateRotation(ctx, &ottr.Rotation{SystemName: "x.example.com", State: "bogus"}); ottr.ErrorCode(err) != ottr.EINVALID {
			t.Errorf("bad state: %v", err)
		}
	})
}

func TestUsersAndAudit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		for _, n := range []string{"zed", "amy", "bob"} {
			if err := db.CreateUser(ctx, &ottr.User{Username: n, Role: ottr.RoleDeveloper, PasswordHash: "h-" + n}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.CreateUser(ctx, &ottr.User{Username: "amy", Role: ottr.RoleAdmin}); ottr.ErrorCode(err) != ottr.ECONFLICT {
			t.Errorf("duplicate user: %v", err)
		}
		users, err := db.ListUsers(ctx)
		if err != nil || len(users) != 3 || users[0].Username != "amy" || users[2].Username != "zed" || users[1].PasswordHash != "h-bob" {
			t.Errorf("list: %v %v", users, err)
		}
		if _, err := db.UpdateUser(ctx, "bob", func(u *ottr.User) error { u.Role = ottr.RoleAdmin; return nil }); err != nil {
			t.Fatal(err)
		}
		if u, _ := db.GetUser(ctx, "bob"); u.Role != ottr.RoleAdmin {
			t.Errorf("role not updated: %+v", u)
		}
		if err := db.DeleteUser(ctx, "bob"); err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteUser(ctx, "bob"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("delete twice: %v", err)
		}

		for i, action := range []string{"asset.create", "asset.update", "asset.create"} {
			e := &ottr.Event{Actor: "amy", Action: action, Resource: fmt.Sprintf("asset/a%d", i), After: []byte(`{"x":1}`)}
			if err := db.RecordEvent(ctx, e); err != nil || e.ID == 0 {
				t.Fatalf("record: %v %+v", err, e)
			}
		}
		evs, _, err := db.FindEvents(ctx, ottr.EventFilter{Action: "asset.create"})
		if err != nil || len(evs) != 2 || evs[0].Resource != "asset/a2" || string(evs[0].After) != `{"x":1}` || evs[0].Before != nil {
			t.Errorf("events: %+v %v", evs, err)
		}
		page, next, err := db.FindEvents(ctx, ottr.EventFilter{Limit: 2})
		if err != nil || len(page) != 2 || next == "" {
			t.Fatalf("page 1: %v", err)
		}
		rest, _, _ := db.FindEvents(ctx, ottr.EventFilter{Limit: 2, Cursor: next})
		if len(rest) != 1 || rest[0].Resource != "asset/a0" {
			t.Errorf("page 2: %+v", rest)
		}
	})
}

func TestMigrations(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		again, err := db.Migrate(ctx)
		if err != nil || len(again) != 0 {
			t.Errorf("second migrate applied %v, %v", again, err)
		}
		cur, latest, err := db.MigrationStatus(ctx)
		if err != nil || cur != latest || cur < 1 {
			t.Errorf("status %d/%d %v", cur, latest, err)
		}
		if _, err := db.db.ExecContext(ctx, db.q("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', 0)"), latest+1); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err == nil || !strings.Contains(err.Error(), "newer than this ottr") {
			t.Errorf("newer schema: %v", err)
		}
	})
}

func TestConcurrentUpdatesAllApply(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		if err := db.CreateAsset(ctx, bareNamed("c.example.com")); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < 5; j++ {
					if _, err := db.UpdateAsset(ctx, "c.example.com", func(a *ottr.Asset) error { a.Port++; return nil }); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if a, _ := db.GetAsset(ctx, "c.example.com"); a.Port != 40 {
			t.Errorf("port = %d after 40 increments: updates were lost", a.Port)
		}
	})
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	_, err := Open(ctx, Config{DSN: "postgres://u:s3cretpw@127.0.0.1:1/x?connect_timeout=1"})
	if err == nil || strings.Contains(err.Error(), "s3cretpw") || ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("unreachable PostgreSQL: %v", err)
	}
	if _, err := Open(ctx, Config{DSN: "mysql://x"}); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "database") {
		t.Errorf("bad DSN: %v", err)
	}
	if _, err := Open(ctx, Config{}); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("no data dir: %v", err)
	}
	dir := t.TempDir()
	db, err := Open(ctx, Config{DataDir: dir + "/sub"})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	for p, want := range map[string]os.FileMode{dir + "/sub": 0o700, dir + "/sub/ottr.db": 0o600} {
		if st, err := os.Stat(p); err != nil || st.Mode().Perm() != want {
			t.Errorf("%s mode %v, want %v", p, st.Mode().Perm(), want)
		}
	}
}
