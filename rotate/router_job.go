package rotate

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/rivertype"
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
	// Watch is what the watch pass after the router's did; nil when the
	// engine watches nothing.
	Watch *WatchStats `json:"watch,omitempty"`
}

// enqueueBatch is how many rotations a pass creates and queues at once.
const enqueueBatch = 1000

// RouterPass runs one router pass now: every due, routed asset gets a
// queued rotation (or joins its live one), in batches.
func (e *Engine[TX]) RouterPass(ctx context.Context) (res PassResult, err error) {
	if e.cfg.Router == nil {
		return res, ottr.Errorf(ottr.EINVALID, "no router configured")
	}
	started := time.Now()
	defer func() { e.recordPass(ctx, started, res, err) }()
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
	if e.cfg.Watch != nil {
		// In the router's job, with its route table: once per interval
		// across the processes, whichever runs the pass.
		ws, err := e.cfg.Watch.Pass(ctx, r)
		res.Watch = &ws
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// recordPass keeps the pass in the rotation store's pass log, when it has
// one, so status pages can say when the router last looked, even at a
// pass that queued nothing. A failure to record is logged: the pass did
// its work.
func (e *Engine[TX]) recordPass(ctx context.Context, started time.Time, res PassResult, err error) {
	if e.passes == nil {
		return
	}
	p := res.Record(e.cfg.Owner, started, err)
	// Recorded even when ctx ended the pass: its partial figures are what
	// the router did.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := e.passes.RecordRouterPass(rctx, p); err != nil {
		e.cfg.Logger.Warn("record router pass", "err", err)
	}
}

// clientID names this process to River: its lease owner name, cut to
// River's 100 characters.
func clientID(owner string) string {
	if len(owner) > 100 {
		return owner[:100]
	}
	return owner
}

// RouterStatus says how the router runs as this process sees it: the
// newest recorded pass, when the next is due, and River's elected leader
// (the process that queues passes). State is left to the caller, which
// knows whether rotations are configured and paused.
func (e *Engine[TX]) RouterStatus(ctx context.Context) (*ottr.RouterStatus, error) {
	st := &ottr.RouterStatus{Replica: e.cfg.Owner, Workers: e.cfg.Concurrency}
	if e.cfg.Router != nil && e.cfg.RouterInterval > 0 {
		st.IntervalSeconds = int64(e.cfg.RouterInterval / time.Second)
	}
	if e.passes != nil {
		ps, err := e.passes.RouterPasses(ctx, 1)
		if err != nil {
			return nil, err
		}
		if len(ps) > 0 {
			st.LastPass = ps[0]
			if st.IntervalSeconds > 0 {
				next := ps[0].StartedAt.Add(e.cfg.RouterInterval)
				st.NextPass = &next
			}
		}
	}
	l, err := e.driver.GetExecutor().LeaderGetElectedLeader(ctx, &riverdriver.LeaderGetElectedLeaderParams{})
	switch {
	case err == nil && l.ExpiresAt.After(time.Now()):
		st.Leader = l.LeaderID
	case err == nil:
		// The last leader's term ran out: none is leading now.
	case errors.Is(err, rivertype.ErrNotFound):
		// No leader elected yet (starting, or every process stopped).
	default:
		return nil, fmt.Errorf("job queue leader: %w", err)
	}
	return st, nil
}

// Record is the pass as the router pass log keeps it: who ran it, from
// started until now, what it found and did, and err's message if it
// failed.
func (r PassResult) Record(owner string, started time.Time, err error) *ottr.RouterPass {
	p := &ottr.RouterPass{Owner: owner, StartedAt: started, FinishedAt: time.Now(),
		Examined: r.Examined, Due: r.Due, Held: r.Held, Routed: r.Routed, Unrouted: r.Unrouted,
		Queued: r.Queued, Joined: r.Joined}
	if r.Watch != nil {
		p.Watched, p.WatchFailed = r.Watch.Watched, r.Watch.Failed
	}
	if err != nil {
		p.Error = ottr.ErrorMessage(err)
	}
	return p
}
