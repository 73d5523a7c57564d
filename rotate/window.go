package rotate

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// windowTimeout bounds one request for a renewal window. acmez retries a
// failing request twice with pauses of its own, so this leaves room for
// them without holding a rotation's record step for long.
const windowTimeout = 30 * time.Second

// Retry delays of a renewal window that could not be fetched.
const (
	// windowRetryUnavailable: the CA did not answer; RFC 9773 §4.3 asks
	// for a backoff, and an hour keeps a revocation from going unseen
	// for long.
	windowRetryUnavailable = time.Hour
	// windowRetryRefused: the CA offers no ARI (any more), or is no longer
	// configured; ask once a day in case that changes.
	windowRetryRefused = 24 * time.Hour
)

// fetchWindow asks is for the window of the certificate with ARI
// identifier id, expiring at exp, and schedules the next check.
func fetchWindow(ctx context.Context, is ottr.RenewalWindowIssuer, ca, id string, exp *ottr.Time, now time.Time) (*ottr.RenewalWindow, error) {
	ctx, cancel := context.WithTimeout(ctx, windowTimeout)
	defer cancel()
	w, err := is.RenewalWindow(ctx, ca, id)
	if err != nil {
		return nil, err
	}
	if err := w.Valid(exp); err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "CA %s: %v", ca, err)
	}
	w.CertID = id
	w.ScheduleCheck(now)
	return &w, nil
}

// retryWindow is what is kept when a window could not be fetched: the
// window known before (none for a new certificate), asked for again after
// the backoff for err.
func retryWindow(prev *ottr.RenewalWindow, id string, err error, now time.Time) *ottr.RenewalWindow {
	w := ottr.RenewalWindow{CertID: id}
	if prev != nil && prev.CertID == id {
		w = *prev
	}
	wait := windowRetryUnavailable
	if ottr.IsPermanent(err) {
		wait = windowRetryRefused
	}
	w.CheckAfter = *ottr.NewTime(now.Add(wait))
	return &w
}

// renewalWindow asks the CA for the new certificate's renewal window, at
// once as RFC 9773 §4.3 asks. It never fails the rotation: a CA without
// ARI leaves the asset to the lifetime rule (nil), and one that does not
// answer is asked again by WindowRefresh.
func (x *run) renewalWindow(ctx context.Context, leaf *x509.Certificate) *ottr.RenewalWindow {
	is, ok := x.r.Issuer.(ottr.RenewalWindowIssuer)
	if !ok {
		return nil
	}
	id, err := ottr.ARICertID(leaf)
	if err != nil {
		x.logf("info", "no renewal window asked for: %v", err)
		return nil
	}
	now := x.r.now()
	w, err := fetchWindow(ctx, is, x.asset.CertificateAuthority, id, ottr.NewTime(leaf.NotAfter), now)
	switch {
	case err == nil:
		x.logf("info", "the CA suggests renewing between %s and %s%s", w.Start, w.End, explained(w))
		return w
	case ottr.ErrorCode(err) == ottr.EINVALID:
		x.logf("info", "no renewal window from the CA (%s); the lifetime rule applies", ottr.ErrorMessage(err))
		return nil
	}
	w = retryWindow(nil, id, err, now)
	x.logf("warn", "renewal window not fetched (%v); asking again after %s", err, w.CheckAfter)
	return w
}

func explained(w *ottr.RenewalWindow) string {
	if w.ExplanationURL == "" {
		return ""
	}
	return " (" + w.ExplanationURL + ")"
}

// WindowRefresh asks CAs again for the renewal windows of recorded
// certificates once the CA's Retry-After has passed (RFC 9773 §4.3): a CA
// moves a window earlier when a certificate must be replaced early, and
// the router only learns of it this way. Each Run does a bounded amount of
// work, so a caller may run it every minute; the router's pass itself
// never asks a CA.
type WindowRefresh struct {
	Assets interface {
		ottr.AssetStore
		ottr.RenewalWindowFinder
	}
	Issuer ottr.RenewalWindowIssuer
	// Batch is the most windows one Run asks for; default 100.
	Batch int
	// Budget stops a Run from starting another request after this long;
	// default 20 s.
	Budget time.Duration
	Now    func() time.Time // nil = time.Now
	Logger *slog.Logger     // nil = discard
}

// Run asks for the windows due to be checked, longest waiting first, and
// stores what the CAs answer. It returns how many it asked for; an error
// is the store's (a CA's errors are logged and retried later).
func (wr *WindowRefresh) Run(ctx context.Context) (int, error) {
	now := time.Now
	if wr.Now != nil {
		now = wr.Now
	}
	log := wr.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	batch, budget := wr.Batch, wr.Budget
	if batch <= 0 {
		batch = 100
	}
	if budget <= 0 {
		budget = 20 * time.Second
	}
	start := time.Now()
	assets, err := wr.Assets.RenewalWindowsToCheck(ctx, now(), batch)
	if err != nil {
		return 0, err
	}
	asked := 0
	for _, a := range assets {
		if time.Since(start) > budget || ctx.Err() != nil {
			break
		}
		asked++
		if err := wr.refresh(ctx, a, now, log); err != nil {
			return asked, err
		}
	}
	return asked, nil
}

// refresh checks one asset's window and stores the outcome, unless a
// rotation replaced the certificate meanwhile.
func (wr *WindowRefresh) refresh(ctx context.Context, a *ottr.Asset, now func() time.Time, log *slog.Logger) error {
	prev := a.RenewalWindow
	id := prev.CertID
	var next *ottr.RenewalWindow
	switch {
	case !certIDNames(id, a.CertificateSerial):
		// The asset holds another certificate than the window is for
		// (an import replaced it): the window says nothing about it.
		log.Warn("renewal window dropped: it is for another certificate", "asset", a.SystemName, "serial", a.CertificateSerial)
	case a.CertificateExpiration != nil && !now().Before(a.CertificateExpiration.Time):
		// RFC 9773 §4.3: no more checks once the certificate expired.
		w := *prev
		w.CheckAfter = ottr.Time{}
		next = &w
	default:
		w, err := fetchWindow(ctx, wr.Issuer, a.CertificateAuthority, id, a.CertificateExpiration, now())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			next = retryWindow(prev, id, err, now())
			log.Warn("renewal window not refreshed", "asset", a.SystemName, "ca", a.CertificateAuthority, "err", err, "next_check", next.CheckAfter)
			break
		}
		next = w
		if prev.Start.IsZero() || !w.Start.Equal(prev.Start.Time) || !w.End.Equal(prev.End.Time) {
			log.Info("renewal window changed", "asset", a.SystemName, "ca", a.CertificateAuthority,
				"start", w.Start, "end", w.End, "explanation_url", w.ExplanationURL)
		}
	}
	_, err := wr.Assets.UpdateAsset(ctx, a.SystemName, func(x *ottr.Asset) error {
		if x.RenewalWindow == nil || x.RenewalWindow.CertID != id {
			return errReplaced
		}
		x.RenewalWindow = next
		return nil
	})
	if errors.Is(err, errReplaced) || ottr.ErrorCode(err) == ottr.ENOTFOUND {
		return nil // rotated or deleted meanwhile
	}
	if err != nil {
		return fmt.Errorf("store the renewal window of %s: %w", a.SystemName, err)
	}
	return nil
}

var errReplaced = errors.New("certificate replaced")

// certIDNames reports whether ARI identifier id is for the certificate
// with the given serial (hex as recorded; "" when unknown, which matches).
func certIDNames(id, serial string) bool {
	serial = strings.TrimLeft(strings.ToLower(strings.ReplaceAll(serial, ":", "")), "0")
	if serial == "" {
		return true
	}
	leaf, err := ottr.ParseARICertID(id)
	if err != nil {
		return false
	}
	return leaf.SerialNumber.Text(16) == serial
}
