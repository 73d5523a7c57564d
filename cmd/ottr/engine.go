package main

import (
	"context"
	"crypto/x509"
	"database/sql"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
	"github.com/ottr-dev/ottr/notify"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// rotationEngine is rotate.Engine whichever database carries the jobs.
type rotationEngine interface {
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Recover(ctx context.Context) error
	Enqueue(ctx context.Context, r *ottr.Rotation) (bool, error)
	RouterPass(ctx context.Context) (rotate.PassResult, error)
	RouterStatus(ctx context.Context) (*ottr.RouterStatus, error)
}

// rotator builds the rotation pipeline from the configuration.
func (a *app) rotator(ctx context.Context) (*rotate.Rotator, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	is, err := a.issuer(ctx)
	if err != nil {
		return nil, err
	}
	rt, err := a.routeTable()
	if err != nil {
		return nil, err
	}
	if a.notifier == nil && (c.Notify.Slack != nil || c.Notify.Webhook != nil || c.Notify.Email != nil) {
		n, err := notify.New(c.Notify)
		if err != nil {
			return nil, err
		}
		a.notifier = n
	}
	roots := map[string]*x509.CertPool{}
	for name, ca := range c.CertificateAuthorities {
		if p := pemOrFile(ca.TrustedRoots); len(p) > 0 {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(p)
			roots[name] = pool
		}
	}
	return &rotate.Rotator{
		Assets: db, Rotations: db, Issuer: is, DNS: is.DNS, Routes: rt,
		Open:        a.openDriver,
		Address:     c.deviceAddress,
		Roots:       func(ca string) *x509.CertPool { return roots[ca] },
		CSRProfile:  c.csrProfile,
		RetryBase:   time.Duration(c.Router.Interval),
		Notifier:    ottr.Notifiers{a.notifier, a.rotations()},
		StepTimeout: time.Duration(c.Workers.StepTimeout),
		Logger:      a.log,
	}, nil
}

// engine builds the durable job engine on the configured database (with
// the periodic router when withRouter, as ottr serve runs it): River's
// SQLite driver on data_dir/jobs.db (its own file and one connection, as
// River's SQLite driver wants), or River's PostgreSQL driver on the DSN.
func (a *app) engine(ctx context.Context, withRouter bool) (rotationEngine, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	rot, err := a.rotator(ctx)
	if err != nil {
		return nil, err
	}
	ec := rotate.EngineConfig{
		Concurrency: c.Workers.Concurrency, MaxAttempts: c.Workers.MaxAttempts,
		BaseBackoff: time.Duration(c.Workers.Backoff), MaxBackoff: time.Duration(c.Workers.MaxBackoff),
		PollInterval: a.pollInterval, Logger: a.log, Lease: time.Duration(c.Workers.Lease),
		RouterInterval: time.Duration(c.Router.Interval),
	}
	if withRouter {
		ec.Router = a.router
		if c.Router.Watch {
			if ec.Watch, err = a.watcher(ctx); err != nil {
				return nil, err
			}
		}
	}
	if dsn := c.Database.Reveal(); dsn != "" {
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			return nil, ottr.Errorf(ottr.EINVALID, "database: %v", err)
		}
		a.closers = append(a.closers, func() { pool.Close() })
		e, err := rotate.NewEngine(riverpgxv5.New(pool), rot, ec)
		if err != nil {
			return nil, err
		}
		return e, e.Migrate(ctx)
	}
	jobs, err := sql.Open("sqlite", "file:"+filepath.Join(c.DataDir, "jobs.db")+
		"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		return nil, err
	}
	jobs.SetMaxOpenConns(1)
	a.closers = append(a.closers, func() { jobs.Close() })
	e, err := rotate.NewEngine(riversqlite.New(jobs), rot, ec)
	if err != nil {
		return nil, err
	}
	return e, e.Migrate(ctx)
}

// router builds the router of a pass with the route table as it is now.
func (a *app) router(ctx context.Context) (*rotate.Router, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	rt, err := a.routeTable()
	if err != nil {
		return nil, err
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	return &rotate.Router{Assets: db, Routes: rt, Policy: c.policy(), Logger: a.log}, nil
}

// deviceAddress is host:port of an asset's device as a rotation reaches
// it: the device settings' address, else the asset's ip_address (or
// system_name) and port; "" when no port is known.
func (c *Config) deviceAddress(as *ottr.Asset) string {
	dc, err := c.Devices.device(as)
	if err != nil {
		// No device settings (an Ottr recipe picks the driver): the
		// asset's own port, as openDriver uses it.
		dc = DeviceConfig{Port: as.Port}
	}
	return dc.address(as)
}

// watcher builds the watch pass that follows each router pass: the
// certificates of assets no route serves are read and recorded.
func (a *app) watcher(ctx context.Context) (*rotate.Watcher, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	w := &rotate.Watcher{Assets: db, Concurrency: c.Router.WatchConcurrency, Timeout: time.Duration(c.Router.WatchTimeout),
		Logger: a.log, Observe: func(ctx context.Context, as *ottr.Asset) ([]*x509.Certificate, error) {
			return served.Chain(ctx, c.watchAddress(as), serverName(as))
		}}
	if n, ok := a.notifier.(ottr.ExpiryNotifier); ok {
		w.Notifier = n
	}
	return w, nil
}

// watchAddress is where an asset no route serves is read: where a
// rotation would reach it, and port 443 when nothing names a port (such
// an asset seldom has device settings; HTTPS is what most devices serve).
//
// The reading opens a TLS connection and reads the certificate presented,
// nothing more: no credential is sent, so none is looked up, and the
// chain is not verified, nor pinned in the device trust store, because
// nothing is entrusted to the device and an expired, self-signed or
// untrusted certificate is exactly what the inventory must show.
func (c *Config) watchAddress(as *ottr.Asset) string {
	if addr := c.deviceAddress(as); addr != "" {
		return addr
	}
	return net.JoinHostPort(as.Host(), "443")
}

// serverName is the name an asset's certificate is asked for (SNI): its
// common name, else its system_name.
func serverName(as *ottr.Asset) string {
	if as.CommonName != "" && !strings.HasPrefix(as.CommonName, "*.") {
		return as.CommonName
	}
	return as.SystemName
}
