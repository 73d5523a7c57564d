package rotate

import (
	"context"
	"fmt"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/riverqueue/river"
)

// routerQueue runs router passes one at a time, apart from the rotations:
// a pass never waits behind a full rotation queue.
const routerQueue = "ottr_router"

// RouterPassArgs is the job of one router pass. River's elected leader
// queues one every RouterInterval, unique per interval, so however many
// processes share the database (and whichever leads after a failover),
// the fleet is routed once per interval.
type RouterPassArgs struct{}

// Kind names the job in River's tables.
func (RouterPassArgs) Kind() string { return "ottr_router_pass" }

func (e *Engine[TX]) routerInsertOpts() *river.InsertOpts {
	return &river.InsertOpts{
		Queue: routerQueue,
		// A failed pass is not retried: the next interval's pass is.
		MaxAttempts: 1,
		UniqueOpts:  river.UniqueOpts{ByPeriod: e.cfg.RouterInterval},
	}
}

type routerWorker[TX any] struct {
	river.WorkerDefaults[RouterPassArgs]
	e *Engine[TX]
}

func (w *routerWorker[TX]) Work(ctx context.Context, _ *river.Job[RouterPassArgs]) error {
	_, err := w.e.RouterPass(ctx)
	if err != nil {
		w.e.cfg.Logger.Error("router pass", "err", err)
	}
	return err
}

// PassResult is what a router pass found and queued.
type PassResult struct {
	PassStats
	Queued int `json:"queued"`
	Joined int `json:"joined"`
	// Enqueue is the time spent creating rotations and their jobs.
	Enqueue time.Duration `json:"enqueue_ns"`
}

// enqueueBatch is how many rotations a pass creates and queues at once.
const enqueueBatch = 1000

// RouterPass runs one router pass now: every due, routed asset gets a
// queued rotation (or joins its live one), in batches.
func (e *Engine[TX]) RouterPass(ctx context.Context) (PassResult, error) {
	var res PassResult
	if e.cfg.Router == nil {
		return res, ottr.Errorf(ottr.EINVALID, "no router configured")
	}
	r, err := e.cfg.Router(ctx)
	if err != nil {
		return res, err
	}
	batch := make([]*ottr.Rotation, 0, enqueueBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		start := time.Now()
		joined, err := e.EnqueueMany(ctx, batch)
		res.Enqueue += time.Since(start)
		if err != nil {
			return err
		}
		for _, j := range joined {
			if j {
				res.Joined++
			} else {
				res.Queued++
			}
		}
		batch = batch[:0]
		return nil
	}
	st, err := r.Pass(ctx, func(c Candidate) error {
		if c.Route == nil {
			return nil
		}
		rot := &ottr.Rotation{SystemName: c.Asset.SystemName, Trigger: ottr.TriggerRouter, Recipe: c.Route.Recipe}
		if x := c.Asset.CertificateExpiration; x != nil {
			old := *x // the candidate's asset is reused after the callback
			rot.OldExpiration = &old
		}
		batch = append(batch, rot)
		if len(batch) == enqueueBatch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	res.PassStats = st
	if err != nil {
		return res, fmt.Errorf("router pass: %w", err)
	}
	e.cfg.Logger.Info("router pass queued rotations", "queued", res.Queued, "joined", res.Joined, "enqueue", res.Enqueue.Round(time.Millisecond))
	return res, nil
}
