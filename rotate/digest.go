package rotate

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/ottr-dev/ottr"
)

// DigestKey is the kv entry holding the last UTC day a digest was claimed.
const DigestKey = "notify.digest.day"

// Digester sends the daily digest (ottr.Digest): once per UTC day, from the
// configured time of day on, across every replica and restart. The day is
// claimed in the database with a compare-and-set before anything is
// counted or sent, so of replicas racing at 08:00 exactly one sends. The
// digest goes out only when something needs attention: an all-clear day
// is claimed and sends nothing.
//
// Sending is at most once a day: a digest whose channels fail is logged
// and returned as an error, not retried, so a channel that accepted it is
// never sent it twice.
type Digester struct {
	Store interface {
		ottr.DigestCounter
		ottr.KV
	}
	// Router counts the due assets without a route; nil leaves them out.
	Router   *Router
	Notifier ottr.DigestNotifier
	// At is the time of day (after UTC midnight) from which the day's
	// digest is sent; a process starting later sends it at once.
	At time.Duration
	// Within is how near expiry counts as expiring; default 7 days.
	Within time.Duration
	// Sample is how many assets of each kind are named; default 10.
	Sample int
	Logger *slog.Logger // nil = discard
}

// MaybeSend sends the digest for now's day if it is due and no replica has
// claimed it yet. It is cheap when there is nothing to do (one read of the
// kv table), so every replica may call it every minute. It reports whether
// a digest was sent.
func (g *Digester) MaybeSend(ctx context.Context, now time.Time) (bool, error) {
	now = now.UTC()
	midnight := now.Truncate(24 * time.Hour)
	if now.Before(midnight.Add(g.At)) {
		return false, nil
	}
	day := now.Format(time.DateOnly)
	last, err := g.Store.Get(ctx, DigestKey)
	if err != nil {
		return false, err
	}
	if last >= day { // ISO dates order as strings
		return false, nil
	}
	claimed, err := g.Store.CompareAndSwap(ctx, DigestKey, last, day)
	if err != nil || !claimed {
		return false, err // another replica has it
	}
	d, err := g.build(ctx, now)
	if err != nil {
		// Nothing was sent: give the day back for the next call (the kv
		// table holds no "", so a first claim goes back to yesterday).
		back := last
		if back == "" {
			back = midnight.Add(-time.Hour).Format(time.DateOnly)
		}
		if _, rerr := g.Store.CompareAndSwap(context.WithoutCancel(ctx), DigestKey, day, back); rerr != nil {
			g.logger().Error("daily digest claim not released", "err", rerr)
		}
		return false, fmt.Errorf("daily digest: %w", err)
	}
	if !d.NeedsAttention() {
		g.logger().Info("daily digest not sent: nothing needs attention", "day", day)
		return false, nil
	}
	if err := g.Notifier.NotifyDigest(ctx, d); err != nil {
		return false, fmt.Errorf("send the daily digest: %w", err)
	}
	g.logger().Info("daily digest sent", "day", day, "failing", d.Failing, "expiring", d.Expiring, "unrouted", d.UnroutedTotal())
	return true, nil
}

// build counts the digest at now.
func (g *Digester) build(ctx context.Context, now time.Time) (ottr.Digest, error) {
	within, sample := g.Within, g.Sample
	if within <= 0 {
		within = 7 * 24 * time.Hour
	}
	if sample <= 0 {
		sample = 10
	}
	d, err := g.Store.DigestCounts(ctx, now, within, sample)
	if err != nil {
		return d, err
	}
	if g.Router == nil {
		return d, nil
	}
	// The router's own pass, as of now, quiet: its warnings about
	// missing routes are the hourly pass's to log.
	r := *g.Router
	r.Now, r.Logger = func() time.Time { return now }, nil
	_, err = r.Pass(ctx, func(c Candidate) error {
		if c.NoRoute != nil {
			if d.Unrouted == nil {
				d.Unrouted = map[string]int{}
			}
			d.Unrouted[c.NoRoute.Key]++
		}
		return nil
	})
	return d, err
}

func (g *Digester) logger() *slog.Logger {
	if g.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return g.Logger
}
