package main

import (
	"context"
	"fmt"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/spf13/cobra"
)

func (a *app) rotateCmd() *cobra.Command {
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "rotate SYSTEM_NAME [--wait]",
		Short: "Rotate one asset's certificate now",
		Long: `Queue a rotation of the asset's certificate (or join the one already
running). Without --wait the rotation runs in 'ottr serve'. With --wait the
command prints each step as it happens, says when a failed attempt will be
retried and why, and exits non-zero if the rotation fails.

Through a server (--server, OTTR_SERVER, 'ottr login', or the server found
running on the database with a token for it) the server checks the route
and DNS delegation, queues the rotation and runs it; --wait follows it.
Without a server, --wait runs the rotation in this process (with the
built-in DNS server on dns.listen). Beside a running server this command
has no token for, --wait refuses and names the server to log in to.`,
		Example: `  ottr rotate fw01.example.com --wait --config ottr.yaml`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if c, err := a.remote(); err != nil {
				return err
			} else if c != nil {
				return a.rotateRemote(ctx, c, args[0], wait, timeout)
			}
			if wait && a.running != nil {
				return errServerRunning(a.running, "running the rotation in this process")
			}
			db, err := a.store(ctx)
			if err != nil {
				return err
			}
			as, err := db.GetAsset(ctx, args[0])
			if err != nil {
				return err
			}
			c, err := a.config()
			if err != nil {
				return err
			}
			if wait && c.DNS.Listen != "" && c.DNS.builtinZones() {
				srv, err := a.dnsServer(ctx)
				if err != nil {
					return err
				}
				if err := srv.Listen(ctx, c.DNS.Listen); err != nil {
					return dnsInUse(c.DNS.Listen, err)
				}
				defer srv.Close()
			}
			eng, err := a.engine(ctx, false)
			if err != nil {
				return err
			}
			r := &ottr.Rotation{SystemName: as.SystemName, Trigger: ottr.TriggerCLI, RequestedBy: a.actor()}
			joined, err := eng.Enqueue(ctx, r)
			if err != nil {
				return err
			}
			if joined {
				a.progress("joined rotation %s, already %s", r.ID, r.State)
			} else {
				a.progress("rotation %s queued", r.ID)
			}
			if !wait {
				if a.running != nil {
					a.progress("the server at %s runs it; follow it with: ottr rotations show %s", a.running.URL, r.ID)
				} else {
					a.progress("'ottr serve' runs it; follow it with: ottr rotations show %s", r.ID)
				}
				return a.printRotation(r)
			}
			if err := eng.Start(ctx); err != nil {
				return err
			}
			defer func() {
				stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				defer cancel()
				_ = eng.Stop(stop)
			}()
			get := db.GetRotation
			if na, ok := eng.(api.NextAttempter); ok {
				get = func(ctx context.Context, id string) (*ottr.Rotation, error) {
					r, err := db.GetRotation(ctx, id)
					if err == nil && r.State.Live() && r.Error != "" {
						if at, ok, _ := na.NextAttempt(ctx, id); ok {
							r.NextAttemptAt = &at
						}
					}
					return r, err
				}
			}
			final, err := a.follow(ctx, get, r.ID, timeout)
			if err != nil {
				return err
			}
			if err := a.printRotation(final); err != nil {
				return err
			}
			if final.State != ottr.StateSucceeded {
				return errSilent
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the rotation until it ends, showing its progress (run here when no server is in use)")
	cmd.Flags().DurationVar(&timeout, "timeout", time.Hour, "with --wait, give up waiting after this long")
	return cmd
}

// follow prints a rotation's log lines as they are written until it ends,
// and, when an attempt failed and another is due, when and why.
func (a *app) follow(ctx context.Context, get func(context.Context, string) (*ottr.Rotation, error), id string, timeout time.Duration) (*ottr.Rotation, error) {
	deadline := time.Now().Add(timeout)
	seen, retryShown := 0, 0
	for {
		r, err := get(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, l := range r.Log[seen:] {
			if !a.quiet {
				fmt.Fprintf(a.stderr, "%s  %-9s %-5s %s\n", l.Time.Local().Format("15:04:05.000"), l.Step, l.Level, l.Message)
			}
		}
		seen = len(r.Log)
		if r.State.Live() && r.Error != "" && r.NextAttemptAt != nil && r.Attempts > retryShown {
			retryShown = r.Attempts
			a.progress("%s", retryLine(r, time.Now()))
		}
		if !r.State.Live() {
			return r, nil
		}
		if time.Now().After(deadline) {
			return r, ottr.Errorf(ottr.EUNAVAILABLE, "rotation %s still %s after %s", id, r.State, timeout)
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// rotateRemote asks a server to rotate an asset and, with wait, follows
// the rotation the server runs.
func (a *app) rotateRemote(ctx context.Context, c *api.Client, name string, wait bool, timeout time.Duration) error {
	id, joined, err := c.Rotate(ctx, name)
	if err != nil {
		return err
	}
	if joined {
		a.progress("joined rotation %s on %s", id, c.BaseURL)
	} else {
		a.progress("rotation %s queued on %s", id, c.BaseURL)
	}
	if !wait {
		r, err := c.Rotation(ctx, id)
		if err != nil {
			return err
		}
		return a.printRotation(r)
	}
	final, err := a.follow(ctx, c.Rotation, id, timeout)
	if err != nil {
		return err
	}
	if err := a.printRotation(final); err != nil {
		return err
	}
	if final.State != ottr.StateSucceeded {
		return errSilent
	}
	return nil
}

// retryLine says why an attempt failed and when the next one runs.
func retryLine(r *ottr.Rotation, now time.Time) string {
	in := max(r.NextAttemptAt.Sub(now), 0).Round(time.Second)
	return fmt.Sprintf("attempt %d failed: %s; retrying in %s (at %s)", r.Attempts, r.Error, in, r.NextAttemptAt.Local().Format("15:04:05"))
}
