package ottr

import (
	"context"
	"time"
)

// Digest is the daily summary of what needs people: rotations that fail,
// certificates about to expire that no rotation has renewed, and due
// assets no route serves. Failure and recovery messages are sent as they
// happen; the digest catches what those do not repeat.
type Digest struct {
	// Day is the UTC day the digest is for, as 2006-01-02.
	Day string `json:"day"`
	// Failing counts the assets whose last rotation failed;
	// FailingAssets names some of them, by system_name.
	Failing       int      `json:"failing"`
	FailingAssets []string `json:"failing_assets,omitempty"`
	// Expiring counts the assets whose certificate expires within
	// ExpiringWithin (or has expired) and whose last rotation did not
	// succeed (or that were never rotated); ExpiringAssets names some,
	// soonest first. An asset may be both failing and expiring.
	Expiring       int           `json:"expiring"`
	ExpiringAssets []string      `json:"expiring_assets,omitempty"`
	ExpiringWithin time.Duration `json:"-"`
	// ExpiringDays is ExpiringWithin in days, for JSON readers.
	ExpiringDays int `json:"expiring_within_days"`
	// Unrouted counts the due assets without a route by the route.json
	// key that is missing (as the router reports them).
	Unrouted map[string]int `json:"unrouted,omitempty"`
}

// NeedsAttention reports whether anything in d needs people. A digest
// that does not is not sent.
func (d Digest) NeedsAttention() bool {
	return d.Failing > 0 || d.Expiring > 0 || len(d.Unrouted) > 0
}

// UnroutedTotal is the number of due assets without a route.
func (d Digest) UnroutedTotal() int {
	n := 0
	for _, c := range d.Unrouted {
		n += c
	}
	return n
}

// DigestCounter counts what a digest reports from the inventory.
type DigestCounter interface {
	// DigestCounts returns a Digest with Failing and Expiring (and up to
	// sample names of each) filled as of now, expiring meaning within
	// the given duration.
	DigestCounts(ctx context.Context, now time.Time, within time.Duration, sample int) (Digest, error)
}

// DigestNotifier sends the daily digest to people.
type DigestNotifier interface {
	// NotifyDigest sends d on every channel; one channel failing does
	// not stop the others, and their errors are returned together.
	NotifyDigest(ctx context.Context, d Digest) error
}

// KV keeps small facts every replica agrees on, such as the last day a
// digest went out.
type KV interface {
	// Get returns key's value, "" when it has none.
	Get(ctx context.Context, key string) (string, error)
	// CompareAndSwap sets key to new if it holds old ("" for no value),
	// atomically across every process sharing the database, and reports
	// whether it did. new must not be "".
	CompareAndSwap(ctx context.Context, key, old, new string) (bool, error)
}
