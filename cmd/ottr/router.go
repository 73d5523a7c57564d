package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/spf13/cobra"
)

// timeNow is the clock of the CLI's decisions; tests replace it.
var timeNow = time.Now

// routerEntry is one line of `router run` output.
type routerEntry struct {
	SystemName string     `json:"system_name"`
	Status     string     `json:"status"` // due, unrouted, queued, joined
	Recipe     string     `json:"recipe,omitempty"`
	RouteKey   string     `json:"route_key,omitempty"`
	MissingKey string     `json:"missing_key,omitempty"`
	NoRoute    string     `json:"no_route_reason,omitempty"`
	DueReason  string     `json:"due_reason"`
	Expiration *ottr.Time `json:"certificate_expiration"`
	RotationID string     `json:"rotation_id,omitempty"`
}

func (a *app) routerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "router",
		Short: "Find the assets whose certificates are due and route them",
	}
	cmd.AddCommand(a.routerRunCmd())
	return cmd
}

func (a *app) routerRunCmd() *cobra.Command {
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run one router pass now",
		Long: `Run one router pass over the inventory. An asset is due when it has no
recorded expiry; when its CA's renewal window (ARI) holds, at the asset's
own point inside it or once the window has passed; or, without a window,
when the time left falls below the smaller of 30 days (router.renew_before)
and a third of the certificate's lifetime (a half for lifetimes of 10 days
or less), moved earlier by a per-asset jitter. Due
assets with a route become queued rotations (an asset's live rotation is
joined, never doubled); due assets without one are listed with the
route.json key that is missing.

With --dry-run nothing is written: the due assets are printed with their
recipe and due reason. The exit status is non-zero only for operational
errors, not for unrouted assets.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			rt, err := a.routeTable()
			if err != nil {
				return err
			}
			if rt == nil {
				a.progress("warning: no route table given (--routes): every due asset is unrouted")
			}
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			r := &rotate.Router{Assets: db, Routes: rt, Policy: c.policy(), Now: timeNow, Logger: nullLogger()}
			arr := &jsonArray{w: a.stdout}
			tw := a.table()
			if !a.json() {
				fmt.Fprintln(tw, "SYSTEM_NAME\tSTATUS\tRECIPE / MISSING ROUTE KEY\tREASON")
			}
			var queued, joined int
			// Entries are printed in pass order, a batch at a time: the
			// routed ones of a batch are created together (one INSERT per
			// 500), not one round trip each.
			var pending []routerEntry
			var rots []*ottr.Rotation
			var at []int
			flush := func() error {
				if len(rots) > 0 {
					js, err := db.CreateRotations(cmd.Context(), rots)
					if err != nil {
						return err
					}
					for k, i := range at {
						pending[i].RotationID = rots[k].ID
						if js[k] {
							pending[i].Status = string(rotate.Joined)
							joined++
						} else {
							pending[i].Status = string(rotate.Queued)
							queued++
						}
					}
				}
				for _, e := range pending {
					if a.json() {
						if err := arr.add(e); err != nil {
							return err
						}
						continue
					}
					detail, reason := e.Recipe, e.DueReason
					if e.Status == "unrouted" {
						detail, reason = e.MissingKey, e.NoRoute+"; "+e.DueReason
					}
					if _, err := fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", e.SystemName, e.Status, detail, reason); err != nil {
						return err
					}
				}
				pending, rots, at = pending[:0], rots[:0], at[:0]
				return nil
			}
			started := time.Now()
			st, err := r.Pass(cmd.Context(), func(cand rotate.Candidate) error {
				e := routerEntry{SystemName: cand.Asset.SystemName,
					DueReason: cand.Decision.Reason, Expiration: copyTime(cand.Asset.CertificateExpiration)}
				if cand.Route != nil {
					e.Status, e.Recipe, e.RouteKey = "due", cand.Route.Recipe, cand.Route.Key
					if !dryRun {
						rot := &ottr.Rotation{SystemName: e.SystemName, State: ottr.StateQueued, Trigger: ottr.TriggerCLI,
							RequestedBy: a.actor(), Recipe: e.Recipe, OldExpiration: copyTime(e.Expiration)}
						rots, at = append(rots, rot), append(at, len(pending))
					}
				} else {
					e.Status, e.MissingKey, e.NoRoute = "unrouted", cand.NoRoute.Key, cand.NoRoute.Reason
				}
				pending = append(pending, e)
				if len(pending) == 1000 {
					return flush()
				}
				return nil
			})
			if err == nil {
				err = flush()
			}
			if !dryRun {
				// A pass run by hand is a router pass: status pages say so.
				p := rotate.PassResult{PassStats: st, Queued: queued, Joined: joined}.Record(a.actor(), started, err)
				if rerr := db.RecordRouterPass(context.WithoutCancel(cmd.Context()), p); rerr != nil && err == nil {
					err = rerr
				}
			}
			if err != nil {
				return err
			}
			if a.json() {
				err = arr.close()
			} else {
				err = tw.Flush()
			}
			if err != nil {
				return err
			}
			a.progress("router pass: %d examined, %d due, %d held after failures, %d routed, %d unrouted in %s", st.Examined, st.Due, st.Held, st.Routed, st.Unrouted, st.Duration.Round(time.Millisecond))
			if dryRun {
				a.progress("dry run: no rotations queued")
			} else {
				a.progress("%d rotations queued, %d joined a live rotation; ottr serve runs them (a running server picks them up within a few minutes, or at its next start)", queued, joined)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "print what is due without queueing rotations")
	return cmd
}

// copyTime copies t: a candidate's asset is reused after the callback.
func copyTime(t *ottr.Time) *ottr.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}
