package ottr

import (
	"context"
	"time"
)

// Observation is the certificate a router pass read from the device of an
// asset no route serves (rotate.Watcher).
type Observation struct {
	SystemName string
	// At is when the pass started reading: a rotation recorded after it
	// may have installed a newer certificate than the one read.
	At time.Time
	// Unread says the certificate could not be read: the asset is only
	// marked Monitored and keeps the certificate it records.
	Unread bool
	// Changed says the certificate differs from the one the asset
	// records; the fields below are written only then.
	Changed             bool
	NotBefore, NotAfter time.Time
	Serial, Issuer      string
}

// ExpiryAlerted records the expiry alert last sent about a certificate Ottr
// does not rotate: which certificate (by its expiry) and whether it was the
// alert that it nears expiry or the one that it has expired. Each is sent
// once per certificate; a replaced certificate may be alerted about again.
type ExpiryAlerted struct {
	NotAfter Time
	Expired  bool
}

// WatchStore is the inventory as the watch pass (rotate.Watcher) reads and
// writes it: an AssetStore with two bulk writes that touch only the
// columns the pass owns, so a pass over many assets costs one narrow
// update per asset, batched, instead of a whole-row rewrite each.
type WatchStore interface {
	AssetStore
	// RecordObservations marks each observation's asset Monitored and,
	// unless it is Unread, sets its CertificateObservedAt to At; one that Changed
	// also writes the certificate's expiry, not-before, serial and issuer
	// and drops the renewal window, which was the old certificate's. The
	// writes are applied in one transaction. An asset that no longer
	// exists, or whose last rotation was recorded at or after At, is left
	// as it is.
	RecordObservations(ctx context.Context, obs []Observation) error
	// ClearMonitored clears Monitored on every asset so marked for which
	// routed reports true, and returns how many it cleared. routed sees
	// the fields routing needs (SystemName, HostPlatform, OSVersion,
	// DeviceModel, CertificateAuthority), and only during the call.
	ClearMonitored(ctx context.Context, routed func(*Asset) bool) (int, error)
	// ClaimExpiryAlert records, atomically across every process sharing
	// the store, that the alert x is being sent about the asset's
	// certificate, and reports whether this caller is the one to send it.
	// It is not when the asset no longer records a certificate expiring
	// at x.NotAfter, or the alert, or the expired one, was claimed for it
	// already.
	ClaimExpiryAlert(ctx context.Context, systemName string, x ExpiryAlerted) (bool, error)
}

// ExpiryWarning says a certificate Ottr does not rotate, because no route
// serves its asset, nears its expiry (inside the renewal policy's window)
// or has expired.
type ExpiryWarning struct {
	Asset *Asset
	// Expired says the certificate has expired; otherwise it nears expiry.
	Expired bool
	// NoRoute is why no route serves the asset: the route.json key that
	// is missing, and how.
	NoRoute *NoRouteError
	// Reason is the renewal policy's verdict, for people ("12 days left;
	// renewal window is 30 days before expiry").
	Reason string
}

// ExpiryNotifier tells people about certificates Ottr does not rotate that
// near or pass their expiry. The watch pass sends each warning once per
// certificate and stage; the notifier sends what it is given.
type ExpiryNotifier interface {
	// NotifyExpiry sends w on every channel; one channel failing does not
	// stop the others, and their errors are returned together.
	NotifyExpiry(ctx context.Context, w ExpiryWarning) error
}
