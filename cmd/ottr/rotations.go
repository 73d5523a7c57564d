package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/spf13/cobra"
)

func (a *app) rotationsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:     "rotations",
		Aliases: []string{"rotation"},
		Short:   "List rotations and show their logs",
	}
	cmd.AddCommand(a.rotationsListCmd(), a.rotationsShowCmd(), a.rotationsCancelCmd())
	return cmd
}

func (a *app) rotationsListCmd() *cobra.Command {
	var asset, state string
	var limit int
	cmd := &cobra.Command{
		Use:   "list [--asset NAME] [--state STATE]",
		Short: "List rotations, newest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if state != "" && !ottr.State(state).Valid() {
				return usageError{fmt.Errorf("--state %q: want queued, running, succeeded, failed or canceled", state)}
			}
			db, err := a.rotationReader(cmd.Context())
			if err != nil {
				return err
			}
			rs, _, err := db.FindRotations(cmd.Context(), ottr.RotationFilter{SystemName: asset, State: ottr.State(state), Limit: limit})
			if err != nil {
				return err
			}
			if a.json() {
				for _, r := range rs {
					r.CSR, r.Chain, r.PreviousChain = "", "", ""
				}
				if rs == nil {
					rs = []*ottr.Rotation{}
				}
				return writeJSON(a.stdout, rs)
			}
			tw := a.table()
			fmt.Fprintln(tw, "ID\tASSET\tSTATE\tSTEP\tATTEMPTS\tOLD → NEW SERIAL\tCREATED\tERROR")
			for _, r := range rs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", r.ID, r.SystemName, r.State, r.Step, r.Attempts,
					serials(r), r.CreatedAt.Local().Format(time.DateTime), a.cell(r.Error, 60))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&asset, "asset", "", "only this asset's rotations")
	cmd.Flags().StringVar(&state, "state", "", "only rotations in this state")
	cmd.Flags().IntVar(&limit, "limit", 50, "at most this many")
	return cmd
}

func serials(r *ottr.Rotation) string {
	old, nw := r.OldSerial, r.NewSerial
	if old == "" {
		old = "-"
	}
	if nw == "" {
		nw = "-"
	}
	return old + " → " + nw
}

func truncate(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

func (a *app) rotationsShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a rotation and its log",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := a.rotationReader(cmd.Context())
			if err != nil {
				return err
			}
			r, err := db.GetRotation(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printRotation(r)
		},
	}
}

func (a *app) rotationsCancelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cancel ID",
		Short: "Cancel a queued or running rotation (it stops between steps)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, err := a.remote(); err != nil {
				return err
			} else if c != nil {
				r, err := c.CancelRotation(cmd.Context(), args[0])
				if err != nil {
					return err
				}
				return a.printRotation(r)
			}
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			r, err := ottr.CancelRotation(cmd.Context(), db, args[0], a.actor(), time.Now().UTC())
			if err != nil {
				return err
			}
			a.audit(cmd.Context(), db, "rotation.cancel", "rotation/"+r.ID, nil, map[string]string{"state": string(r.State)})
			return a.printRotation(r)
		},
	}
}

func (a *app) printRotation(r *ottr.Rotation) error {
	if a.json() {
		return writeJSON(a.stdout, r)
	}
	w := a.stdout
	fmt.Fprintf(w, "rotation   %s\nasset      %s\nstate      %s\n", r.ID, r.SystemName, r.State)
	if r.Step != "" {
		fmt.Fprintf(w, "step       %s\n", r.Step)
	}
	fmt.Fprintf(w, "attempts   %d\nserial     %s\n", r.Attempts, serials(r))
	if r.NewExpiration != nil {
		fmt.Fprintf(w, "expires    %s\n", r.NewExpiration.Format(time.RFC3339))
	}
	if r.StartedAt != nil && r.FinishedAt != nil {
		fmt.Fprintf(w, "took       %s\n", r.FinishedAt.Sub(*r.StartedAt).Round(time.Millisecond))
	}
	if r.Error != "" {
		fmt.Fprintf(w, "error      %s\n", r.Error)
	}
	if len(r.Log) > 0 {
		fmt.Fprintln(w, "log:")
		for _, l := range r.Log {
			fmt.Fprintf(w, "  %s  %-9s %-5s %s\n", l.Time.Local().Format("15:04:05.000"), l.Step, l.Level, l.Message)
		}
	}
	return nil
}

// rotationReader lists and shows rotations, from a server or the database.
type rotationReader interface {
	GetRotation(ctx context.Context, id string) (*ottr.Rotation, error)
	FindRotations(ctx context.Context, f ottr.RotationFilter) ([]*ottr.Rotation, string, error)
}

func (a *app) rotationReader(ctx context.Context) (rotationReader, error) {
	c, err := a.remote()
	if err != nil || c != nil {
		return c, err
	}
	return a.store(ctx)
}
