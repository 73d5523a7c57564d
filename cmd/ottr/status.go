package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/spf13/cobra"
)

// statusListMax bounds the assets a table names per list; -o json and
// -o wide name them all.
const statusListMax = 10

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Summarise the inventory: assets by state, failing, due soon, unrouted, the router's last pass",
		Long: `Summarise the inventory as the router sees it. Each asset is counted in
the first state that holds: rotating (a rotation is queued or running),
failing (its last rotation failed), unrouted (due, but no route serves it),
never_rotated (due: no certificate recorded), due (the next router pass
queues it) or healthy. Due is decided by the router's own code, as
'ottr asset list --due' lists it; due within 7 and 30 days counts the
healthy assets whose renewal starts by then. The router section says
when the router last ran a pass and what it did, when the next is due,
and which process leads (queues the passes) among replicas.

Through a server (--server, OTTR_SERVER or 'ottr login') the server
computes the summary with its own route table and renewal policy
(GET /api/v1/status). Otherwise the database of --data-dir or --database
is read with this configuration's policy.`,
		Example: `  ottr status
  ottr status -o json | jq .states`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			rep, err := a.status(cmd.Context())
			if err != nil {
				return err
			}
			if a.json() {
				return writeJSON(a.stdout, rep)
			}
			return a.printStatus(rep)
		},
	}
}

func (a *app) status(ctx context.Context) (*ottr.FleetStatus, error) {
	max := statusListMax
	if a.json() || a.wide() {
		max = 0
	}
	cl, err := a.remote()
	if err != nil {
		return nil, err
	}
	if cl != nil {
		st, err := cl.Status(ctx, max)
		if err != nil {
			return nil, err
		}
		st.Source = cl.BaseURL
		return st, nil
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	dec, err := a.decider(ctx)
	if err != nil {
		return nil, err
	}
	st, err := rotate.Summarize(ctx, db, db, dec, max)
	if err != nil {
		return nil, err
	}
	st.Source = "database"
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	if st.Router, err = a.recordedRouter(ctx); err != nil {
		return nil, err
	}
	st.Router.State = serveState{missing: rotationsMissing(c), paused: c.Router.Paused}.rotations()
	return st, nil
}

// recordedRouter is the router as the database records it: the newest
// pass and the next one due by the configured interval. The elected
// leader is known only to a running server.
func (a *app) recordedRouter(ctx context.Context) (*ottr.RouterStatus, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	rs := &ottr.RouterStatus{IntervalSeconds: int64(time.Duration(c.Router.Interval) / time.Second)}
	passes, err := db.RouterPasses(ctx, 1)
	if err != nil {
		return nil, err
	}
	if len(passes) > 0 {
		rs.LastPass = passes[0]
		if rs.IntervalSeconds > 0 {
			next := passes[0].StartedAt.Add(time.Duration(c.Router.Interval))
			rs.NextPass = &next
		}
	}
	return rs, nil
}

func (a *app) printStatus(rep *ottr.FleetStatus) error {
	w := a.stdout
	fmt.Fprintf(w, "%d assets (%s, at %s)\n\n", rep.Assets, rep.Source, rep.At.Format(time.RFC3339))
	tw := a.table()
	fmt.Fprintln(tw, "STATE\tASSETS")
	for _, s := range ottr.AssetStates {
		fmt.Fprintf(tw, "%s\t%d\n", strings.ReplaceAll(s, "_", " "), rep.States[s])
	}
	fmt.Fprintf(tw, "held after failures\t%d\n", rep.Held)
	fmt.Fprintf(tw, "due within 7 days\t%d\n", rep.DueIn7)
	fmt.Fprintf(tw, "due within 30 days\t%d\n", rep.DueIn30)
	fmt.Fprintf(tw, "rotations queued, running\t%d, %d\n", rep.Queued, rep.Running)
	last := "none recorded"
	if l := rep.LastRouterRotation; l != nil {
		last = fmt.Sprintf("%s (%s, rotation %s)", l.Time.Local().Format(time.DateTime), l.SystemName, l.RotationID)
	}
	fmt.Fprintf(tw, "last router rotation\t%s\n", last)
	if err := tw.Flush(); err != nil {
		return err
	}
	if r := rep.Router; r != nil {
		fmt.Fprintln(w, "\nRouter:")
		tw := a.table()
		fmt.Fprintf(tw, "rotations\t%s\n", r.State)
		pass := "none recorded"
		if p := r.LastPass; p != nil {
			pass = fmt.Sprintf("%s, %s: %d due, %d queued, %d joined, %d held, %d unrouted",
				p.StartedAt.Local().Format(time.DateTime), p.FinishedAt.Sub(p.StartedAt).Round(time.Millisecond),
				p.Due, p.Queued, p.Joined, p.Held, p.Unrouted)
			if p.Error != "" {
				pass += "; failed: " + p.Error
			}
		}
		fmt.Fprintf(tw, "last pass\t%s\n", pass)
		if p := r.LastPass; p != nil && p.Watched+p.WatchFailed > 0 {
			// Assets no route serves: their certificates are read, not rotated.
			fmt.Fprintf(tw, "monitored\t%d certificates read at the last pass, %d unreadable\n", p.Watched, p.WatchFailed)
		}
		if r.NextPass != nil {
			fmt.Fprintf(tw, "next pass\t%s\n", r.NextPass.Local().Format(time.DateTime))
		}
		if r.Leader != "" {
			fmt.Fprintf(tw, "leader\t%s\n", r.Leader)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	max := statusListMax
	if a.wide() {
		max = -1
	}
	if len(rep.Failing) > 0 {
		fmt.Fprintf(w, "\nFailing (%d):\n", rep.FailingTotal)
		tw := a.table()
		fmt.Fprintln(tw, "SYSTEM_NAME\tFAILURES\tSINCE\tRETRY_AFTER\tERROR")
		for i, f := range rep.Failing {
			if i == max {
				break
			}
			retry := "-"
			if f.RetryAfter != nil {
				retry = f.RetryAfter.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", f.SystemName, f.Failures, f.Time.Local().Format(time.DateTime), retry, f.Error)
		}
		if n := rep.FailingTotal - min(len(rep.Failing), max); max > 0 && n > 0 {
			fmt.Fprintf(tw, "… %d more: ottr status -o wide\n", n)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(rep.Unrouted) > 0 {
		fmt.Fprintf(w, "\nUnrouted (%d):\n", rep.UnroutedTotal)
		tw := a.table()
		fmt.Fprintln(tw, "SYSTEM_NAME\tMISSING ROUTE KEY\tREASON")
		for i, u := range rep.Unrouted {
			if i == max {
				break
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.SystemName, u.MissingKey, u.Reason)
		}
		if n := rep.UnroutedTotal - min(len(rep.Unrouted), max); max > 0 && n > 0 {
			fmt.Fprintf(tw, "… %d more: ottr status -o wide\n", n)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// serverStatus is the fleet summary a server gives (GET /api/v1/status):
// its own route table and policy, and its engine's view of the router.
// Without an engine (rotations off) the router is known by its record.
func (a *app) serverStatus(ctx context.Context, listMax int, eng rotationEngine, state serveState) (*ottr.FleetStatus, error) {
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	r, err := a.router(ctx)
	if err != nil {
		return nil, err
	}
	st, err := rotate.Summarize(ctx, db, db, r.Decider(), listMax)
	if err != nil {
		return nil, err
	}
	st.Source = "server"
	if eng != nil {
		if st.Router, err = eng.RouterStatus(ctx); err != nil {
			return nil, err
		}
	} else if st.Router, err = a.recordedRouter(ctx); err != nil {
		return nil, err
	}
	st.Router.State = state.rotations()
	if st.Router.State == "paused" {
		// A paused server runs no passes, so none is due.
		st.Router.NextPass = nil
	}
	return st, nil
}

// statusMaxAge is how long a server reuses a fleet summary. A summary
// reads every asset (about 0.7 s at 100,000); dashboards left open on the
// overview and monitoring polls would otherwise each cost that.
const statusMaxAge = 5 * time.Second

// statusCache computes one summary at a time and hands it to every caller
// within statusMaxAge; its At says when it was computed.
type statusCache struct {
	compute func(ctx context.Context, listMax int) (*ottr.FleetStatus, error)
	now     func() time.Time // nil = time.Now

	mu      sync.Mutex
	at      time.Time
	listMax int
	last    *ottr.FleetStatus
}

func (c *statusCache) get(ctx context.Context, listMax int) (*ottr.FleetStatus, error) {
	now := time.Now
	if c.now != nil {
		now = c.now
	}
	// Held while computing: callers arriving meanwhile wait for this
	// summary instead of starting their own.
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last != nil && c.listMax == listMax && now().Sub(c.at) < statusMaxAge {
		return c.last, nil
	}
	st, err := c.compute(ctx, listMax)
	if err != nil {
		return nil, err
	}
	c.last, c.at, c.listMax = st, now(), listMax
	return st, nil
}
