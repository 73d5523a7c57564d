package rotate_test

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/ottr-dev/ottr/store"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	_ "modernc.org/sqlite"
)

func newEngine(t *testing.T, f *fixture) *rotate.Engine[*sql.Tx] {
	t.Helper()
	// River gets its own SQLite file and a single connection, as its
	// SQLite driver asks.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	e, err := rotate.NewEngine(riversqlite.New(db), f.rot, rotate.EngineConfig{
		Concurrency: 4, MaxAttempts: 3, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return e
}

// postgresSchema makes a schema of its own for one test and returns a DSN
// whose search_path is it.
func postgresSchema(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv("OTTR_TEST_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("OTTR_TEST_POSTGRES_DSN is not set; CI must run the PostgreSQL engine test")
		}
		t.Skip("OTTR_TEST_POSTGRES_DSN not set")
	}
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	schema := fmt.Sprintf("ottr_engine_%d", time.Now().UnixNano())
	if _, err := raw.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Exec("DROP SCHEMA " + schema + " CASCADE"); raw.Close() })
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// The same engine on PostgreSQL: River's pgx driver, store and jobs in one
// database, two engines (replicas) sharing the work.
func TestEnginePostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	f := newFixtureOn(t, store.Config{DSN: dsn, Sealer: testSealer})
	var engines []*rotate.Engine[pgx.Tx]
	for range 2 {
		pool, err := pgxpool.New(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		e, err := rotate.NewEngine(riverpgxv5.New(pool), f.rot, rotate.EngineConfig{
			Concurrency: 3, MaxAttempts: 3, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
			PollInterval: 20 * time.Millisecond,
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		if err := e.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Stop(t.Context()) })
		engines = append(engines, e)
	}
	var ids []string
	for i, n := range []string{"web1", "web2", "web3", "web4"} {
		a := f.device(t, n)
		r := &ottr.Rotation{SystemName: a.SystemName}
		if _, err := engines[i%2].Enqueue(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	for _, id := range ids {
		if r := waitDone(t, f, id); r.State != ottr.StateSucceeded || r.Attempts != 1 {
			_, log := f.get(t, id)
			t.Errorf("rotation %s: %s after %d attempts\n%s", id, r.State, r.Attempts, log)
		}
	}
	if f.issuer.n != 4 {
		t.Errorf("%d orders for 4 rotations: a rotation ran twice", f.issuer.n)
	}
}

func waitDone(t *testing.T, f *fixture, id string) *ottr.Rotation {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		r, _ := f.get(t, id)
		if !r.State.Live() {
			return r
		}
		time.Sleep(20 * time.Millisecond)
	}
	r, log := f.get(t, id)
	t.Fatalf("rotation %s still %s after 60s:\n%s", id, r.State, log)
	return nil
}

func TestEngine(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	e := newEngine(t, f)
	ctx := t.Context()

	// Queued before the engine runs: picked up at start.
	early := f.device(t, "web1")
	pre := &ottr.Rotation{SystemName: early.SystemName, Trigger: ottr.TriggerRouter}
	if err := f.db.CreateRotation(ctx, &ottr.Rotation{SystemName: early.SystemName, State: ottr.StateQueued}); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(t.Context()) })
	if joined, err := e.Enqueue(ctx, pre); err != nil || !joined {
		t.Fatalf("second request for a live rotation: joined %v, %v", joined, err)
	}

	var ids []string
	for _, n := range []string{"web2", "web3", "web4"} {
		a := f.device(t, n)
		r := &ottr.Rotation{SystemName: a.SystemName, Trigger: ottr.TriggerCLI}
		if joined, err := e.Enqueue(ctx, r); err != nil || joined {
			t.Fatalf("enqueue %s: %v %v", n, joined, err)
		}
		ids = append(ids, r.ID)
	}
	// A transient failure is retried: the install fails once.
	flaky := f.device(t, "web5")
	marker := filepath.Join(t.TempDir(), "failed-once")
	script := filepath.Join(t.TempDir(), "install.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nif [ ! -f "+marker+" ]; then touch "+marker+"; echo 'device busy' >&2; exit 1; fi\nexec "+filepath.Join(template, "install.sh")+"\n"), 0o755)
	f.setScript(flaky.SystemName, script)
	rf := &ottr.Rotation{SystemName: flaky.SystemName}
	if _, err := e.Enqueue(ctx, rf); err != nil {
		t.Fatal(err)
	}
	// A permanent failure fails at once: the credentials are refused.
	denied := f.device(t, "web6")
	bad := filepath.Join(t.TempDir(), "denied.sh")
	os.WriteFile(bad, []byte("#!/bin/sh\necho 'permission denied' >&2\nexit 77\n"), 0o755)
	f.setScript(denied.SystemName, bad)
	rd := &ottr.Rotation{SystemName: denied.SystemName}
	if _, err := e.Enqueue(ctx, rd); err != nil {
		t.Fatal(err)
	}

	for _, id := range append(ids, pre.ID) {
		if r := waitDone(t, f, id); r.State != ottr.StateSucceeded {
			_, log := f.get(t, id)
			t.Errorf("rotation %s: %s %s\n%s", id, r.State, r.Error, log)
		}
	}
	if r := waitDone(t, f, rf.ID); r.State != ottr.StateSucceeded || r.Attempts != 2 {
		t.Errorf("flaky device: %s after %d attempts (%s)", r.State, r.Attempts, r.Error)
	}
	if r := waitDone(t, f, rd.ID); r.State != ottr.StateFailed || r.Attempts != 1 {
		t.Errorf("refused credentials: %s after %d attempts", r.State, r.Attempts)
	}
	if f.issuer.n != 6 {
		t.Errorf("%d orders, want 6: one per device, none again for the retried one", f.issuer.n)
	}
}
