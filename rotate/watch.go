package rotate

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ottr-dev/ottr"
)

// Watcher reads, at each router pass, the certificate that every asset no
// route serves presents, and records it on the asset, so the inventory
// shows every certificate, rotated by Ottr or not. Such an asset is marked
// Monitored; one a route serves again loses the mark. A certificate inside
// the renewal policy's window is announced once through the Notifier, and
// once more when it has expired; a replaced certificate may be announced
// again. The engine runs it right after each router pass, in the same job:
// once per interval for every process sharing the database.
type Watcher struct {
	Assets ottr.WatchStore
	// Observe returns the chain the asset's device serves, leaf first. It
	// must honour ctx: the pass waits for every call it started.
	Observe func(ctx context.Context, a *ottr.Asset) ([]*x509.Certificate, error)
	// Notifier is told about certificates nearing or past their expiry;
	// nil tells no one, and nothing is recorded as told.
	Notifier ottr.ExpiryNotifier
	// Concurrency is how many certificates are read at once; default 32.
	Concurrency int
	// Timeout bounds the reading of one certificate; default 5s.
	Timeout time.Duration
	// Budget bounds the reading of them all; what is left when it runs
	// out waits for a later pass (each pass reads in a new random order).
	// The engine sets it to half the router interval when it is 0.
	Budget time.Duration
	Now    func() time.Time // nil = time.Now
	Logger *slog.Logger     // nil = discard
}

// WatchStats summarises a watch pass.
type WatchStats struct {
	// Unrouted counts the assets no route serves: the ones watched.
	Unrouted int `json:"unrouted"`
	// Watched counts the certificates read; Changed those that differ
	// from the one recorded before.
	Watched int `json:"watched"`
	Changed int `json:"changed"`
	// Failed counts the certificates that could not be read; the assets
	// keep the certificate recorded before.
	Failed int `json:"failed"`
	// Skipped counts the certificates left for the next pass because the
	// Budget ran out.
	Skipped int `json:"skipped"`
	// Cleared counts the assets a route serves again, no longer monitored.
	Cleared int `json:"cleared"`
	// Alerted counts the expiry warnings sent.
	Alerted  int           `json:"alerted"`
	Duration time.Duration `json:"duration_ns"`
}

// watchPage is how many assets are read from the store, and written back,
// at once.
const watchPage = 500

// alertTimeout bounds the sending of one expiry warning; after
// alertGiveUp failures in a row the rest wait for the next pass.
const (
	alertTimeout = 30 * time.Second
	alertGiveUp  = 3
)

// watched is one asset of a watch pass: as the store returned it, with
// what was read.
type watched struct {
	a       *ottr.Asset
	noRoute *ottr.NoRouteError
	leaf    *x509.Certificate
	err     error // nil without leaf: left for the next pass
}

// Pass watches the assets no route of r serves, deciding routes as r does.
// The error is the store's: a certificate that cannot be read is counted
// and logged, one line per kind of failure.
func (w *Watcher) Pass(ctx context.Context, r *Router) (WatchStats, error) {
	start := time.Now()
	var st WatchStats
	log := w.logger()
	cache := map[routeKey]routeResult{}
	route := func(a *ottr.Asset) routeResult {
		k := routeKey{a.HostPlatform, a.OSVersion, a.DeviceModel, a.CertificateAuthority}
		res, ok := cache[k]
		if !ok {
			res = r.lookup(k)
			cache[k] = res
		}
		return res
	}
	// Routing needs four columns, which the brief scan reads from an
	// index; only the assets of unrouted keys are read whole.
	unrouted := map[routeKey]bool{}
	err := w.Assets.ScanAssets(ctx, ottr.AssetScan{Brief: true}, func(a *ottr.Asset) error {
		if route(a).route == nil {
			unrouted[routeKey{a.HostPlatform, a.OSVersion, a.DeviceModel, a.CertificateAuthority}] = true
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("watch pass: %w", err)
	}
	if st.Cleared, err = w.Assets.ClearMonitored(ctx, func(a *ottr.Asset) bool { return route(a).route != nil }); err != nil {
		return st, fmt.Errorf("watch pass: %w", err)
	}
	items, err := w.unroutedAssets(ctx, unrouted, cache)
	if err != nil {
		return st, fmt.Errorf("watch pass: %w", err)
	}
	st.Unrouted = len(items)
	// In a new order each pass: when the budget runs out, what is left
	// is another share of the fleet each time, not always the same
	// devices behind the same dead ones (a failed reading leaves no
	// trace to order by).
	rand.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	readAt := w.now()
	w.observe(ctx, items)
	if err := w.record(ctx, items, readAt, &st); err != nil {
		return st, fmt.Errorf("watch pass: %w", err)
	}
	w.logFailures(items)
	if w.Notifier != nil {
		if err := w.alert(ctx, r, items, &st); err != nil {
			return st, fmt.Errorf("watch pass: %w", err)
		}
	}
	st.Duration = time.Since(start)
	if st.Skipped > 0 {
		log.Warn("watch pass ran out of time; the certificates left are read first at the next pass",
			"skipped", st.Skipped, "budget", w.budget(), "hint", "raise router.watch_concurrency or lower router.watch_timeout")
	}
	log.Info("watch pass done", "unrouted", st.Unrouted, "watched", st.Watched, "changed", st.Changed, "failed", st.Failed,
		"skipped", st.Skipped, "cleared", st.Cleared, "alerted", st.Alerted, "duration", st.Duration.Round(time.Millisecond))
	return st, nil
}

// unroutedAssets reads whole the assets of the unrouted keys, a page at a
// time through the search; a key field left out of the search (empty, or
// too long to search for) is checked here.
func (w *Watcher) unroutedAssets(ctx context.Context, keys map[routeKey]bool, cache map[routeKey]routeResult) ([]*watched, error) {
	var items []*watched
	field := func(v string) string {
		if len(v) > ottr.MaxSearchValue {
			return ""
		}
		return v
	}
	for _, k := range slices.SortedFunc(maps.Keys(keys), func(x, y routeKey) int {
		return cmp.Or(cmp.Compare(x.platform, y.platform), cmp.Compare(x.os, y.os), cmp.Compare(x.model, y.model), cmp.Compare(x.ca, y.ca))
	}) {
		f := ottr.AssetFilter{HostPlatform: field(k.platform), OSVersion: field(k.os), DeviceModel: field(k.model),
			CertificateAuthority: field(k.ca), Limit: watchPage}
		for {
			page, next, err := w.Assets.FindAssets(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, a := range page {
				if (routeKey{a.HostPlatform, a.OSVersion, a.DeviceModel, a.CertificateAuthority}) != k {
					continue
				}
				a.Labels = nil // not needed, and a large fleet is held whole
				items = append(items, &watched{a: a, noRoute: cache[k].noRoute})
			}
			if next == "" {
				break
			}
			f.Cursor = next
		}
	}
	return items, nil
}

// observe reads the items' certificates, Concurrency at once, each within
// Timeout, until the Budget runs out.
func (w *Watcher) observe(ctx context.Context, items []*watched) {
	if w.Observe == nil || len(items) == 0 {
		return
	}
	bctx, cancel := context.WithTimeout(ctx, w.budget())
	defer cancel()
	timeout := w.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	conc := w.Concurrency
	if conc <= 0 {
		conc = 32
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(conc, len(items)) {
		wg.Go(func() {
			for bctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				it := items[i]
				actx, cancel := context.WithTimeout(bctx, timeout)
				chain, err := w.Observe(actx, it.a)
				cancel()
				switch {
				case err != nil && bctx.Err() != nil && ctx.Err() == nil:
					// Cut short by the budget, not the device's fault:
					// left for the next pass.
				case err != nil:
					it.err = err
				case len(chain) == 0:
					it.err = errNoCertificate
				default:
					it.leaf = chain[0]
				}
			}
		})
	}
	wg.Wait()
}

var errNoCertificate = errors.New("no certificate presented")

// failureKind names why a certificate could not be read, in a few words
// that do not depend on the device (no address, no name).
func failureKind(err error) string {
	var dns *net.DNSError
	var timeout interface{ Timeout() bool }
	var rec tls.RecordHeaderError
	var alert tls.AlertError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &timeout) && timeout.Timeout():
		return "timed out"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "host unreachable"
	case errors.As(err, &dns):
		return "name not resolved"
	case errors.Is(err, errNoCertificate):
		return "no certificate presented"
	case errors.As(err, &rec), errors.As(err, &alert), errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		return "TLS handshake refused (not a TLS service?)"
	}
	return "other errors"
}

// record writes what was read, a page of assets per transaction: the
// certificates read, and the Monitored mark on assets that lacked it.
func (w *Watcher) record(ctx context.Context, items []*watched, at time.Time, st *WatchStats) error {
	batch := make([]ottr.Observation, 0, watchPage)
	for i, it := range items {
		a := it.a
		switch {
		case it.leaf != nil:
			st.Watched++
			o := ottr.Observation{SystemName: a.SystemName, At: at}
			if changed(a, it.leaf) {
				st.Changed++
				o.Changed, o.NotBefore, o.NotAfter = true, it.leaf.NotBefore, it.leaf.NotAfter
				o.Serial, o.Issuer = fmt.Sprintf("%x", it.leaf.SerialNumber), it.leaf.Issuer.String()
				a.CertificateNotBefore, a.CertificateExpiration = ottr.NewTime(o.NotBefore), ottr.NewTime(o.NotAfter)
				a.CertificateSerial, a.CertificateIssuer, a.RenewalWindow = o.Serial, o.Issuer, nil
			}
			a.Monitored, a.CertificateObservedAt = true, ottr.NewTime(at)
			batch = append(batch, o)
		default:
			if it.err != nil {
				st.Failed++
			} else {
				st.Skipped++
			}
			if !a.Monitored {
				a.Monitored = true
				batch = append(batch, ottr.Observation{SystemName: a.SystemName, At: at, Unread: true})
			}
		}
		if len(batch) == watchPage || (i == len(items)-1 && len(batch) > 0) {
			if err := w.Assets.RecordObservations(ctx, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	return nil
}

// changed reports whether leaf is not the certificate a records.
func changed(a *ottr.Asset, leaf *x509.Certificate) bool {
	return a.CertificateExpiration == nil || !a.CertificateExpiration.Equal(leaf.NotAfter.Truncate(time.Second)) ||
		a.CertificateNotBefore == nil || !a.CertificateNotBefore.Equal(leaf.NotBefore.Truncate(time.Second)) ||
		a.CertificateSerial != fmt.Sprintf("%x", leaf.SerialNumber) || a.CertificateIssuer != leaf.Issuer.String()
}

// logFailures says once per kind of failure how many certificates could
// not be read, with one asset and its error as an example: a site that is
// down is one line, not one per device.
func (w *Watcher) logFailures(items []*watched) {
	type kind struct {
		n       int
		example *watched
	}
	kinds := map[string]*kind{}
	for _, it := range items {
		if it.err == nil {
			continue
		}
		why := failureKind(it.err)
		k := kinds[why]
		if k == nil {
			k = &kind{example: it}
			kinds[why] = k
		}
		k.n++
	}
	for _, why := range slices.Sorted(maps.Keys(kinds)) {
		k := kinds[why]
		w.logger().Warn("served certificates not read; the assets keep the certificate recorded", "reason", why, "assets", k.n,
			"example", k.example.a.SystemName, "err", k.example.err)
	}
}

// alert sends the expiry warnings due: for every watched asset whose
// recorded certificate is inside the policy's renewal window (as the
// router would decide it without a route) or expired, unless it was sent
// for that certificate already. Each is claimed in the store before it is
// sent, so a warning goes out at most once however many passes and
// processes see it: one whose channels failed is logged, not sent again
// (the daily digest still lists the certificate).
func (w *Watcher) alert(ctx context.Context, r *Router, items []*watched, st *WatchStats) error {
	now := w.now()
	failures := 0
	for _, it := range items {
		a := it.a
		if a.CertificateExpiration == nil {
			continue
		}
		d := r.Policy.Due(a, "", now)
		if !d.Due {
			continue
		}
		x := ottr.ExpiryAlerted{NotAfter: *a.CertificateExpiration, Expired: !now.Before(a.CertificateExpiration.Time)}
		if p := a.ExpiryAlerted; p != nil && p.NotAfter.Equal(x.NotAfter.Time) && (p.Expired || !x.Expired) {
			continue
		}
		if failures >= alertGiveUp {
			continue // unclaimed: the next pass tries
		}
		claimed, err := w.Assets.ClaimExpiryAlert(ctx, a.SystemName, x)
		if err != nil {
			return err
		}
		if !claimed {
			continue
		}
		a.ExpiryAlerted = &x
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), alertTimeout)
		err = w.Notifier.NotifyExpiry(sctx, ottr.ExpiryWarning{Asset: a, Expired: x.Expired, NoRoute: it.noRoute, Reason: d.Reason})
		cancel()
		if err != nil {
			failures++
			w.logger().Error("expiry warning not sent", "asset", a.SystemName, "not_after", a.CertificateExpiration.Time, "err", err)
			continue
		}
		failures = 0
		st.Alerted++
		w.logger().Info("expiry warning sent", "asset", a.SystemName, "not_after", a.CertificateExpiration.Time, "expired", x.Expired)
	}
	if failures >= alertGiveUp {
		w.logger().Warn("expiry warnings stopped for this pass after failures in a row; the rest go out at the next pass", "failures", failures)
	}
	return nil
}

func (w *Watcher) budget() time.Duration {
	if w.Budget > 0 {
		return w.Budget
	}
	return 30 * time.Minute
}

func (w *Watcher) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Watcher) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}
