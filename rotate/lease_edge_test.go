package rotate_test

import (
	"context"
	"crypto/x509"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/store"
)

func edgeEngine(t *testing.T, rot *rotate.Rotator, cfg rotate.EngineConfig) *rotate.Engine[*sql.Tx] {
	t.Helper()
	return jobsEngine(t, rot, filepath.Join(t.TempDir(), "jobs.db"), cfg)
}

// startGated queues a rotation of a, starts e and waits until its install
// is held at g.
func startGated(t *testing.T, e *rotate.Engine[*sql.Tx], a *ottr.Asset, g *gate) *ottr.Rotation {
	t.Helper()
	r := &ottr.Rotation{SystemName: a.SystemName, Trigger: ottr.TriggerCLI}
	if _, err := e.Enqueue(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	waitEntered(t, g)
	return r
}

// An attempt that hits the rotation timeout on its last attempt fails the
// rotation: it never stays running with no job and no holder.
func TestTimeoutOnLastAttemptFailsTheRotation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web1")
	g := newGate()
	f.gate(g)
	e := edgeEngine(t, f.rot, rotate.EngineConfig{Concurrency: 2, MaxAttempts: 1,
		RotationTimeout: 1500 * time.Millisecond, PollInterval: 20 * time.Millisecond, Lease: 3 * time.Second})
	r := startGated(t, e, a, g)
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got, _ := f.get(t, r.ID); !got.State.Live() {
			if got.State != ottr.StateFailed || !strings.Contains(got.Error, "deadline") {
				t.Errorf("after its only attempt timed out: %s %q", got.State, got.Error)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	got, log := f.get(t, r.ID)
	t.Fatalf("rotation still %s (attempts %d) 15s after its only attempt timed out; stuck with no job:\n%s", got.State, got.Attempts, log)
}

// Cancelling a running rotation (the API's CancelRotation) stops it at the
// next step boundary: the step in progress is not cut short.
func TestCancelStopsAtStepBoundary(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web2")
	g := newGate()
	f.gate(g)
	e := edgeEngine(t, f.rot, rotate.EngineConfig{Concurrency: 2, MaxAttempts: 3,
		PollInterval: 20 * time.Millisecond, Lease: 900 * time.Millisecond})
	r := startGated(t, e, a, g)
	if _, err := ottr.CancelRotation(t.Context(), f.db, r.ID, "alice", time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if n := g.canceled.Load(); n != 0 {
		t.Errorf("CancelRotation interrupted the install in progress (%d cancelled)", n)
	}
	close(g.open)
	if d := waitDone(t, f, r.ID); d.State != ottr.StateCanceled {
		t.Errorf("canceled rotation ended %s", d.State)
	}
}

// verifyGate blocks the second Current (the verify step) until ctx ends and
// records Restore calls.
type verifyGate struct {
	mu       sync.Mutex
	current  int
	restores int
	entered  chan struct{}
}

type verifyGated struct {
	ottr.Driver
	g *verifyGate
}

func (d verifyGated) Current(ctx context.Context) ([]*x509.Certificate, error) {
	d.g.mu.Lock()
	d.g.current++
	n := d.g.current
	d.g.mu.Unlock()
	if n == 2 {
		d.g.entered <- struct{}{}
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return d.Driver.Current(ctx)
}

func (d verifyGated) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	return d.Driver.(ottr.CSRMaker).CSR(ctx, req)
}

func (d verifyGated) Restore(ctx context.Context, prev []*x509.Certificate) error {
	d.g.mu.Lock()
	d.g.restores++
	d.g.mu.Unlock()
	return d.Driver.(ottr.Restorer).Restore(ctx, prev)
}

// A shutdown (or a lost lease) that cancels the attempt during verify is
// not a failed verification: the device is not rolled back and the issued
// chain stays, so the job it is handed to installs it instead of ordering
// a second certificate.
func TestStopDuringVerifyKeepsTheIssuedChain(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web6")
	// A first rotation gives the device a certificate to restore.
	e0 := newEngine(t, f)
	if err := e0.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	r0 := &ottr.Rotation{SystemName: a.SystemName, Trigger: ottr.TriggerCLI}
	if _, err := e0.Enqueue(t.Context(), r0); err != nil {
		t.Fatal(err)
	}
	if d := waitDone(t, f, r0.ID); d.State != ottr.StateSucceeded {
		t.Fatalf("first rotation %s", d.State)
	}
	e0.Stop(context.Background())
	vg := &verifyGate{entered: make(chan struct{}, 4)}
	f.mu.Lock()
	f.wrap = func(d ottr.Driver) ottr.Driver { return verifyGated{d, vg} }
	f.mu.Unlock()
	jobs := filepath.Join(t.TempDir(), "jobs.db")
	first := leaseEngine(t, f, jobs, "first")
	r := &ottr.Rotation{SystemName: a.SystemName, Trigger: ottr.TriggerCLI}
	if _, err := first.Enqueue(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := first.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-vg.entered:
	case <-time.After(30 * time.Second):
		t.Fatal("verify not reached")
	}
	stop, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := first.Stop(stop); err != nil {
		t.Fatal(err)
	}
	got, log := f.get(t, r.ID)
	vg.mu.Lock()
	restores := vg.restores
	vg.mu.Unlock()
	if restores != 0 || got.Chain == "" {
		t.Errorf("shutdown during verify: %d restores on the device, chain kept=%v (next process orders again)\n%s", restores, got.Chain != "", log)
	}
	f.mu.Lock()
	f.wrap = nil
	f.mu.Unlock()
	second := leaseEngine(t, f, jobs, "second")
	if err := second.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { second.Stop(context.Background()) })
	if d := waitDone(t, f, r.ID); d.State != ottr.StateSucceeded {
		t.Fatalf("handed-over rotation %s", d.State)
	}
	if f.issuer.n != 2 {
		t.Errorf("%d orders for two rotations: the handed-over one ordered again", f.issuer.n)
	}
}

// A worker cut off from the database stops driving the device well
// before another process may take the rotation over.
type failingRenew struct {
	*store.DB
	mu    sync.Mutex
	n     int
	until time.Time // of the last successful claim or renew
}

func (s *failingRenew) ClaimRotation(ctx context.Context, id, owner string, epoch int64, now, until time.Time) (ottr.Claim, error) {
	s.mu.Lock()
	s.until = until
	s.mu.Unlock()
	return s.DB.ClaimRotation(ctx, id, owner, epoch, now, until)
}

// The first renew is slow but succeeds (a loaded database); then the
// database refuses connections (a partition, a failover).
func (s *failingRenew) RenewRotationLease(ctx context.Context, id, owner string, epoch int64, until time.Time) (bool, error) {
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	if n > 1 {
		return false, errors.New("connection refused")
	}
	time.Sleep(150 * time.Millisecond)
	ok, err := s.DB.RenewRotationLease(ctx, id, owner, epoch, until)
	if ok {
		s.mu.Lock()
		s.until = until
		s.mu.Unlock()
	}
	return ok, err
}

// Not parallel: the margin it asserts is a scheduling one, and sibling
// tests' load is not what it measures.
func TestLostDatabaseStopsAttemptBeforeLeaseEnds(t *testing.T) {
	f := newFixture(t)
	a := f.device(t, "web1")
	fr := &failingRenew{DB: f.db}
	rot := *f.rot
	rot.Rotations = fr
	g := newGate()
	f.gate(g)
	const lease = 900 * time.Millisecond
	e := edgeEngine(t, &rot, rotate.EngineConfig{Concurrency: 2, MaxAttempts: 3,
		PollInterval: 20 * time.Millisecond, Lease: lease, Owner: "partitioned"})
	startGated(t, e, a, g)
	deadline := time.Now().Add(5 * time.Second)
	for g.canceled.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	cancelled := time.Now()
	if g.canceled.Load() == 0 {
		t.Fatal("never cancelled")
	}
	fr.mu.Lock()
	until := fr.until
	fr.mu.Unlock()
	// Another process may reap the rotation a third of the lease after
	// until; the attempt stops about a third of the lease before it.
	if margin := until.Sub(cancelled); margin < lease/4 {
		t.Errorf("attempt cancelled only %s before its lease ran out (negative: after); another process could already be driving the device", margin.Round(time.Millisecond))
	}
}

// A job at the current epoch of a rotation that is no longer live (it
// failed or was canceled between a join and the job insert; a failed
// rotation's job is River-"cancelled", which does not block a unique
// insert) completes: it is not taken for "another worker holds it" and
// snoozed forever.
func TestJobOfFinishedRotationCompletes(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web2")
	jobs := filepath.Join(t.TempDir(), "jobs.db")
	e := leaseEngine(t, f, jobs, "p1")
	r := &ottr.Rotation{SystemName: a.SystemName, Trigger: ottr.TriggerCLI}
	if _, err := e.Enqueue(t.Context(), r); err != nil { // job queued, engine not started
		t.Fatal(err)
	}
	if err := f.rot.Fail(t.Context(), r.ID, ottr.Errorf(ottr.EINVALID, "failed elsewhere")); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	db, err := sql.Open("sqlite", "file:"+jobs+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Polled, not slept on: a loaded machine may take a while to fetch the
	// job, and a snoozed one never completes.
	var state, meta string
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if err := db.QueryRow(`SELECT state, metadata FROM river_job WHERE kind = 'ottr_rotation'`).Scan(&state, &meta); err != nil {
			t.Fatal(err)
		}
		if state == "completed" || time.Now().After(deadline) {
			break
		}
	}
	if state != "completed" {
		t.Errorf("job of a failed rotation is %s after 15 s (%s), want completed", state, meta)
	}
}
