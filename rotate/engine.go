package rotate

import (
	"context"
	crand "crypto/rand"
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
	// (renewed every third of it); a rotation whose worker died is taken
	// over by another process within about Lease plus a third. Default
	// 30s.
	Lease time.Duration
	// Owner names this process in rotation leases; default host-pid-random.
	Owner string
	// Router builds the router for a pass (so the route table is read
	// afresh); nil runs no router. The engine runs one pass every
	// RouterInterval (default 1h) across all processes sharing the
	// database: River elects one leader, which queues the passes.
	Router         func(ctx context.Context) (*Router, error)
	RouterInterval time.Duration
	Logger         *slog.Logger
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
		cfg.Lease = 30 * time.Second
	}
	if cfg.Owner == "" {
		cfg.Owner = defaultOwner()
	}
	if cfg.RouterInterval <= 0 {
		cfg.RouterInterval = time.Hour
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine[TX]{rot: rot, cfg: cfg, driver: driver, done: make(chan struct{})}
	e.leases, _ = rot.Rotations.(ottr.RotationLeaser)
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker[TX]{e: e})
	queues := map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Concurrency}}
	var periodic []*river.PeriodicJob
	if cfg.Router != nil {
		river.AddWorker(workers, &routerWorker[TX]{e: e})
		queues[routerQueue] = river.QueueConfig{MaxWorkers: 1}
		periodic = append(periodic, river.NewPeriodicJob(river.PeriodicInterval(cfg.RouterInterval),
			func() (river.JobArgs, *river.InsertOpts) { return RouterPassArgs{}, e.routerInsertOpts() },
			&river.PeriodicJobOpts{ID: "ottr_router", RunOnStart: true}))
	}
	client, err := river.NewClient(driver, &river.Config{
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
		return e.client.StopAndCancel(context.Background())
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
			params := make([]river.InsertManyParams, 0, len(rs))
			for _, r := range rs {
				params = append(params, river.InsertManyParams{Args: RotationArgs{RotationID: r.ID, SystemName: r.SystemName, Epoch: r.LeaseEpoch}})
			}
			if len(params) > 0 {
				if _, err := e.client.InsertMany(ctx, params); err != nil {
					return fmt.Errorf("queue live rotations: %w", err)
				}
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
	params := make([]river.InsertManyParams, 0, len(rs))
	for _, r := range rs {
		params = append(params, river.InsertManyParams{Args: RotationArgs{RotationID: r.ID, SystemName: r.SystemName, Epoch: r.LeaseEpoch}})
	}
	if len(params) > 0 {
		if _, err := e.client.InsertMany(ctx, params); err != nil {
			return joined, fmt.Errorf("queue %d rotations: %w", len(params), err)
		}
	}
	return joined, nil
}

// reapLoop takes over, every third of the lease, the rotations whose
// holder stopped renewing, and queues a job for each at its new epoch.
// Every process runs it: the database gives each rotation to one.
func (e *Engine[TX]) reapLoop(ctx context.Context) {
	t := time.NewTicker(e.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-e.done:
			return
		case <-t.C:
		}
		if _, err := e.Reap(ctx); err != nil {
			e.cfg.Logger.Warn("taking over rotations of stopped workers", "err", err)
		}
	}
}

// Reap takes over the rotations whose worker stopped renewing its lease
// and queues them; it returns how many.
func (e *Engine[TX]) Reap(ctx context.Context) (int, error) {
	if e.leases == nil {
		return 0, nil
	}
	n := 0
	for {
		ls, err := e.leases.ReapRotationLeases(ctx, time.Now(), 500)
		if err != nil || len(ls) == 0 {
			return n, err
		}
		params := make([]river.InsertManyParams, 0, len(ls))
		for _, l := range ls {
			params = append(params, river.InsertManyParams{Args: RotationArgs{RotationID: l.RotationID, SystemName: l.SystemName, Epoch: l.Epoch}})
			e.cfg.Logger.Info("rotation taken over from a stopped worker", "rotation_id", l.RotationID, "asset", l.SystemName, "epoch", l.Epoch)
		}
		// A crash here leaves the rotations unheld at their new epoch
		// without a job; the next start's Recover queues them.
		if _, err := e.client.InsertMany(ctx, params); err != nil {
			return n, fmt.Errorf("queue %d rotations taken over: %w", len(params), err)
		}
		n += len(ls)
	}
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

// Work runs one attempt under the rotation's lease. Permanent errors, and
// the last attempt's error, fail the rotation for good; a CA's Retry-After
// longer than the backoff is honoured by snoozing.
func (w *worker[TX]) Work(ctx context.Context, job *river.Job[RotationArgs]) error {
	e, id := w.e, job.Args.RotationID
	var lost func() bool
	if e.leases != nil {
		now := time.Now()
		ok, cur, err := e.leases.ClaimRotation(ctx, id, e.cfg.Owner, job.Args.Epoch, now, now.Add(e.cfg.Lease))
		if ottr.ErrorCode(err) == ottr.ENOTFOUND {
			return nil // deleted with its asset
		}
		if err != nil {
			return err
		}
		if !ok && cur != job.Args.Epoch {
			// Superseded: the rotation went on under a newer job.
			return nil
		}
		if !ok {
			// Another live worker holds it (a duplicate delivery): look
			// again once its lease could have run out.
			return river.JobSnooze(e.cfg.Lease)
		}
		var stop func()
		ctx, stop, lost = e.hold(ctx, id, job.Args.Epoch)
		defer stop()
	}
	err := e.rot.Run(ctx, id)
	if lost != nil && lost() {
		// Another process has taken the rotation over; what this
		// attempt did is on the row, and the other one continues it.
		e.cfg.Logger.Warn("rotation lease lost; another worker continues it", "rotation_id", id)
		return nil
	}
	if err == nil {
		e.release(id, job.Args.Epoch)
		return nil
	}
	if ctx.Err() != nil {
		if e.stopping.Load() && errors.Is(ctx.Err(), context.Canceled) {
			return e.handOver(job.Args)
		}
		e.release(id, job.Args.Epoch)
		return err // timed out: River retries it
	}
	e.release(id, job.Args.Epoch)
	if ottr.IsPermanent(err) || job.Attempt >= job.MaxAttempts {
		if ferr := e.rot.Fail(context.WithoutCancel(ctx), id, err); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	}
	if ra := ottr.ErrorRetryAfter(err); ra > backoff(job.Attempt, e.cfg.BaseBackoff, e.cfg.MaxBackoff) && ra <= 24*time.Hour {
		return river.JobSnooze(ra)
	}
	return err
}

// errLeaseLost cancels an attempt whose lease another process took over.
var errLeaseLost = errors.New("rotation lease lost")

// hold renews the lease on rotation id every third of the lease while the
// attempt runs. If renewing fails until the lease has run out — the
// database unreachable, or another process took the rotation over — the
// attempt's context is cancelled, so two workers never drive one device.
func (e *Engine[TX]) hold(ctx context.Context, id string, epoch int64) (context.Context, func(), func() bool) {
	ctx, cancel := context.WithCancelCause(ctx)
	var lost atomic.Bool
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(e.cfg.Lease / 3)
		defer t.Stop()
		held := time.Now()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
			}
			rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), e.cfg.Lease/3)
			ok, err := e.leases.RenewRotationLease(rctx, id, e.cfg.Owner, epoch, time.Now().Add(e.cfg.Lease))
			rcancel()
			switch {
			case err == nil && ok:
				held = time.Now()
				continue
			case err == nil:
				// Taken over, or finished under us (canceled).
			case time.Since(held) < e.cfg.Lease*2/3:
				e.cfg.Logger.Warn("renewing rotation lease", "rotation_id", id, "err", err)
				continue
			}
			lost.Store(true)
			cancel(errLeaseLost)
			return
		}
	})
	return ctx, func() { close(quit); wg.Wait(); cancel(nil) }, lost.Load
}

func (e *Engine[TX]) release(id string, epoch int64) {
	if e.leases == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.leases.ReleaseRotation(ctx, id, e.cfg.Owner, epoch); err != nil {
		// The lease runs out by itself; another process then takes over.
		e.cfg.Logger.Warn("releasing rotation lease", "rotation_id", id, "err", err)
	}
}

// handOver moves a rotation cut short by Stop to a new epoch and queues it,
// so another process continues it without waiting for a backoff.
func (e *Engine[TX]) handOver(args RotationArgs) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if e.leases == nil {
		return context.Canceled // River retries it after its backoff
	}
	l, ok, err := e.leases.HandOverRotation(ctx, args.RotationID, e.cfg.Owner, args.Epoch)
	if err != nil || !ok {
		return err // nothing held: the rotation moved on already
	}
	if _, err := e.client.Insert(ctx, RotationArgs{RotationID: l.RotationID, SystemName: l.SystemName, Epoch: l.Epoch}, nil); err != nil {
		// Unheld without a job: the next Recover queues it.
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
