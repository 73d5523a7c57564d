package main

import (
	"context"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/spf13/cobra"
)

func (a *app) serveCmd() *cobra.Command {
	var once, insecureHTTP bool
	var listen, tlsCert, tlsKey string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run Ottr: the router on its schedule, the rotation workers and the DNS server",
		Long: `Run until interrupted: the built-in DNS server (when dns.listen is set),
the rotation workers (workers.concurrency at once, durable jobs in the
database) and the router, which every router.interval queues a rotation for
each due asset that has a route.

Several replicas may share one PostgreSQL database: they elect a leader
that queues the router passes (one per interval for the whole cluster),
share the rotation jobs, and continue the rotations of a replica that died
once its lease (workers.lease) runs out. On SIGINT/SIGTERM a replica stops
taking jobs and gives running rotations 30 seconds to finish; the rest are
handed over at once to the other replicas (or to this one's next start).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.config()
			if err != nil {
				return err
			}
			if cmd.Flags().Changed("listen") {
				c.Listen = listen
			}
			if err := checkListen(c.Listen, tlsCert, tlsKey, insecureHTTP); err != nil {
				return err
			}
			if c.DNS.Listen != "" && c.DNS.builtinZones() {
				srv, err := a.dnsServer(ctx)
				if err != nil {
					return err
				}
				if err := srv.Listen(ctx, c.DNS.Listen); err != nil {
					return err
				}
				defer srv.Close()
			}
			eng, err := a.engine(ctx, true)
			if err != nil {
				return err
			}
			stopAPI, err := a.serveAPI(ctx, c.Listen, tlsCert, tlsKey, insecureHTTP, eng)
			if err != nil {
				return err
			}
			defer stopAPI()
			if err := eng.Start(ctx); err != nil {
				return err
			}
			a.log.Info("rotation workers started", "concurrency", c.Workers.Concurrency)
			defer func() {
				stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				defer cancel()
				if err := eng.Stop(stop); err != nil {
					a.log.Warn("stopping workers", "err", err)
				}
				a.log.Info("stopped")
			}()
			if once {
				_, err := eng.RouterPass(ctx)
				return err
			}
			chores, err := a.chores(ctx)
			if err != nil {
				return err
			}
			// Every replica runs the chores each minute; each does its
			// own share of work or none. The router's passes are the
			// engine's (one per interval for the cluster).
			minute := time.NewTicker(time.Minute)
			defer minute.Stop()
			for {
				chores(ctx)
				select {
				case <-ctx.Done():
					a.log.Info("stopping: running rotations get 30s to finish, the rest are handed over")
					return nil
				case <-minute.C:
				}
			}
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "API address host:port (config listen; empty string turns the API off)")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", "", "serve the API over TLS with this certificate chain (PEM)")
	cmd.Flags().StringVar(&tlsKey, "tls-key", "", "and this key (PEM)")
	cmd.Flags().BoolVar(&insecureHTTP, "insecure-http", false, "allow plain HTTP on an address other than loopback")
	cmd.Flags().BoolVar(&once, "once", false, "run one router pass, then stop")
	_ = cmd.Flags().MarkHidden("once")
	return cmd
}

// chores returns what serve does besides the router's pass: the daily
// digest (notify.digest, when a channel is configured) and the refresh of
// the CAs' renewal windows (ARI).
func (a *app) chores(ctx context.Context) (func(context.Context), error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	rt, err := a.routeTable()
	if err != nil {
		return nil, err
	}
	is, err := a.issuer(ctx)
	if err != nil {
		return nil, err
	}
	windows := &rotate.WindowRefresh{Assets: db, Issuer: is, Logger: a.log}
	var digest *rotate.Digester
	at, on, _ := c.Notify.DigestAt() // validated with the config
	if dn, ok := a.notifier.(ottr.DigestNotifier); ok && on {
		digest = &rotate.Digester{Store: db, Notifier: dn, At: at, Logger: a.log,
			Router: &rotate.Router{Assets: db, Routes: rt, Policy: c.policy()}}
	}
	return func(ctx context.Context) {
		if n, err := windows.Run(ctx); err != nil {
			a.log.Error("renewal window refresh", "err", err)
		} else if n > 0 {
			a.log.Info("renewal windows refreshed", "assets", n)
		}
		if digest != nil {
			if _, err := digest.MaybeSend(ctx, time.Now()); err != nil {
				a.log.Error("daily digest", "err", err)
			}
		}
	}, nil
}
