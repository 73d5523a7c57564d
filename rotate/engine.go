package rotate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
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
	Logger       *slog.Logger
}

// Engine runs rotations as durable River jobs: at most Concurrency at once,
// retried with backoff on transient errors, failed at once on permanent
// ones, and picked up again after a crash or on another replica.
type Engine[TX any] struct {
	rot    *Rotator
	cfg    EngineConfig
	driver riverdriver.Driver[TX]
	client *river.Client[TX]
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
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	e := &Engine[TX]{rot: rot, cfg: cfg, driver: driver}
	workers := river.NewWorkers()
	river.AddWorker(workers, &worker[TX]{e: e})
	client, err := river.NewClient(driver, &river.Config{
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Concurrency}},
		Workers:              workers,
		MaxAttempts:          cfg.MaxAttempts,
		JobTimeout:           cfg.RotationTimeout,
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

// Start starts the workers and queues a job for every live rotation that
// has none (created while no engine ran, or before a crash).
func (e *Engine[TX]) Start(ctx context.Context) error {
	if err := e.client.Start(ctx); err != nil {
		return fmt.Errorf("start job queue: %w", err)
	}
	return e.Recover(ctx)
}

// Stop stops taking jobs and waits for running rotations to finish, until
// ctx ends; then they are cancelled and picked up again later.
func (e *Engine[TX]) Stop(ctx context.Context) error {
	err := e.client.Stop(ctx)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return e.client.StopAndCancel(context.Background())
	}
	return err
}

// Recover queues a job for each queued or running rotation; rotations that
// have a live job are left alone.
func (e *Engine[TX]) Recover(ctx context.Context) error {
	for _, st := range []ottr.State{ottr.StateQueued, ottr.StateRunning} {
		cursor := ""
		for {
			rs, next, err := e.rot.Rotations.FindRotations(ctx, ottr.RotationFilter{State: st, Limit: 500, Cursor: cursor})
			if err != nil {
				return err
			}
			for _, r := range rs {
				if _, err := e.client.Insert(ctx, RotationArgs{RotationID: r.ID, SystemName: r.SystemName}, nil); err != nil {
					return fmt.Errorf("queue rotation %s: %w", r.ID, err)
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
	if _, err := e.client.Insert(ctx, RotationArgs{RotationID: r.ID, SystemName: r.SystemName}, nil); err != nil {
		return joined, fmt.Errorf("queue rotation %s: %w", r.ID, err)
	}
	return joined, nil
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

// Work runs one attempt. Permanent errors, and the last attempt's error,
// fail the rotation for good; a CA's Retry-After longer than the backoff
// is honoured by snoozing.
func (w *worker[TX]) Work(ctx context.Context, job *river.Job[RotationArgs]) error {
	id := job.Args.RotationID
	err := w.e.rot.Run(ctx, id)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return err // shutting down or timed out: River retries it
	}
	if ottr.IsPermanent(err) || job.Attempt >= job.MaxAttempts {
		if ferr := w.e.rot.Fail(context.WithoutCancel(ctx), id, err); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	}
	if ra := ottr.ErrorRetryAfter(err); ra > backoff(job.Attempt, w.e.cfg.BaseBackoff, w.e.cfg.MaxBackoff) && ra <= 24*time.Hour {
		return river.JobSnooze(ra)
	}
	return err
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
