package rotate

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"
)

// RotationArgs is the durable job that runs one rotation.
type RotationArgs struct {
	RotationID string `json:"rotation_id"`
	SystemName string `json:"system_name"`
	// Epoch is the rotation's lease epoch when the job was queued; a job
	// whose epoch the rotation has left behind (its worker died and
	// another process took over) does nothing.
	Epoch int64 `json:"epoch,omitempty"`
}

// Kind names the job in River's tables.
func (RotationArgs) Kind() string { return "ottr_rotation" }

// InsertOpts makes inserting the same rotation twice a no-op while its job
// is live, so recovering queued rotations after a restart is safe.
func (RotationArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// EngineConfig sizes the engine.
type EngineConfig struct {
	// Concurrency is how many rotations run at once; default 50.
	Concurrency int
	// MaxAttempts per rotation before it fails; default 5.
	MaxAttempts int
	// BaseBackoff is the first retry delay, doubled per attempt with ±20 %
	// jitter up to MaxBackoff; defaults 30s and 30m.
	BaseBackoff, MaxBackoff time.Duration
	// RotationTimeout bounds one attempt; default 30m.
	RotationTimeout time.Duration
	// PollInterval is how often idle workers look for jobs; default 1s
	// (SQLite has no notifications; PostgreSQL also gets LISTEN/NOTIFY).
	PollInterval time.Duration
	// Lease is how long a worker holds a rotation without renewing it
	// (renewed every third of it; the worker stops its attempt if it could
	// not renew for two thirds); a rotation whose worker died is taken over
	// by another process within about Lease plus two thirds. Default 20s.
	Lease time.Duration
	// Owner names this process in rotation leases; default host-pid-random.
	Owner string
	// Router builds the router for a pass (so the route table is read
	// afresh); nil runs no router. The engine runs one pass every
	// RouterInterval (default 1h) across all processes sharing the
	// database: River elects one leader, which queues the passes. A
	// negative RouterInterval runs passes only when RouterPass is called.
	Router         func(ctx context.Context) (*Router, error)
	RouterInterval time.Duration
	// Watch, with a Router, follows each router pass in the same job: the
	// assets no route serves have their served certificate read and
	// recorded. Its Budget defaults to half the router interval (and of
	// RotationTimeout, which bounds the job). nil watches nothing.
	Watch  *Watcher
	Logger *slog.Logger
}

// Engine runs rotations as durable River jobs: at most Concurrency at once,
// retried with backoff on transient errors, failed at once on permanent
// ones, and picked up again after a crash or on another replica. Every
// process sharing the database runs one; River elects a leader among them
// that queues the router passes, and a worker that dies mid-rotation is
// replaced through the rotation's lease (ottr.RotationLeaser).
type Engine[TX any] struct {
	rot    *Rotator
	cfg    EngineConfig
	driver riverdriver.Driver[TX]
	client *river.Client[TX]
	// leases is the rotation store's lease side; nil when it has none
	// (a rotation then waits for River's rescuer after a crash).
	leases ottr.RotationLeaser
	// passes is the rotation store's router pass log; nil when it has none.
	passes ottr.RouterPassLog
	// stopping is set when Stop begins: a rotation cut short by it is
	// handed over, not retried after a backoff.
	stopping atomic.Bool
	done     chan struct{}
	wg       sync.WaitGroup
}

// NewEngine builds an engine over a River driver (riversqlite or
// riverpgxv5) and a Rotator.
func NewEngine[TX any](driver riverdriver.Driver[TX], rot *Rotator, cfg EngineConfig) (*Engine[TX], error) {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 50
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 5
	}
	if cfg.BaseBackoff <= 0 {
		cfg.BaseBackoff = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Minute
	}
	if cfg.RotationTimeout <= 0 {
		cfg.RotationTimeout = 30 * time.Minute
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 20 * time.Second
	}
	if cfg.Owner == "" {
		cfg.Owner = defaultOwner()
	}
	if cfg.RouterInterval == 0 {
		cfg.RouterInterval = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Watch != nil && cfg.Watch.Budget <= 0 {
		// A pass leaves the devices it could not reach in time for the
		// next one rather than delay it, or run into the job's timeout.
		w := *cfg.Watch
		w.Budget = cfg.RotationTimeout / 2
		if cfg.RouterInterval > 0 {
			w.Budget = min(w.Budget, cfg.RouterInterval/2)
		}
		cfg.Watch = &w
	}
	e := &Engine[TX]{rot: rot, cfg: cfg, driver: driver, done: make(chan struct{})}
	e.leases, _ = rot.Rotations.(ottr.RotationLeaser)
	e.passes, _ = rot.Rotations.(ottr.RouterPassLog)
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker[TX]{e: e})
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Concurrency}}
	var periodic []*river.PeriodicJob
	if cfg.Router != nil && cfg.RouterInterval > 0 {
		river.AddWorker(workers, &routerWorker[TX]{e: e})
		queues[routerQueue] = river.QueueConfig{MaxWorkers: 1}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.RouterInterval),
			func() (river.JobArgs, *river.InsertOpts) { return RouterPassArgs{}, e.routerInsertOpts() },
			&river.PeriodicJobOpts{ID: "ottr_router", RunOnStart: true}))
	}
	client, err := river.NewClient(driver, &river.Config{
		// River's leader is named like the rotation leases' holders, so
		// status pages name one process one way.
		ID:           clientID(cfg.Owner),
		Queues:       queues,
		Workers:      workers,
		PeriodicJobs: periodic,
		MaxAttempts:  cfg.MaxAttempts,
		JobTimeout:   cfg.RotationTimeout,
		// A dead worker's rotation is taken over through its lease long
		// before this; River's rescue only retires the dead job, which
		// then finds its epoch superseded and does nothing.
		RescueStuckJobsAfter: cfg.RotationTimeout + 5*time.Minute,
		FetchCooldown:        min(cfg.PollInterval, 100*time.Millisecond),
		FetchPollInterval:    cfg.PollInterval,
		// River's own info lines (client started, job retried) repeat what
		// the rotation log says; keep its warnings and errors.
		Logger: slog.New(minLevel{cfg.Logger.Handler(), slog.LevelWarn}).With("component", "river"),
	})
	if err != nil {
		return nil, fmt.Errorf("job queue: %w", err)
	}
	e.client = client
	return e, nil
}

func defaultOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = crand.Read(b)
	return fmt.Sprintf("%s-%d-%x", host, os.Getpid(), b)
}

// Owner is the name this process holds rotation leases under.
func (e *Engine[TX]) Owner() string { return e.cfg.Owner }

// Migrate creates or upgrades River's tables.
func (e *Engine[TX]) Migrate(ctx context.Context) error {
	m, err := rivermigrate.New(e.driver, &rivermigrate.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if _, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return fmt.Errorf("migrate job queue: %w", err)
	}
	return nil
}

// Start starts the workers and the lease reaper, and queues a job for
// every live rotation that has none (created while no engine ran, or
// before a crash).
func (e *Engine[TX]) Start(ctx context.Context) error {
	// River stops hard when its start context ends; the caller's Stop
	// decides how running rotations end instead.
	if err := e.client.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	if e.leases != nil {
		e.wg.Go(func() { e.reapLoop(context.WithoutCancel(ctx)) })
	}
	return e.Recover(ctx)
}

// Stop stops taking jobs and waits for running rotations to finish, until
// ctx ends; then they are cancelled and handed over: another process (or
// this one's next start) continues each from its recorded step at once.
func (e *Engine[TX]) Stop(ctx context.Context) error {
	if e.stopping.Swap(true) {
		return nil
	}
	close(e.done)
	defer e.wg.Wait()
	err := e.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		// Bounded too: a driver that ignores its context must not keep
		// the process from exiting; its rotation's lease then runs out.
		hard, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return e.client.StopAndCancel(hard)
	}
	return err
}

// Recover queues a job for each queued or running rotation at its current
// epoch; rotations that have a live job are left alone (the insert is
// unique by its arguments).
func (e *Engine[TX]) Recover(ctx context.Context) error {
	for _, st := range []ottr.State{ottr.StateQueued, ottr.StateRunning} {
		cursor := ""
		for {
			rs, next, err := e.rot.Rotations.FindRotations(ctx, ottr.RotationFilter{State: st, Limit: 500, Cursor: cursor})
			if err != nil {
				return err
			}
			if err := e.insertJobs(ctx, rotationJobs(rs)); err != nil {
				return fmt.Errorf("queue live rotations: %w", err)
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return nil
}

// Enqueue starts a rotation of asset, or joins the live one. It returns
// the rotation and whether it was already live.
func (e *Engine[TX]) Enqueue(ctx context.Context, r *ottr.Rotation) (joined bool, err error) {
	r.State = ottr.StateQueued
	err = e.rot.Rotations.CreateRotation(ctx, r)
	if ottr.ErrorCode(err) == ottr.ECONFLICT && r.State.Live() {
		joined = true
	} else if err != nil {
		return false, err
	}
	if _, err := e.client.Insert(ctx, RotationArgs{RotationID: r.ID, SystemName: r.SystemName, Epoch: r.LeaseEpoch}, nil); err != nil {
		return joined, fmt.Errorf("queue rotation %s: %w", r.ID, err)
	}
	return joined, nil
}

// EnqueueMany is Enqueue for many rotations: created in batches and their
// jobs inserted in one call per batch. joined[i] says rs[i] was live.
func (e *Engine[TX]) EnqueueMany(ctx context.Context, rs []*ottr.Rotation) (joined []bool, err error) {
	for _, r := range rs {
		r.State = ottr.StateQueued
	}
	if b, ok := e.rot.Rotations.(ottr.RotationBatcher); ok {
		if joined, err = b.CreateRotations(ctx, rs); err != nil {
			return nil, err
		}
	} else {
		joined = make([]bool, len(rs))
		for i, r := range rs {
			err := e.rot.Rotations.CreateRotation(ctx, r)
			if ottr.ErrorCode(err) == ottr.ECONFLICT && r.State.Live() {
				joined[i] = true
			} else if err != nil {
				return nil, err
			}
		}
	}
	if err := e.insertJobs(ctx, rotationJobs(rs)); err != nil {
		return joined, fmt.Errorf("queue %d rotations: %w", len(rs), err)
	}
	return joined, nil
}

// reapLoop takes over, every third of the lease, the rotations whose
// holder stopped renewing, and queues a job for each at its new epoch; and
// every sweepEvery queues the live rotations nobody holds that have not
// moved for as long (a crash between recording a rotation and queueing its
// job). Every process runs it: the database gives each rotation to one,
// and a job already queued is not queued twice.
func (e *Engine[TX]) reapLoop(ctx context.Context) {
	t := time.NewTicker(e.cfg.Lease / 3)
	defer t.Stop()
	sweep := e.sweepEvery()
	lastSweep := time.Now()
	for {
		select {
		case <-e.done:
			return
		case <-t.C:
		}
		if _, err := e.Reap(ctx); err != nil {
			e.cfg.Logger.Warn("taking over rotations of stopped workers", "err", err)
		}
		if _, err := e.RescueUnclaimed(ctx); err != nil {
			e.cfg.Logger.Warn("taking over rotations whose worker died before claiming them", "err", err)
		}
		if time.Since(lastSweep) >= sweep {
			lastSweep = time.Now()
			if _, err := e.Sweep(ctx); err != nil {
				e.cfg.Logger.Warn("queueing rotations left without a job", "err", err)
			}
		}
	}
}

// sweepEvery is how often, and after how long unchanged, unheld live
// rotations are queued again: long enough that a rotation waiting its turn
// in a large queue is rarely touched.
func (e *Engine[TX]) sweepEvery() time.Duration { return min(5*time.Minute, 10*e.cfg.Lease) }

// Reap takes over the rotations whose worker stopped renewing its lease
// and queues them; it returns how many. A lease is taken over a third of
// the lease after it ran out: the holder's own clock and its unwinding
// after it stops get that much slack.
func (e *Engine[TX]) Reap(ctx context.Context) (int, error) {
	if e.leases == nil {
		return 0, nil
	}
	n := 0
	for {
		ls, err := e.leases.ReapRotationLeases(ctx, time.Now().Add(-e.cfg.Lease/3), 500)
		if err != nil || len(ls) == 0 {
			return n, err
		}
		for _, l := range ls {
			e.cfg.Logger.Info("rotation taken over from a stopped worker", "rotation_id", l.RotationID, "asset", l.SystemName, "epoch", l.Epoch)
		}
		// Should this fail, or the process die here, the rotations are
		// unheld without a job: the sweep (or the next start) queues them.
		if err := e.insertLeases(ctx, ls); err != nil {
			return n, fmt.Errorf("queue %d rotations taken over: %w", len(ls), err)
		}
		n += len(ls)
	}
}

// RescueUnclaimed takes over the rotations whose job a worker fetched and
// then died before claiming the rotation (a kill in the milliseconds
// between the two): River counts the job as running until its rescuer
// gives up on it, long after, and the same job cannot be queued again
// meanwhile. A rotation job running for a lease's time whose rotation
// nobody holds is such a job; the rotation moves to a new epoch (the dead
// job, should it run again, is superseded) with a job of its own. It
// returns how many.
func (e *Engine[TX]) RescueUnclaimed(ctx context.Context) (int, error) {
	if e.leases == nil {
		return 0, nil
	}
	res, err := e.client.JobList(ctx, river.NewJobListParams().Kinds(RotationArgs{}.Kind()).
		States(rivertype.JobStateRunning).First(10000))
	if err != nil {
		return 0, err
	}
	var ls []ottr.Lease
	for _, j := range res.Jobs {
		if j.AttemptedAt == nil || time.Since(*j.AttemptedAt) < e.cfg.Lease {
			continue // a worker claims within milliseconds of fetching
		}
		var args RotationArgs
		if err := json.Unmarshal(j.EncodedArgs, &args); err != nil {
			continue
		}
		l, ok, err := e.leases.SupersedeUnheldRotation(ctx, args.RotationID, args.Epoch)
		if err != nil {
			return len(ls), err
		}
		if ok {
			e.cfg.Logger.Info("rotation taken over from a worker that stopped before claiming it", "rotation_id", l.RotationID, "asset", l.SystemName, "epoch", l.Epoch)
			ls = append(ls, l)
		}
	}
	return len(ls), e.insertLeases(ctx, ls)
}

// Sweep queues the live rotations nobody holds that have not changed for
// sweepEvery; a rotation whose job is queued already is not queued twice.
func (e *Engine[TX]) Sweep(ctx context.Context) (int, error) {
	if e.leases == nil {
		return 0, nil
	}
	ls, err := e.leases.UnheldRotations(ctx, time.Now().Add(-e.sweepEvery()), 5000)
	if err != nil || len(ls) == 0 {
		return 0, err
	}
	return len(ls), e.insertLeases(ctx, ls)
}

func (e *Engine[TX]) insertLeases(ctx context.Context, ls []ottr.Lease) error {
	jobs := make([]RotationArgs, len(ls))
	for i, l := range ls {
		jobs[i] = RotationArgs{RotationID: l.RotationID, SystemName: l.SystemName, Epoch: l.Epoch}
	}
	return e.insertJobs(ctx, jobs)
}

// rotationJobs is the job of each rotation, at its current epoch.
func rotationJobs(rs []*ottr.Rotation) []RotationArgs {
	jobs := make([]RotationArgs, len(rs))
	for i, r := range rs {
		jobs[i] = RotationArgs{RotationID: r.ID, SystemName: r.SystemName, Epoch: r.LeaseEpoch}
	}
	return jobs
}

// insertJobs queues jobs in one call; a job already queued (same
// rotation and epoch) is not queued twice.
func (e *Engine[TX]) insertJobs(ctx context.Context, jobs []RotationArgs) error {
	if len(jobs) == 0 {
		return nil
	}
	params := make([]river.InsertManyParams, len(jobs))
	for i, j := range jobs {
		params[i] = river.InsertManyParams{Args: j}
	}
	_, err := e.client.InsertMany(ctx, params)
	return err
}

// backoff is the delay before retry n (1-based): doubling from base with
// ±20 % jitter, capped.
func backoff(n int, base, maxDelay time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < maxDelay; i++ {
		d *= 2
	}
	d = min(d, maxDelay)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

type worker[TX any] struct {
	river.WorkerDefaults[RotationArgs]
	e *Engine[TX]
}

func (w *worker[TX]) Timeout(*river.Job[RotationArgs]) time.Duration { return w.e.cfg.RotationTimeout }

func (w *worker[TX]) NextRetry(job *river.Job[RotationArgs]) time.Time {
	return time.Now().Add(backoff(job.Attempt, w.e.cfg.BaseBackoff, w.e.cfg.MaxBackoff))
}

// interruptedAllowance is how many attempts cut short by a crash, a lost
// lease or a shutdown a rotation may have beyond MaxAttempts: those do not
// count as the job's attempts (each takeover starts a new job), so the
// rotation row's count bounds a rotation that brings its process down.
const interruptedAllowance = 5

// Work runs one attempt under the rotation's lease. Permanent errors, and
// the last attempt's error, fail the rotation for good; a CA's Retry-After
// longer than the backoff is honoured by snoozing.
func (w *worker[TX]) Work(ctx context.Context, job *river.Job[RotationArgs]) error {
	e, id := w.e, job.Args.RotationID
	// The holder is this job in this process: a rescued copy of the job
	// fetched by the same process is another holder.
	owner := fmt.Sprintf("%s/%d", e.cfg.Owner, job.ID)
	var lost func() bool
	var claimed ottr.Claim
	if e.leases != nil {
		now := time.Now()
		c, err := e.leases.ClaimRotation(ctx, id, owner, job.Args.Epoch, now, now.Add(e.cfg.Lease))
		if ottr.ErrorCode(err) == ottr.ENOTFOUND {
			return nil // deleted with its asset
		}
		if err != nil {
			return err
		}
		switch {
		case c.Claimed:
			claimed = c
		case !c.Live, c.Epoch != job.Args.Epoch:
			// Finished, or superseded: the rotation went on under a
			// newer job.
			return nil
		default:
			// Another live worker holds it (a duplicate delivery): look
			// again once its lease could have run out.
			return river.JobSnooze(e.cfg.Lease)
		}
		var stop func()
		ctx, stop, lost = e.hold(ctx, id, owner, job.Args.Epoch, now)
		defer stop()
		ctx = withEpoch(ctx, job.Args.Epoch)
	}
	if e.leases == nil {
		// Without leases the attempt count is read from the row.
		if rot, err := e.rot.Rotations.GetRotation(ctx, id); err == nil {
			claimed.Attempts, claimed.Error = rot.Attempts, rot.Error
		}
	}
	if attempts, lastErr := claimed.Attempts, claimed.Error; attempts >= e.cfg.MaxAttempts+interruptedAllowance {
		e.release(id, owner, job.Args.Epoch)
		cause := ottr.Errorf(ottr.EUNAVAILABLE, "gave up after %d attempts, some cut short by a crash, a lost lease or a shutdown (last error: %s)", attempts, lastErr)
		if ferr := e.rot.Fail(context.WithoutCancel(ctx), id, cause); ferr != nil {
			return ferr
		}
		return river.JobCancel(cause)
	}
	err := e.rot.Run(ctx, id)
	if (lost != nil && lost()) || errors.Is(err, errSuperseded) {
		// Another process has taken the rotation over; what this
		// attempt did is on the row, and the other one continues it.
		e.cfg.Logger.Warn("rotation lease lost; another worker continues it", "rotation_id", id)
		return nil
	}
	if err == nil {
		e.release(id, owner, job.Args.Epoch)
		return nil
	}
	if e.stopping.Load() && errors.Is(ctx.Err(), context.Canceled) {
		return e.handOver(job.Args, owner)
	}
	e.release(id, owner, job.Args.Epoch)
	attempts := job.Attempt
	// This attempt was the row's claimed.Attempts+1 (Run counts it first);
	// without leases the count is read from the row.
	rowAttempts := claimed.Attempts + 1
	if e.leases == nil {
		if rot, gerr := e.rot.Rotations.GetRotation(context.WithoutCancel(ctx), id); gerr == nil {
			rowAttempts = rot.Attempts
		}
	}
	if rowAttempts >= e.cfg.MaxAttempts+interruptedAllowance {
		attempts = job.MaxAttempts
	}
	// Decided before anything else, a timeout on the last attempt
	// included: a rotation never stays live without a job.
	if ottr.IsPermanent(err) || attempts >= job.MaxAttempts {
		if ferr := e.rot.Fail(context.WithoutCancel(ctx), id, err); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	}
	if ctx.Err() != nil {
		return err // timed out: River retries it after its backoff
	}
	if ra := ottr.ErrorRetryAfter(err); ra > backoff(job.Attempt, e.cfg.BaseBackoff, e.cfg.MaxBackoff) && ra <= 24*time.Hour {
		return river.JobSnooze(ra)
	}
	return err
}

// errLeaseLost cancels an attempt whose lease another process took over.
var errLeaseLost = errors.New("rotation lease lost")

// hold renews the lease on rotation id, taken at claimed, every third of
// the lease while the attempt runs. The attempt is cancelled a third of
// the lease before its last renewal would run out — the database
// unreachable, or another process took the rotation over — so it has
// stopped driving the device before anyone else may take it (the reaper
// waits another third after the lease ends).
func (e *Engine[TX]) hold(ctx context.Context, id, owner string, epoch int64, claimed time.Time) (context.Context, func(), func() bool) {
	ctx, cancel := context.WithCancelCause(ctx)
	var lost atomic.Bool
	quit := make(chan struct{})
	var wg sync.WaitGroup
	giveUp := func() { lost.Store(true); cancel(errLeaseLost) }
	wg.Go(func() {
		tick := time.NewTicker(e.cfg.Lease / 3)
		defer tick.Stop()
		// validUntil counts from when a renewal was sent, not answered:
		// the database may have applied it at once.
		validUntil := claimed.Add(e.cfg.Lease)
		deadline := time.NewTimer(time.Until(validUntil.Add(-e.cfg.Lease / 3)))
		defer deadline.Stop()
		for {
			select {
			case <-quit:
				return
			case <-deadline.C:
				e.cfg.Logger.Warn("rotation lease not renewed in time; stopping the attempt", "rotation_id", id)
				giveUp()
				return
			case <-tick.C:
			}
			sent := time.Now()
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.Lease/3)
			ok, err := e.leases.RenewRotationLease(rctx, id, owner, epoch, sent.Add(e.cfg.Lease))
			rcancel()
			switch {
			case err == nil && ok:
				validUntil = sent.Add(e.cfg.Lease)
				deadline.Reset(time.Until(validUntil.Add(-e.cfg.Lease / 3)))
			case err == nil:
				giveUp() // taken over
				return
			default:
				e.cfg.Logger.Warn("renewing rotation lease", "rotation_id", id, "err", err)
			}
		}
	})
	return ctx, func() { close(quit); wg.Wait(); cancel(nil) }, lost.Load
}

func (e *Engine[TX]) release(id, owner string, epoch int64) {
	if e.leases == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.leases.ReleaseRotation(ctx, id, owner, epoch); err != nil {
		// The lease runs out by itself; another process then takes over.
		e.cfg.Logger.Warn("releasing rotation lease", "rotation_id", id, "err", err)
	}
}

// handOver moves a rotation cut short by Stop to a new epoch and queues it,
// so another process continues it without waiting for a backoff.
func (e *Engine[TX]) handOver(args RotationArgs, owner string) error {
	if e.leases == nil {
		return context.Canceled // River retries it after its backoff
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, ok, err := e.leases.HandOverRotation(ctx, args.RotationID, owner, args.Epoch)
	if err != nil || !ok {
		return err // nothing held: the rotation moved on already
	}
	if err := e.insertLeases(ctx, []ottr.Lease{l}); err != nil {
		// Unheld without a job: the sweep or the next start queues it.
		return err
	}
	e.cfg.Logger.Info("rotation handed over at shutdown", "rotation_id", l.RotationID, "asset", l.SystemName)
	return nil
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.min}
}

func (h minLevel) WithGroup(g string) slog.Handler { return minLevel{h.Handler.WithGroup(g), h.min} }

// NextAttempt is when a live rotation's next attempt is due: the
// ScheduledAt of its job waiting for a retry (after a failed attempt, or
// snoozed for a CA's Retry-After). ok is false when no job of the
// rotation is waiting, e.g. while an attempt runs.
func (e *Engine[TX]) NextAttempt(ctx context.Context, rotationID string) (at time.Time, ok bool, err error) {
	// River makes a job due within its scheduler's interval available at
	// once, keeping the time it is due: a job attempted before is waiting
	// for its retry in that state too.
	res, err := e.client.JobList(ctx, river.NewJobListParams().Kinds(RotationArgs{}.Kind()).
		States(rivertype.JobStateRetryable, rivertype.JobStateScheduled, rivertype.JobStateAvailable).First(10000))
	if err != nil {
		return time.Time{}, false, err
	}
	for _, j := range res.Jobs {
		if j.State == rivertype.JobStateAvailable && j.Attempt == 0 {
			continue
		}
		var args RotationArgs
		if json.Unmarshal(j.EncodedArgs, &args) == nil && args.RotationID == rotationID {
			return j.ScheduledAt, true, nil
		}
	}
	return time.Time{}, false, nil
}
