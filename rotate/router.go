package rotate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/ottr-dev/ottr"
)

// Router selects due assets and routes them. Its zero value is not usable:
// Assets is required; a nil Routes leaves every due asset unrouted.
type Router struct {
	Assets ottr.AssetScanner
	Routes *ottr.RouteTable
	Policy ottr.RenewalPolicy
	Now    func() time.Time // nil = time.Now
	Logger *slog.Logger     // nil = discard
}

// Candidate is a due asset found by a pass. Exactly one of Route and NoRoute
// is set.
type Candidate struct {
	// Asset holds the routing fields only (ottr.AssetScan.Brief) and is
	// valid during the callback only; clone it to keep it.
	Asset    *ottr.Asset
	Decision ottr.Decision
	Route    *ottr.Route
	NoRoute  *ottr.NoRouteError
}

// PassStats summarises a pass.
type PassStats struct {
	// Examined counts the assets the store returned: those without an
	// expiry or expiring within the policy's longest lead time.
	Examined int `json:"examined"`
	Due      int `json:"due"`
	// Held counts due assets left for a later pass: their last rotation
	// failed and its backoff has not run out (LastRotation.RetryAfter).
	Held     int           `json:"held"`
	Routed   int           `json:"routed"`
	Unrouted int           `json:"unrouted"`
	Duration time.Duration `json:"duration_ns"`
}

type routeKey struct{ platform, os, model, ca string }

type routeResult struct {
	route   *ottr.Route
	noRoute *ottr.NoRouteError
}

var errNoTable = &ottr.NoRouteError{Key: "route table", Reason: "no route table is loaded (set routes in the config or --routes)"}

// Pass streams every asset that can be due at now through the policy and the
// route table and calls fn for each due one. An error from fn or the store
// stops the pass and is returned with the stats so far.
func (r *Router) Pass(ctx context.Context, fn func(Candidate) error) (PassStats, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	start := time.Now()
	at := now()
	var st PassStats
	// Most fleets share a few platform/version/model/CA combinations, so
	// each is looked up once per pass.
	cache := map[routeKey]routeResult{}
	unrouted, unroutedWhy := map[string]int{}, map[string]string{}
	// An asset with a renewal window can be due only once its window has
	// started (the store compares in milliseconds, "before": one more
	// keeps a window starting at this very instant).
	scan := ottr.AssetScan{ExpiringBefore: at.Add(r.Policy.MaxLead()), WindowStartsBefore: at.Add(time.Millisecond), Brief: true}
	err := r.Assets.ScanAssets(ctx, scan, func(a *ottr.Asset) error {
		st.Examined++
		res, d := r.decide(a, at, cache)
		if !d.Due {
			return nil
		}
		st.Due++
		if heldBack(a, at) {
			st.Held++
			return nil
		}
		c := Candidate{Asset: a, Decision: d, Route: res.route, NoRoute: res.noRoute}
		if c.Route != nil {
			st.Routed++
		} else {
			st.Unrouted++
			unrouted[c.NoRoute.Key]++
			if _, ok := unroutedWhy[c.NoRoute.Key]; !ok {
				unroutedWhy[c.NoRoute.Key] = c.NoRoute.Reason
			}
		}
		return fn(c)
	})
	st.Duration = time.Since(start)
	// One line per missing route, not one per asset: a fleet of a
	// thousand devices on an unrouted version says so once.
	for _, k := range slices.Sorted(maps.Keys(unrouted)) {
		log.Warn("due assets have no route", "route_key", k, "assets", unrouted[k], "err", unroutedWhy[k])
	}
	if err != nil {
		return st, fmt.Errorf("router pass: %w", err)
	}
	log.Info("router pass done", "examined", st.Examined, "due", st.Due, "held", st.Held, "routed", st.Routed, "unrouted", st.Unrouted, "duration", st.Duration)
	return st, nil
}

// decide routes a and decides whether it is due at at, looking each
// route key up once per cache.
func (r *Router) decide(a *ottr.Asset, at time.Time, cache map[routeKey]routeResult) (routeResult, ottr.Decision) {
	k := routeKey{a.HostPlatform, a.OSVersion, a.DeviceModel, a.CertificateAuthority}
	res, ok := cache[k]
	if !ok {
		res = r.lookup(k)
		cache[k] = res
	}
	recipe := ""
	if res.route != nil {
		recipe = res.route.Recipe
	}
	return res, r.Policy.Due(a, recipe, at)
}

// Decider gives the router's verdict on assets one at a time, exactly as
// a pass reaches it, for listings and summaries that must agree with the
// router. It is not safe for concurrent use.
type Decider struct {
	r     *Router
	at    time.Time
	cache map[routeKey]routeResult
}

// Decider returns a Decider at the router's now.
func (r *Router) Decider() *Decider {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	return &Decider{r: r, at: now(), cache: map[routeKey]routeResult{}}
}

// Decide says whether a is due and which route serves it; exactly one of
// the route and the no-route error is set. A due asset whose last rotation
// failed and whose backoff has not run out is due but Held: a pass leaves
// it for later.
func (d *Decider) Decide(a *ottr.Asset) (dec ottr.Decision, route *ottr.Route, noRoute *ottr.NoRouteError, held bool) {
	res, dec := d.r.decide(a, d.at, d.cache)
	return dec, res.route, res.noRoute, dec.Due && heldBack(a, d.at)
}

// heldBack says a's last rotation failed and its backoff runs past at.
func heldBack(a *ottr.Asset, at time.Time) bool {
	l := a.LastRotation
	return l != nil && l.RetryAfter != nil && at.Before(l.RetryAfter.Time)
}

// At is the instant the Decider decides at.
func (d *Decider) At() time.Time { return d.at }

func (r *Router) lookup(k routeKey) routeResult {
	if r.Routes == nil {
		return routeResult{noRoute: errNoTable}
	}
	route, err := r.Routes.Lookup(k.platform, k.os, k.model, k.ca)
	var nr *ottr.NoRouteError
	if errors.As(err, &nr) {
		return routeResult{noRoute: nr}
	}
	return routeResult{route: route}
}

// Outcome says what Enqueue did with a routed candidate.
type Outcome string

// Enqueue outcomes.
const (
	Queued Outcome = "queued" // a new rotation was created
	Joined Outcome = "joined" // the asset already had a live rotation
)
