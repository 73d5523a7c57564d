package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/spf13/cobra"
)

// Asset states of 'ottr status'. Each asset is counted once, in the first
// state that holds, in this order: what needs a person comes first.
const (
	stRotating     = "rotating"      // a rotation is queued or running
	stFailing      = "failing"       // its last rotation failed
	stUnrouted     = "unrouted"      // due, but no route serves it
	stNeverRotated = "never_rotated" // due: no certificate recorded
	stDue          = "due"           // due, routed: the next pass queues it
	stHealthy      = "healthy"       // not due
)

var statusOrder = []string{stHealthy, stDue, stRotating, stFailing, stUnrouted, stNeverRotated}

// statusListMax bounds the assets a table names per list; -o json and
// -o wide name them all.
const statusListMax = 10

type statusReport struct {
	At     time.Time      `json:"at"`
	Source string         `json:"source"`
	Assets int            `json:"assets"`
	States map[string]int `json:"states"`
	// Held counts due assets waiting out a failure backoff.
	Held      int             `json:"held"`
	DueIn7    int             `json:"due_within_7_days"`
	DueIn30   int             `json:"due_within_30_days"`
	Failing   []statusFailing `json:"failing"`
	Unrouted  []statusNoRoute `json:"unrouted"`
	LastQueue *statusRouterAt `json:"last_router_rotation"`
}

type statusFailing struct {
	SystemName string     `json:"system_name"`
	Failures   int        `json:"failures"`
	Error      string     `json:"error"`
	Time       ottr.Time  `json:"time"`
	RetryAfter *ottr.Time `json:"retry_after,omitempty"`
}

type statusNoRoute struct {
	SystemName string `json:"system_name"`
	MissingKey string `json:"missing_key"`
	Reason     string `json:"reason"`
}

// statusRouterAt is the newest rotation a router pass queued: the
// database keeps no record of passes that queued nothing.
type statusRouterAt struct {
	Time       ottr.Time `json:"time"`
	RotationID string    `json:"rotation_id"`
	SystemName string    `json:"system_name"`
}

func (a *app) statusCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Summarise the inventory: assets by state, failing, due soon, unrouted, the router's last rotation",
		Long: `Summarise the inventory as the router sees it. Each asset is counted in
the first state that holds: rotating (a rotation is queued or running),
failing (its last rotation failed), unrouted (due, but no route serves it),
never_rotated (due: no certificate recorded), due (the next router pass
queues it) or healthy. Due is decided by the router's own code, as
'ottr asset list --due' lists it; due within 7 and 30 days counts the
healthy assets whose renewal starts by then.

Through a server (--server, OTTR_SERVER or 'ottr login') the assets,
rotations and route table are the server's; the renewal policy is this
CLI's configuration (router.renew_before, CA rules), which the API does not
publish. Otherwise the database of --data-dir or --database is read.`,
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

func (a *app) status(ctx context.Context) (*statusReport, error) {
	assets, err := a.assets(ctx)
	if err != nil {
		return nil, err
	}
	rots, err := a.rotationReader(ctx)
	if err != nil {
		return nil, err
	}
	dec, err := a.decider(ctx)
	if err != nil {
		return nil, err
	}
	rep := &statusReport{At: dec.At().UTC(), Source: "database", States: map[string]int{},
		Failing: []statusFailing{}, Unrouted: []statusNoRoute{}}
	if a.client != nil {
		rep.Source = a.client.BaseURL
	}
	for _, s := range statusOrder {
		rep.States[s] = 0
	}
	live := map[string]bool{}
	var newest []*ottr.Rotation
	for _, st := range []ottr.State{ottr.StateQueued, ottr.StateRunning} {
		f := ottr.RotationFilter{State: st, Limit: 500} // the API's largest page
		for {
			page, next, err := rots.FindRotations(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, r := range page {
				live[r.SystemName] = true
			}
			if next == "" || len(page) == 0 {
				break
			}
			f.Cursor = next
		}
	}
	// Newest first: the router's latest rotation is among the last few
	// hundred unless people rotate far more often than the router does.
	if newest, _, err = rots.FindRotations(ctx, ottr.RotationFilter{Limit: 500}); err != nil {
		return nil, err
	}
	for _, r := range newest {
		if r.Trigger == ottr.TriggerRouter {
			rep.LastQueue = &statusRouterAt{Time: ottr.Time{Time: r.CreatedAt}, RotationID: r.ID, SystemName: r.SystemName}
			break
		}
	}
	at := dec.At()
	f := ottr.AssetFilter{Limit: 1000}
	for {
		page, next, err := assets.FindAssets(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, as := range page {
			rep.Assets++
			d, _, noRoute, held := dec.Decide(as)
			if held {
				rep.Held++
			}
			l := as.LastRotation
			state := stHealthy
			switch {
			case live[as.SystemName]:
				state = stRotating
			case l != nil && l.Status == string(ottr.StateFailed):
				state = stFailing
			case d.Due && noRoute != nil:
				state = stUnrouted
			case d.Due && as.CertificateExpiration == nil:
				state = stNeverRotated
			case d.Due:
				state = stDue
			}
			rep.States[state]++
			if l != nil && l.Status == string(ottr.StateFailed) {
				rep.Failing = append(rep.Failing, statusFailing{SystemName: as.SystemName, Failures: l.Failures,
					Error: l.Error, Time: l.Time, RetryAfter: l.RetryAfter})
			}
			if d.Due && noRoute != nil {
				rep.Unrouted = append(rep.Unrouted, statusNoRoute{SystemName: as.SystemName, MissingKey: noRoute.Key, Reason: noRoute.Reason})
			}
			if !d.Due && !d.RenewAt.IsZero() {
				if d.RenewAt.Before(at.Add(7 * 24 * time.Hour)) {
					rep.DueIn7++
				}
				if d.RenewAt.Before(at.Add(30 * 24 * time.Hour)) {
					rep.DueIn30++
				}
			}
		}
		if next == "" || len(page) == 0 {
			break
		}
		f.Cursor = next
	}
	// The longest failure streaks first: they have waited longest.
	slices.SortStableFunc(rep.Failing, func(x, y statusFailing) int { return y.Failures - x.Failures })
	return rep, nil
}

func (a *app) printStatus(rep *statusReport) error {
	w := a.stdout
	fmt.Fprintf(w, "%d assets (%s, at %s)\n\n", rep.Assets, rep.Source, rep.At.Format(time.RFC3339))
	tw := a.table()
	fmt.Fprintln(tw, "STATE\tASSETS")
	for _, s := range statusOrder {
		fmt.Fprintf(tw, "%s\t%d\n", strings.ReplaceAll(s, "_", " "), rep.States[s])
	}
	fmt.Fprintf(tw, "held after failures\t%d\n", rep.Held)
	fmt.Fprintf(tw, "due within 7 days\t%d\n", rep.DueIn7)
	fmt.Fprintf(tw, "due within 30 days\t%d\n", rep.DueIn30)
	last := "none recorded"
	if l := rep.LastQueue; l != nil {
		last = fmt.Sprintf("%s (%s, rotation %s)", l.Time.Local().Format(time.DateTime), l.SystemName, l.RotationID)
	}
	fmt.Fprintf(tw, "last router rotation\t%s\n", last)
	if err := tw.Flush(); err != nil {
		return err
	}
	max := statusListMax
	if a.wide() {
		max = -1
	}
	if len(rep.Failing) > 0 {
		fmt.Fprintf(w, "\nFailing (%d):\n", len(rep.Failing))
		tw := a.table()
		fmt.Fprintln(tw, "SYSTEM_NAME\tFAILURES\tSINCE\tRETRY_AFTER\tERROR")
		for i, f := range rep.Failing {
			if i == max {
				fmt.Fprintf(tw, "… %d more: ottr status -o wide\n", len(rep.Failing)-max)
				break
			}
			retry := "-"
			if f.RetryAfter != nil {
				retry = f.RetryAfter.Local().Format(time.DateTime)
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\n", f.SystemName, f.Failures, f.Time.Local().Format(time.DateTime), retry, f.Error)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(rep.Unrouted) > 0 {
		fmt.Fprintf(w, "\nUnrouted (%d):\n", len(rep.Unrouted))
		tw := a.table()
		fmt.Fprintln(tw, "SYSTEM_NAME\tMISSING ROUTE KEY\tREASON")
		for i, u := range rep.Unrouted {
			if i == max {
				fmt.Fprintf(tw, "… %d more: ottr status -o wide\n", len(rep.Unrouted)-max)
				break
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", u.SystemName, u.MissingKey, u.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}
