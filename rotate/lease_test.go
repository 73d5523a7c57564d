package rotate_test

import (
	"context"
	"crypto/x509"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// leaseEngine is an engine with a short lease (3s) over the jobs file
// jobs, which two engines share to stand for one server and its restart.
func leaseEngine(t *testing.T, f *fixture, jobs, owner string) *rotate.Engine[*sql.Tx] {
	t.Helper()
	return leaseEngineFor(t, f, jobs, owner, 3*time.Second)
}

func leaseEngineFor(t *testing.T, f *fixture, jobs, owner string, lease time.Duration) *rotate.Engine[*sql.Tx] {
	t.Helper()
	return jobsEngine(t, f.rot, jobs, rotate.EngineConfig{
		Concurrency: 4, MaxAttempts: 3, BaseBackoff: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		PollInterval: 20 * time.Millisecond, Lease: lease, Owner: owner,
	})
}

// jobsEngine is an engine over the SQLite jobs file jobs: River's SQLite
// driver on one connection, as it asks.
func jobsEngine(t *testing.T, rot *rotate.Rotator, jobs string, cfg rotate.EngineConfig) *rotate.Engine[*sql.Tx] {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+jobs+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	e, err := rotate.NewEngine(riversqlite.New(db), rot, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return e
}

// gate holds every Install until opened (or the attempt's context ends),
// and records the contexts' ends.
type gate struct {
	open     chan struct{}
	entered  chan string
	canceled atomic.Int32
}

func newGate() *gate { return &gate{open: make(chan struct{}), entered: make(chan string, 16)} }

type gatedDriver struct {
	ottr.Driver
	g *gate
}

func (d gatedDriver) Install(ctx context.Context, chain []*x509.Certificate) error {
	d.g.entered <- chain[0].Subject.CommonName
	select {
	case <-d.g.open:
		return d.Driver.Install(ctx, chain)
	case <-ctx.Done():
		d.g.canceled.Add(1)
		return ctx.Err()
	}
}

func (d gatedDriver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	return d.Driver.(ottr.CSRMaker).CSR(ctx, req)
}

func (d gatedDriver) Restore(ctx context.Context, prev []*x509.Certificate) error {
	return d.Driver.(ottr.Restorer).Restore(ctx, prev)
}

func (f *fixture) gate(g *gate) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wrap = func(d ottr.Driver) ottr.Driver { return gatedDriver{d, g} }
}

func waitEntered(t *testing.T, g *gate) {
	t.Helper()
	select {
	case <-g.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("no install started")
	}
}

// A process killed mid-rotation leaves the rotation held by a worker that
// will never renew: the next process takes it over once the lease runs
// out, from the step recorded (the certificate already issued, so no new
// order), and the dead attempt changes nothing when it comes back.
func TestDeadWorkerRotationTakenOver(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web1")
	r := f.queue(t, a)
	// The dead process: it claimed the rotation and ran it up to the
	// install, and then stopped — no heartbeat, no job of its own left
	// in this jobs file (kill -9 writes nothing more).
	g := newGate()
	f.gate(g)
	now := time.Now()
	if c, err := f.db.ClaimRotation(t.Context(), r.ID, "dead-process", 0, now, now.Add(3*time.Second)); err != nil || !c.Claimed {
		t.Fatalf("claim: %+v %v", c, err)
	}
	deadCtx, kill := context.WithCancel(context.Background())
	var dead sync.WaitGroup
	dead.Go(func() { _ = f.rot.Run(deadCtx, r.ID) })
	waitEntered(t, g)
	killed := time.Now()
	if got, _ := f.get(t, r.ID); got.Step != ottr.StepInstall || got.Chain == "" {
		t.Fatalf("not at install with a chain: %s", got.Step)
	}
	f.mu.Lock()
	f.wrap = nil // the next process finds a working device
	f.mu.Unlock()

	next := leaseEngine(t, f, filepath.Join(t.TempDir(), "jobs.db"), "new-process")
	if err := next.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { next.Stop(context.Background()) })
	done := waitDone(t, f, r.ID)
	took := time.Since(killed)
	_, log := f.get(t, r.ID)
	if done.State != ottr.StateSucceeded {
		t.Fatalf("taken-over rotation: %s %s\n%s", done.State, done.Error, log)
	}
	// Lease 3s, checked every second: a few seconds, far from River's
	// 35-minute rescue.
	if took > 10*time.Second {
		t.Errorf("took %s to finish after the worker died (lease 3s)", took)
	}
	t.Logf("rotation finished %s after its worker died (lease 3s)", took.Round(time.Millisecond))
	if f.issuer.n != 1 {
		t.Errorf("%d orders: the takeover ordered again instead of installing the issued certificate", f.issuer.n)
	}
	if !strings.Contains(log, "resuming with the certificate already issued") {
		t.Errorf("not resumed from the recorded step:\n%s", log)
	}
	// The dead attempt wakes up (a frozen VM resumed): it may not touch
	// the finished rotation.
	kill()
	dead.Wait()
	if again, _ := f.get(t, r.ID); again.State != ottr.StateSucceeded || again.NewSerial != done.NewSerial || again.Error != "" {
		t.Errorf("the dead attempt changed the rotation: %s %s %q", again.State, again.NewSerial, again.Error)
	}
}

// A worker whose rotation was taken over (it could not reach the
// database to renew, and another process went on) stops driving the
// device and leaves the rotation to the other.
func TestLostLeaseStopsAttempt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web2")
	g := newGate()
	f.gate(g)
	e := leaseEngine(t, f, filepath.Join(t.TempDir(), "jobs.db"), "slow-process")
	r := startGated(t, e, a, g)
	// Another process takes the rotation over (its clock an hour ahead,
	// it finds the lease run out).
	if ls, err := f.db.ReapRotationLeases(t.Context(), time.Now().Add(time.Hour), 10); err != nil || len(ls) != 1 {
		t.Fatalf("take over: %+v %v", ls, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for g.canceled.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if g.canceled.Load() != 1 {
		t.Fatal("the attempt went on driving the device after losing its lease")
	}
	time.Sleep(200 * time.Millisecond) // let the worker return
	got, log := f.get(t, r.ID)
	if got.State != ottr.StateRunning || got.LeaseEpoch != 1 {
		t.Errorf("after losing the lease: %s epoch %d (want running, left to the new holder)\n%s", got.State, got.LeaseEpoch, log)
	}
}

// Stopping a server hands its running rotations over at once: the next
// process continues them without waiting out a lease or a backoff.
func TestStopHandsOver(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web3")
	g := newGate()
	f.gate(g)
	jobs := filepath.Join(t.TempDir(), "jobs.db")
	// A lease long enough that waiting it out cannot pass for a hand-over
	// on a loaded machine (the tests run in parallel).
	const lease = 10 * time.Second
	first := leaseEngineFor(t, f, jobs, "first", lease)
	r := &ottr.Rotation{SystemName: a.SystemName, Trigger: ottr.TriggerCLI}
	if _, err := first.Enqueue(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := first.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	waitEntered(t, g)
	stop, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := first.Stop(stop); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if g.canceled.Load() != 1 {
		t.Fatal("the running attempt was not cancelled by the stop")
	}
	got, _ := f.get(t, r.ID)
	if got.LeaseEpoch != 1 || !got.State.Live() {
		t.Fatalf("not handed over: %s epoch %d", got.State, got.LeaseEpoch)
	}
	f.mu.Lock()
	f.wrap = nil
	f.mu.Unlock()
	stopped := time.Now()
	second := leaseEngineFor(t, f, jobs, "second", lease)
	if err := second.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Stop(context.Background()) })
	done := waitDone(t, f, r.ID)
	if done.State != ottr.StateSucceeded {
		_, log := f.get(t, r.ID)
		t.Fatalf("handed-over rotation: %s\n%s", done.State, log)
	}
	// No lease to wait out and no retry backoff.
	took := time.Since(stopped)
	t.Logf("continued %s after the stop", took.Round(time.Millisecond))
	if took > lease/2 {
		t.Errorf("continued %s after the stop (lease %s)", took, lease)
	}
	if f.issuer.n != 1 {
		t.Errorf("%d orders for one rotation", f.issuer.n)
	}
}
