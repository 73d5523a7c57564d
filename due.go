package ottr

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"time"
)

// Defaults of the renewal policy.
const (
	// DefaultRenewBefore is Ottr's rule: renew within 30 days of expiry.
	DefaultRenewBefore = 30 * 24 * time.Hour
	// ShortLifetime is the lifetime at or below which half the lifetime,
	// not a third, is the renewal window.
	ShortLifetime = 10 * 24 * time.Hour
)

// RenewalRule sets when a certificate is renewed. Zero fields take the
// defaults: Before 30 days; Fraction 1/3 of the lifetime (1/2 for lifetimes
// of ShortLifetime or less).
type RenewalRule struct {
	// Before caps the window: renewal starts no later than this long before
	// expiry, and this is the whole window when the lifetime is unknown.
	Before time.Duration `json:"before,omitempty" yaml:"before,omitempty"`
	// Fraction of the full lifetime left at which renewal starts.
	Fraction float64 `json:"fraction,omitempty" yaml:"fraction,omitempty"`
}

// RenewalPolicy decides when an asset is due. The most specific rule wins:
// by route recipe, then by CA, then the default; a rule's zero fields fall
// back to the next rule and finally to the defaults.
type RenewalPolicy struct {
	Default RenewalRule
	ByCA    map[string]RenewalRule
	ByRoute map[string]RenewalRule
	// Jitter spreads renewals of a fleet issued together: each asset's
	// renewal moves earlier by up to this fraction of its window, by an
	// amount fixed per system_name (the same on every pass and replica).
	Jitter float64
}

// Decision is the router's verdict on one asset.
type Decision struct {
	Due bool `json:"due"`
	// Reason says why the asset is or is not due, for people.
	Reason string `json:"reason"`
	// RenewAt is when the asset becomes due; zero when no expiry is known.
	RenewAt time.Time `json:"renew_at,omitzero"`
	// Window is how long before expiry renewal starts: the lifetime
	// rule's window (before jitter), or from the start of the CA's window.
	Window time.Duration `json:"-"`
}

// rule returns the effective rule for a CA and recipe, defaults filled in,
// and the lifetime fraction left unresolved (0) when not set.
func (p RenewalPolicy) rule(ca, recipe string) RenewalRule {
	r := p.Default
	merge := func(o RenewalRule) {
		if o.Before > 0 {
			r.Before = o.Before
		}
		if o.Fraction > 0 {
			r.Fraction = o.Fraction
		}
	}
	if o, ok := p.ByCA[ca]; ok {
		merge(o)
	}
	if o, ok := p.ByRoute[recipe]; ok {
		merge(o)
	}
	if r.Before <= 0 {
		r.Before = DefaultRenewBefore
	}
	return r
}

// MaxLead is the longest time before expiry at which any asset can become
// due under p's lifetime rule. Assets expiring later than now+MaxLead are
// not due unless a CA's renewal window says so, which lets a store skip
// them without reading them (AssetScan.ExpiringBefore).
func (p RenewalPolicy) MaxLead() time.Duration {
	max := p.rule("", "").Before
	for ca := range p.ByCA {
		max = maxDur(max, p.rule(ca, "").Before)
	}
	for recipe := range p.ByRoute {
		max = maxDur(max, p.rule("", recipe).Before)
		for ca := range p.ByCA {
			max = maxDur(max, p.rule(ca, recipe).Before)
		}
	}
	j := p.Jitter
	if j < 0 {
		j = 0
	}
	return max + time.Duration(float64(max)*j)
}

func maxDur(a, b time.Duration) time.Duration {
	if a > b {
		return a
	}
	return b
}

// Due decides whether a is due at now, under p, for the route recipe that
// serves it ("" when unrouted). It is a pure function of its arguments.
//
// An asset without a certificate is due. One with a CA's renewal window
// (a.RenewalWindow, ARI) is due at a point inside the window fixed per
// asset, or at once when the window has passed; p does not move it. Any
// other is due by p's lifetime rule: when the time left falls below the
// smaller of Before and Fraction of the lifetime, moved earlier by the
// jitter. The Reason names the rule that applied.
func (p RenewalPolicy) Due(a *Asset, recipe string, now time.Time) Decision {
	if a.CertificateExpiration == nil {
		return Decision{Due: true, Reason: "no certificate recorded (certificate_expiration is null)"}
	}
	exp := a.CertificateExpiration.Time
	if w := a.RenewalWindow; w != nil && w.Valid(a.CertificateExpiration) == nil {
		return dueInWindow(a.SystemName, *w, exp, now)
	}
	r := p.rule(a.CertificateAuthority, recipe)
	window, how := r.Before, fmt.Sprintf("%s before expiry", days(r.Before))
	if life := a.Lifetime(); life > 0 {
		frac := r.Fraction
		if frac <= 0 {
			frac = 1.0 / 3
			if life <= ShortLifetime {
				frac = 0.5
			}
		}
		if w := time.Duration(float64(life) * frac); w < window {
			window, how = w, fmt.Sprintf("%s of its %s lifetime", fraction(frac), days(life))
		}
	}
	spread := time.Duration(float64(window) * clamp01(p.Jitter) * unitHash(a.SystemName))
	renewAt := exp.Add(-window - spread)
	d := Decision{RenewAt: renewAt, Window: window}
	left := exp.Sub(now)
	switch {
	case left <= 0:
		d.Due, d.Reason = true, fmt.Sprintf("certificate expired %s ago", days(-left))
	case !now.Before(renewAt):
		d.Due, d.Reason = true, fmt.Sprintf("%s left; renewal window is %s", days(left), how)
	default:
		d.Reason = fmt.Sprintf("%s left; due in %s (window %s)", days(left), days(renewAt.Sub(now)), how)
	}
	return d
}

// dueInWindow decides by the CA's renewal window (ARI): the asset is due
// at its own point inside the window — RFC 9773 §4.2 asks for a uniformly
// random time, and a hash of system_name is uniform across a fleet while
// staying the same on every pass and replica — and at once when the window
// has passed.
func dueInWindow(name string, w RenewalWindow, exp, now time.Time) Decision {
	span := w.End.Sub(w.Start.Time)
	renewAt := w.Start.Add(time.Duration(float64(span) * unitHash(name)))
	d := Decision{RenewAt: renewAt, Window: exp.Sub(w.Start.Time)}
	left := exp.Sub(now)
	if left <= 0 {
		d.Due, d.Reason = true, fmt.Sprintf("certificate expired %s ago", days(-left))
		return d
	}
	// Built in one buffer: the router decides hundreds of thousands of
	// assets a pass, and fmt with two times cost a fifth of it.
	var buf [160]byte
	b := append(appendDays(buf[:0], left), " left; "...)
	switch {
	case !now.Before(w.End.Time):
		d.Due = true
		b = append(appendWindow(b, w), " ended "...)
		b = append(appendDays(b, now.Sub(w.End.Time)), " ago"...)
	case !now.Before(renewAt):
		d.Due = true
		b = appendWindow(append(b, "inside "...), w)
	default:
		b = appendDays(append(b, "due in "...), renewAt.Sub(now))
		b = appendWindow(append(b, ", inside "...), w)
	}
	d.Reason = string(b)
	return d
}

func appendWindow(b []byte, w RenewalWindow) []byte {
	b = append(b, "the CA's renewal window (ARI) "...)
	b = w.Start.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, " to "...)
	return w.End.UTC().AppendFormat(b, time.RFC3339)
}

func clamp01(f float64) float64 {
	if f < 0 {
		return 0
	}
	if f > 1 {
		return 1
	}
	return f
}

// unitHash maps s to [0, 1) deterministically.
func unitHash(s string) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(s))
	return float64(h.Sum64()>>11) / (1 << 53)
}

// days formats d in days and hours ("29d 4h"), or hours and minutes below a
// day.
func days(d time.Duration) string {
	var buf [24]byte
	return string(appendDays(buf[:0], d))
}

func appendDays(b []byte, d time.Duration) []byte {
	if d < 24*time.Hour {
		return append(b, d.Truncate(time.Minute).String()...)
	}
	b = append(strconv.AppendInt(b, int64(d/(24*time.Hour)), 10), 'd')
	if h := int64((d % (24 * time.Hour)) / time.Hour); h != 0 {
		b = append(strconv.AppendInt(append(b, ' '), h, 10), 'h')
	}
	return b
}

func fraction(f float64) string {
	switch {
	case f > 0.333 && f < 0.334:
		return "1/3"
	case f == 0.5:
		return "1/2"
	}
	return fmt.Sprintf("%.0f%%", f*100)
}
