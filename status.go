package ottr

import (
	"context"
	"time"
)

// Asset states of a FleetStatus. Each asset is counted once, in the first
// state that holds, in the order of AssetStates after healthy: what needs a
// person comes first.
const (
	AssetRotating     = "rotating"      // a rotation is queued or running
	AssetFailing      = "failing"       // its last rotation failed
	AssetUnrouted     = "unrouted"      // due, but no route serves it
	AssetNeverRotated = "never_rotated" // due: no certificate recorded
	AssetDue          = "due"           // due, routed: the next pass queues it
	AssetHealthy      = "healthy"       // not due
)

// AssetStates lists the states in the order summaries show them.
var AssetStates = []string{AssetHealthy, AssetDue, AssetRotating, AssetFailing, AssetUnrouted, AssetNeverRotated}

// FleetStatus summarises the inventory as the router sees it: what
// 'ottr status', GET /api/v1/status and the dashboard's overview show.
type FleetStatus struct {
	At     time.Time `json:"at"`
	Source string    `json:"source"`
	Assets int       `json:"assets"`
	// States counts assets by state (AssetStates); every state is present.
	States map[string]int `json:"states"`
	// Held counts due assets waiting out a failure backoff.
	Held    int `json:"held"`
	DueIn7  int `json:"due_within_7_days"`
	DueIn30 int `json:"due_within_30_days"`
	// Queued and Running count live rotations.
	Queued  int `json:"queued"`
	Running int `json:"running"`
	// Failing lists the assets whose last rotation failed, longest
	// failure streak first; FailingTotal counts them all when the list
	// is cut short.
	Failing      []FailingAsset `json:"failing"`
	FailingTotal int            `json:"failing_total"`
	// Unrouted lists due assets no route serves, with the route.json key
	// that is missing; UnroutedTotal counts them all.
	Unrouted      []UnroutedAsset `json:"unrouted"`
	UnroutedTotal int             `json:"unrouted_total"`
	// Expiry counts assets with a recorded certificate by when it
	// expires: already expired, then week by week, then later.
	Expiry []ExpiryBucket `json:"expiry"`
	// LastRouterRotation is the newest rotation a router pass queued.
	LastRouterRotation *RouterRotation `json:"last_router_rotation,omitempty"`
	// Router is the router and its workers, when known.
	Router *RouterStatus `json:"router,omitempty"`
}

// FailingAsset is an asset whose last rotation failed.
type FailingAsset struct {
	SystemName string `json:"system_name"`
	Failures   int    `json:"failures"`
	Error      string `json:"error"`
	Time       Time   `json:"time"`
	RetryAfter *Time  `json:"retry_after,omitempty"`
	RotationID string `json:"rotation_id,omitempty"`
}

// UnroutedAsset is a due asset that no route serves.
type UnroutedAsset struct {
	SystemName string `json:"system_name"`
	MissingKey string `json:"missing_key"`
	Reason     string `json:"reason"`
}

// ExpiryBucket counts the certificates expiring before Before (and after
// the previous bucket's Before); the last bucket has no Before.
type ExpiryBucket struct {
	Label  string     `json:"label"`
	Before *time.Time `json:"before,omitempty"`
	Count  int        `json:"count"`
}

// RouterRotation names a rotation a router pass queued.
type RouterRotation struct {
	Time       Time   `json:"time"`
	RotationID string `json:"rotation_id"`
	SystemName string `json:"system_name"`
}

// RouterStatus is the router and its workers as the answering process
// sees them.
type RouterStatus struct {
	// State is "running", "paused" (passes queue nothing) or "off" (no
	// CA or DNS zone configured).
	State string `json:"state"`
	// IntervalSeconds is the time between passes.
	IntervalSeconds int64 `json:"interval_seconds"`
	// LastPass is the newest recorded pass; absent when none ran.
	LastPass *RouterPass `json:"last_pass,omitempty"`
	// NextPass is when the next pass is due: the last one's start plus
	// the interval (a pass runs at start-up too).
	NextPass *time.Time `json:"next_pass,omitempty"`
	// Leader is the process that queues passes (elected among replicas);
	// empty when unknown.
	Leader string `json:"leader,omitempty"`
	// Replica is the process that answered.
	Replica string `json:"replica,omitempty"`
	// Workers is how many rotations one process runs at once.
	Workers int `json:"workers,omitempty"`
}

// RouterPass records one router pass.
type RouterPass struct {
	ID         int64     `json:"id"`
	Owner      string    `json:"owner"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Examined   int       `json:"examined"`
	Due        int       `json:"due"`
	Held       int       `json:"held"`
	Routed     int       `json:"routed"`
	Unrouted   int       `json:"unrouted"`
	Queued     int       `json:"queued"`
	Joined     int       `json:"joined"`
	// Watched counts the assets no route serves whose served certificate
	// the pass read; WatchFailed those it could not read (unreachable,
	// no TLS, timed out), which keep the certificate last recorded.
	Watched     int    `json:"watched"`
	WatchFailed int    `json:"watch_failed"`
	Error       string `json:"error,omitempty"`
}

// RouterPassLog keeps the newest router passes.
type RouterPassLog interface {
	// RecordRouterPass stores p (its ID is set) and forgets passes older
	// than the newest few hundred.
	RecordRouterPass(ctx context.Context, p *RouterPass) error
	// RouterPasses returns up to limit passes, newest first.
	RouterPasses(ctx context.Context, limit int) ([]*RouterPass, error)
}
