package rotate_test

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/storetest"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/store"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// A pass queues every due, routed asset in batches; a second pass joins
// the live rotations instead of doubling them.
func TestRouterPassQueuesInBatches(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := t.Context()
	const n = 2345 // three batches
	var as []*ottr.Asset
	for i := range n {
		as = append(as, &ottr.Asset{SystemName: fmt.Sprintf("fw%04d.example.com", i), CommonName: fmt.Sprintf("fw%04d.example.com", i),
			CertificateAuthority: "lets_encrypt", HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX"})
	}
	// Two unrouted ones are left alone.
	as = append(as, &ottr.Asset{SystemName: "odd.example.com", CommonName: "odd.example.com", CertificateAuthority: "lets_encrypt", HostPlatform: "PENDING"})
	i := 0
	next := func() (*ottr.Asset, error) {
		if i == len(as) {
			return nil, io.EOF
		}
		i++
		return as[i-1], nil
	}
	if _, err := db.ImportAssets(ctx, next, store.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	jobs, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	jobs.SetMaxOpenConns(1)
	t.Cleanup(func() { jobs.Close() })
	rot := &rotate.Rotator{Assets: db, Rotations: db}
	rt := routes(t)
	e, err := rotate.NewEngine(riversqlite.New(jobs), rot, rotate.EngineConfig{
		Router: func(context.Context) (*rotate.Router, error) { return &rotate.Router{Assets: db, Routes: rt}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := e.RouterPass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Due != n+1 || res.Routed != n || res.Unrouted != 1 || res.Queued != n || res.Joined != 0 {
		t.Fatalf("first pass: %+v", res)
	}
	t.Logf("queued %d rotations in %s", res.Queued, res.Enqueue.Round(time.Millisecond))
	queued, _, err := db.FindRotations(ctx, ottr.RotationFilter{State: ottr.StateQueued, Limit: 5000})
	if err != nil || len(queued) != n {
		t.Fatalf("%d queued rotations, %v", len(queued), err)
	}
	var jobsN int
	if err := jobs.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'ottr_rotation' AND state = 'available'`).Scan(&jobsN); err != nil || jobsN != n {
		t.Fatalf("%d rotation jobs, %v", jobsN, err)
	}
	res, err = e.RouterPass(ctx)
	if err != nil || res.Queued != 0 || res.Joined != n {
		t.Fatalf("second pass: %+v %v", res, err)
	}
	if err := jobs.QueryRow(`SELECT count(*) FROM river_job WHERE kind = 'ottr_rotation'`).Scan(&jobsN); err != nil || jobsN != n {
		t.Fatalf("%d rotation jobs after the second pass, %v", jobsN, err)
	}
	// Both passes are on record, newest first, with what each did.
	passes, err := db.RouterPasses(ctx, 10)
	if err != nil || len(passes) != 2 {
		t.Fatalf("recorded passes = %d, %v", len(passes), err)
	}
	if p := passes[1]; p.Queued != n || p.Joined != 0 || p.Due != n+1 || p.Unrouted != 1 || p.Owner != e.Owner() || p.Error != "" {
		t.Fatalf("first pass on record: %+v", p)
	}
	if p := passes[0]; p.Queued != 0 || p.Joined != n || p.FinishedAt.Before(p.StartedAt) {
		t.Fatalf("second pass on record: %+v", p)
	}
}

// Three replicas on one PostgreSQL database route the fleet once per
// interval between them, not once each.
func TestRouterRunsOncePerIntervalAcrossReplicas(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	db, err := store.Open(t.Context(), store.Config{DSN: dsn, Sealer: testSealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	const interval = 2 * time.Second
	start := time.Now()
	var passes, reads atomic.Int32
	// One asset no route serves: each pass's watch reads it once.
	if err := db.CreateAsset(t.Context(), &ottr.Asset{SystemName: "sw1.example.com", CommonName: "sw1.example.com",
		CertificateAuthority: "lets_encrypt", HostPlatform: "nxos"}); err != nil {
		t.Fatal(err)
	}
	watch := &rotate.Watcher{Assets: db, Observe: func(context.Context, *ottr.Asset) ([]*x509.Certificate, error) {
		reads.Add(1)
		return nil, errors.New("unreachable")
	}}
	rot := &rotate.Rotator{Assets: db, Rotations: db}
	var engines []*rotate.Engine[pgx.Tx]
	for i := range 3 {
		pool, err := pgxpool.New(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		e, err := rotate.NewEngine(riverpgxv5.New(pool), rot, rotate.EngineConfig{
			PollInterval: 50 * time.Millisecond, RouterInterval: interval, Owner: fmt.Sprintf("replica%d", i),
			Router: func(context.Context) (*rotate.Router, error) {
				passes.Add(1)
				t.Logf("pass on replica%d at %s", i, time.Since(start).Round(time.Millisecond))
				return &rotate.Router{Assets: db}, nil
			},
			Watch: watch,
		})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if err := e.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		engines = append(engines, e)
	}
	for _, e := range engines {
		if err := e.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Stop(context.Background()) })
	}
	time.Sleep(4*interval + interval/2)
	elapsed := time.Since(start)
	got := int(passes.Load())
	// One pass at the leader's start, then one per interval: 4 or 5 in
	// 4.5 intervals; every replica running its own would make 12 or more.
	max := int(elapsed/interval) + 1
	if got < 2 || got > max {
		t.Fatalf("%d router passes in %s with a %s interval across 3 replicas (want 2..%d)", got, elapsed.Round(time.Millisecond), interval, max)
	}
	t.Logf("%d passes in %s", got, elapsed.Round(time.Millisecond))
	if r := int(reads.Load()); r < got-1 || r > got {
		t.Fatalf("the unrouted asset was read %d times in %d passes: the watch runs once per pass, not per replica", r, got)
	}
	// Every pass is on record, and each replica names the same leader,
	// one of them, and the next pass one interval after the last.
	recorded, err := db.RouterPasses(t.Context(), 100)
	if err != nil || len(recorded) < got-1 || len(recorded) > got {
		t.Fatalf("%d passes recorded for %d run: %v", len(recorded), got, err)
	}
	leader := ""
	for i, e := range engines {
		st, err := e.RouterStatus(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if st.Replica != fmt.Sprintf("replica%d", i) || st.IntervalSeconds != 2 || st.LastPass == nil {
			t.Fatalf("replica%d status: %+v", i, st)
		}
		if st.NextPass == nil || !st.NextPass.Equal(st.LastPass.StartedAt.Add(interval)) {
			t.Fatalf("replica%d next pass %v after last %v", i, st.NextPass, st.LastPass.StartedAt)
		}
		if leader == "" {
			leader = st.Leader
		}
		if st.Leader != leader || !strings.HasPrefix(leader, "replica") {
			t.Fatalf("replica%d names leader %q, another named %q", i, st.Leader, leader)
		}
	}
}

// The watch pass follows the router's in the same job; what it read is
// in the pass's result and on record.
func TestRouterPassWatches(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := t.Context()
	for _, a := range []*ottr.Asset{
		{SystemName: "fw1.example.com", HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX"},
		{SystemName: "sw1.example.com", HostPlatform: "nxos"},
		{SystemName: "sw2.example.com", HostPlatform: "nxos"},
	} {
		a.CommonName, a.CertificateAuthority = a.SystemName, "lets_encrypt"
		if err := db.CreateAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	cert := leaf(t, 7, "Corp CA", time.Now().Add(-time.Hour), time.Now().Add(100*24*time.Hour))
	fleet := &devices{serves: map[string][]*x509.Certificate{"sw1.example.com": {cert}}}
	jobs, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	jobs.SetMaxOpenConns(1)
	t.Cleanup(func() { jobs.Close() })
	rt := routes(t)
	e, err := rotate.NewEngine(riversqlite.New(jobs), &rotate.Rotator{Assets: db, Rotations: db}, rotate.EngineConfig{
		Router: func(context.Context) (*rotate.Router, error) { return &rotate.Router{Assets: db, Routes: rt}, nil },
		Watch:  &rotate.Watcher{Assets: db, Observe: fleet.observe},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	res, err := e.RouterPass(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Queued != 1 || res.Watch == nil || res.Watch.Unrouted != 2 || res.Watch.Watched != 1 || res.Watch.Failed != 1 {
		t.Fatalf("pass = %+v, watch %+v", res, res.Watch)
	}
	if got := fleet.askedFor(); !slices.Equal(got, []string{"sw1.example.com", "sw2.example.com"}) {
		t.Errorf("read %v", got)
	}
	passes, err := db.RouterPasses(ctx, 1)
	if err != nil || len(passes) != 1 || passes[0].Watched != 1 || passes[0].WatchFailed != 1 {
		t.Fatalf("recorded pass = %+v, %v", passes, err)
	}
}
