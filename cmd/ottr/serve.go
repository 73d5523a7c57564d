package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/spf13/cobra"
)

func (a *app) serveCmd() *cobra.Command {
	var once, insecureHTTP, paused bool
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
handed over at once to the other replicas (or to this one's next start).

Serve starts with whatever is configured. The API and its docs always run;
rotations need a CA (certificate_authorities) and a delegate zone
(dns.zones): until both are set they are off, and the log and /readyz say
which is missing. Before the router's first pass, serve logs what it would
queue; on a database that has never recorded a rotation it says so, then
queues them. With --paused (config router.paused) the router queues
nothing; rotations asked for (ottr rotate, the API) still run.`,
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
			if cmd.Flags().Changed("paused") {
				c.Router.Paused = paused
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
			st := serveState{missing: rotationsMissing(c), paused: c.Router.Paused}
			var eng rotationEngine
			if len(st.missing) > 0 {
				// The API and its docs are how a new install is set up:
				// they run whatever is missing for rotations.
				a.log.Warn("rotations are off until the configuration has what they need", "missing", strings.Join(st.missing, "; "))
			} else {
				if err := a.previewRouter(ctx, st.paused); err != nil {
					return err
				}
				if eng, err = a.engine(ctx, !st.paused); err != nil {
					return err
				}
			}
			_, stopAPI, err := a.serveAPI(ctx, c.Listen, tlsCert, tlsKey, insecureHTTP, eng, st)
			if err != nil {
				return err
			}
			defer stopAPI()
			if eng != nil {
				if err := eng.Start(ctx); err != nil {
					return err
				}
				a.log.Info("rotation workers started", "concurrency", c.Workers.Concurrency, "router", st.rotations())
				defer func() {
					stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
					defer cancel()
					if err := eng.Stop(stop); err != nil {
						a.log.Warn("stopping workers", "err", err)
					}
					a.log.Info("stopped")
				}()
			}
			if once {
				if eng == nil {
					return ottr.Errorf(ottr.EINVALID, "no router pass: rotations are off (%s)", strings.Join(st.missing, "; "))
				}
				if st.paused {
					return nil
				}
				_, err := eng.RouterPass(ctx)
				return err
			}
			chores, err := a.chores(ctx, eng != nil)
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
					if eng != nil {
						a.log.Info("stopping: running rotations get 30s to finish, the rest are handed over")
					} else {
						a.log.Info("stopped")
					}
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
	cmd.Flags().BoolVar(&paused, "paused", false, "start without queueing anything: the router only says what it would queue; asked-for rotations still run (config router.paused)")
	cmd.Flags().BoolVar(&once, "once", false, "run one router pass, then stop")
	_ = cmd.Flags().MarkHidden("once")
	return cmd
}

// chores returns what serve does besides the router's pass: the daily
// digest (notify.digest, when a channel is configured) and the refresh of
// the CAs' renewal windows (ARI).
func (a *app) chores(ctx context.Context, rotating bool) (func(context.Context), error) {
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
	// Renewal windows come from the CAs: none to ask while rotations are
	// off.
	var windows *rotate.WindowRefresh
	if rotating {
		is, err := a.issuer(ctx)
		if err != nil {
			return nil, err
		}
		windows = &rotate.WindowRefresh{Assets: db, Issuer: is, Logger: a.log}
	}
	var digest *rotate.Digester
	at, on, _ := c.Notify.DigestAt() // validated with the config
	if dn, ok := a.notifier.(ottr.DigestNotifier); ok && on {
		digest = &rotate.Digester{Store: db, Notifier: dn, At: at, Logger: a.log,
			Router: &rotate.Router{Assets: db, Routes: rt, Policy: c.policy()}}
	}
	return func(ctx context.Context) {
		if windows != nil {
			if n, err := windows.Run(ctx); err != nil {
				a.log.Error("renewal window refresh", "err", err)
			} else if n > 0 {
				a.log.Info("renewal windows refreshed", "assets", n)
			}
		}
		if digest != nil {
			if _, err := digest.MaybeSend(ctx, time.Now()); err != nil {
				a.log.Error("daily digest", "err", err)
			}
		}
	}, nil
}

// serveState is what serve runs of rotations, as /readyz reports it.
type serveState struct {
	missing []string
	paused  bool
}

func (s serveState) rotations() string {
	switch {
	case len(s.missing) > 0:
		return "off"
	case s.paused:
		return "paused"
	}
	return "running"
}

// rotationsMissing lists what the configuration lacks before a rotation
// can run, each with its key: serve starts without them and says so.
func rotationsMissing(c *Config) []string {
	var m []string
	if len(c.CertificateAuthorities) == 0 {
		m = append(m, "certificate_authorities: no CA configured (an ACME directory to order certificates from; see docs/configuration.md)")
	}
	if len(c.DNS.Zones) == 0 {
		m = append(m, "dns.zones: no delegate zone configured (DNS-01 answers are written there; see docs/dns-delegation.md)")
	}
	return m
}

// previewLimit is how many assets the start-up preview names.
const previewLimit = 20

// previewRouter logs, before the router's first pass, what that pass
// would queue, so nothing is queued that the log did not announce first.
func (a *app) previewRouter(ctx context.Context, paused bool) error {
	r, err := a.router(ctx)
	if err != nil {
		return err
	}
	r.Logger = nullLogger()
	var names []string
	n := 0
	if _, err := r.Pass(ctx, func(cand rotate.Candidate) error {
		if cand.Route != nil {
			if n < previewLimit {
				names = append(names, cand.Asset.SystemName)
			}
			n++
		}
		return nil
	}); err != nil {
		return err
	}
	list := strings.Join(names, ", ")
	if n > len(names) {
		list += fmt.Sprintf(" and %d more", n-len(names))
	}
	if paused {
		a.log.Info("router paused (--paused, router.paused): nothing is queued", "would_queue", n, "assets", list)
		return nil
	}
	db, err := a.store(ctx)
	if err != nil {
		return err
	}
	prior, _, err := db.FindRotations(ctx, ottr.RotationFilter{Limit: 1})
	if err != nil {
		return err
	}
	if len(prior) == 0 && n > 0 {
		a.log.Warn("first start on this database: the router's first pass queues these rotations now; stop and start with --paused to hold them", "will_queue", n, "assets", list)
		return nil
	}
	a.log.Info("router's first pass", "will_queue", n, "assets", list)
	return nil
}
