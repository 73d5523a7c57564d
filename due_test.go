package ottr_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

const day = 24 * time.Hour

func TestDue(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	asset := func(notBefore, expiry time.Duration, known bool) *ottr.Asset {
		a := &ottr.Asset{SystemName: "h.example.com", CertificateAuthority: "lets_encrypt"}
		if known {
			a.CertificateExpiration = ottr.NewTime(now.Add(expiry))
			if notBefore != 0 {
				a.CertificateNotBefore = ottr.NewTime(now.Add(notBefore))
			}
		}
		return a
	}
	var def ottr.RenewalPolicy
	tests := []struct {
		name   string
		a      *ottr.Asset
		p      ottr.RenewalPolicy
		recipe string
		due    bool
		reason string
	}{
		{"null expiration", asset(0, 0, false), def, "", true, "null"},
		{"Ottr 30-day rule, unknown lifetime, 31d left", asset(0, 31*day, true), def, "", false, "due in 1d"},
		{"Ottr 30-day rule, 29d left", asset(0, 29*day, true), def, "", true, "30d before expiry"},
		{"expired", asset(0, -2*day, true), def, "", true, "expired 2d ago"},
		{"90-day cert, 31d left: not due", asset(-59*day, 31*day, true), def, "", false, ""},
		{"90-day cert, 29d left: due (30 = min(30, 90/3))", asset(-61*day, 29*day, true), def, "", true, ""},
		{"45-day cert, 16d left: not due (1/3 = 15d)", asset(-29*day, 16*day, true), def, "", false, ""},
		{"45-day cert, 14d left: due", asset(-31*day, 14*day, true), def, "", true, "1/3 of its 45d lifetime"},
		{"6-day cert, 3d 1h left: not due (1/2)", asset(-3*day+time.Hour, 3*day-time.Hour+2*time.Hour, true), def, "", false, ""},
		{"6-day cert, 2d 23h left: due", asset(-3*day-time.Hour, 3*day-time.Hour, true), def, "", true, "1/2 of its 6d lifetime"},
		{"1-year cert: 30d cap", asset(-335*day, 30*day-time.Minute, true), def, "", true, "30d before expiry"},
		{"per-CA override widens the window", asset(0, 50*day, true),
			ottr.RenewalPolicy{ByCA: map[string]ottr.RenewalRule{"lets_encrypt": {Before: 60 * day}}}, "", true, "60d"},
		{"other CA's override does not apply", asset(0, 50*day, true),
			ottr.RenewalPolicy{ByCA: map[string]ottr.RenewalRule{"digicert": {Before: 60 * day}}}, "", false, ""},
		{"per-route override beats per-CA", asset(0, 50*day, true),
			ottr.RenewalPolicy{ByCA: map[string]ottr.RenewalRule{"lets_encrypt": {Before: 60 * day}},
				ByRoute: map[string]ottr.RenewalRule{"r1": {Before: 40 * day}}}, "r1", false, ""},
		{"fraction override", asset(-45*day, 45*day, true),
			ottr.RenewalPolicy{Default: ottr.RenewalRule{Fraction: 0.5}}, "", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.p.Due(tc.a, tc.recipe, now)
			if d.Due != tc.due || !strings.Contains(d.Reason, tc.reason) {
				t.Errorf("Due = %v %q; want %v containing %q", d.Due, d.Reason, tc.due, tc.reason)
			}
		})
	}
}

func TestDueJitterSpreadsEarlierAndIsStable(t *testing.T) {
	now := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	p := ottr.RenewalPolicy{Jitter: 0.2}
	exp := ottr.NewTime(now.Add(60 * day))
	seen := map[time.Time]bool{}
	for i := 0; i < 200; i++ {
		a := &ottr.Asset{SystemName: "h" + string(rune('a'+i%26)) + strings.Repeat("x", i/26) + ".example.com", CertificateExpiration: exp}
		d := p.Due(a, "", now)
		if d2 := p.Due(a, "", now.Add(time.Hour)); !d2.RenewAt.Equal(d.RenewAt) {
			t.Fatalf("renewal point of %s moved between passes", a.SystemName)
		}
		lead := exp.Sub(d.RenewAt)
		if lead < 30*day || lead >= 36*day {
			t.Fatalf("lead %v outside [30d, 36d) for jitter 0.2", lead)
		}
		seen[d.RenewAt] = true
	}
	if len(seen) < 150 {
		t.Errorf("jitter spread 200 assets over only %d distinct times", len(seen))
	}
}

func TestMaxLeadBoundsEveryDecision(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := ottr.RenewalPolicy{Jitter: 0.1,
		ByCA:    map[string]ottr.RenewalRule{"digicert": {Before: 45 * day}},
		ByRoute: map[string]ottr.RenewalRule{"big": {Before: 50 * day}}}
	if got, want := p.MaxLead(), 55*day; got != want {
		t.Fatalf("MaxLead = %v, want %v", got, want)
	}
	for _, ca := range []string{"lets_encrypt", "digicert"} {
		for _, recipe := range []string{"", "big"} {
			a := &ottr.Asset{SystemName: "z.example.com", CertificateAuthority: ca, CertificateExpiration: ottr.NewTime(now.Add(p.MaxLead() + time.Second))}
			if d := p.Due(a, recipe, now); d.Due {
				t.Errorf("%s/%s due beyond MaxLead: %s", ca, recipe, d.Reason)
			}
		}
	}
}

func TestDueRenewalWindow(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	// A 90-day certificate with 40 days left: the lifetime rule (30 days)
	// says not due.
	asset := func(start, end time.Duration) *ottr.Asset {
		a := &ottr.Asset{SystemName: "h.example.com", CertificateAuthority: "lets_encrypt",
			CertificateExpiration: ottr.NewTime(now.Add(40 * day)), CertificateNotBefore: ottr.NewTime(now.Add(-50 * day))}
		if start != end {
			a.RenewalWindow = &ottr.RenewalWindow{Start: *ottr.NewTime(now.Add(start)), End: *ottr.NewTime(now.Add(end))}
		}
		return a
	}
	var def ottr.RenewalPolicy
	tests := []struct {
		name        string
		a           *ottr.Asset
		due         bool
		reason      string
		notInReason string
	}{
		{"no window: the 1/3 lifetime rule", asset(0, 0), false, "window 30d before expiry", "ARI"},
		{"before the window", asset(2*day, 4*day), false, "due in", "lifetime"},
		{"window ended", asset(-4*day, -2*day), true, "ended 2d ago", "lifetime"},
		{"window earlier than the 1/3 rule (revocation)", asset(-time.Hour, -time.Minute), true, "renewal window (ARI)", "lifetime"},
		{"window wholly after expiry is ignored", asset(41*day, 42*day), false, "window 30d before expiry", "ARI"},
		{"inverted window is ignored", &ottr.Asset{SystemName: "h.example.com", CertificateExpiration: ottr.NewTime(now.Add(10 * day)),
			RenewalWindow: &ottr.RenewalWindow{Start: *ottr.NewTime(now.Add(-day)), End: *ottr.NewTime(now.Add(-2 * day))}}, true, "30d before expiry", "ARI"},
		{"expired, window not yet open", &ottr.Asset{SystemName: "h.example.com", CertificateExpiration: ottr.NewTime(now.Add(-day)),
			RenewalWindow: &ottr.RenewalWindow{Start: *ottr.NewTime(now.Add(-3 * day)), End: *ottr.NewTime(now.Add(3 * day))}}, true, "expired 1d ago", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := def.Due(tc.a, "", now)
			if d.Due != tc.due || !strings.Contains(d.Reason, tc.reason) || (tc.notInReason != "" && strings.Contains(d.Reason, tc.notInReason)) {
				t.Errorf("Due = %v %q; want %v containing %q (and not %q)", d.Due, d.Reason, tc.due, tc.reason, tc.notInReason)
			}
		})
	}
}

// Inside the window each asset has its own renewal time, spread uniformly
// over the window, the same on every pass; a pass after it finds the asset
// due, one before does not.
func TestDueInsideWindowIsPerAssetAndUniform(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	start, end := now.Add(-day), now.Add(day)
	p := ottr.RenewalPolicy{Jitter: 0.5} // the lifetime rule's jitter does not move ARI times
	var buckets [4]int
	due := 0
	const n = 2000
	for i := range n {
		a := &ottr.Asset{SystemName: "host" + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + time.Duration(i).String() + ".example.com",
			CertificateExpiration: ottr.NewTime(now.Add(30 * day)), CertificateNotBefore: ottr.NewTime(now.Add(-60 * day)),
			RenewalWindow: &ottr.RenewalWindow{Start: *ottr.NewTime(start), End: *ottr.NewTime(end)}}
		d := p.Due(a, "", now)
		if d.RenewAt.Before(start) || !d.RenewAt.Before(end) {
			t.Fatalf("%s: renewal at %v outside the window %v–%v", a.SystemName, d.RenewAt, start, end)
		}
		if d2 := p.Due(a, "", now.Add(time.Hour)); !d2.RenewAt.Equal(d.RenewAt) {
			t.Fatalf("%s: renewal time moved between passes", a.SystemName)
		}
		if d.Due != !now.Before(d.RenewAt) {
			t.Fatalf("%s: due=%v at %v with renewal at %v", a.SystemName, d.Due, now, d.RenewAt)
		}
		if d.Due {
			due++
			if !strings.Contains(d.Reason, "inside the CA's renewal window (ARI)") {
				t.Fatalf("reason %q", d.Reason)
			}
		}
		buckets[int(d.RenewAt.Sub(start)*4/end.Sub(start))]++
	}
	// Half the window has passed: about half the fleet is due, and each
	// quarter of the window holds about a quarter of it.
	if due < n*4/10 || due > n*6/10 {
		t.Errorf("%d of %d due halfway through the window", due, n)
	}
	for q, c := range buckets {
		if c < n/4*8/10 || c > n/4*12/10 {
			t.Errorf("quarter %d of the window holds %d of %d renewals: %v", q, c, n, buckets)
		}
	}
}

func TestDueRenewalWindowReasons(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a := func(start, end time.Duration) *ottr.Asset {
		return &ottr.Asset{SystemName: "h.example.com", CertificateExpiration: ottr.NewTime(now.Add(20*day + 4*time.Hour)),
			RenewalWindow: &ottr.RenewalWindow{Start: *ottr.NewTime(now.Add(start)), End: *ottr.NewTime(now.Add(end))}}
	}
	var p ottr.RenewalPolicy
	for _, tc := range []struct {
		a    *ottr.Asset
		want string
	}{
		{a(-4*day, -2*day-3*time.Hour), "20d 4h left; the CA's renewal window (ARI) 2026-11-19T12:00:00Z to 2026-11-21T09:00:00Z ended 2d 3h ago"},
		{a(-time.Hour, -time.Minute), "20d 4h left; the CA's renewal window (ARI) 2026-11-23T11:00:00Z to 2026-11-23T11:59:00Z ended 1m0s ago"},
		{a(-2*time.Hour, 2*day+2*time.Hour), ""}, // inside: due or not by the asset's point
		{a(3*day, 3*day+time.Hour), "20d 4h left; due in 3d, inside the CA's renewal window (ARI) 2026-11-26T12:00:00Z to 2026-11-26T13:00:00Z"},
	} {
		d := p.Due(tc.a, "", now)
		if tc.want == "" {
			inside := "20d 4h left; inside the CA's renewal window (ARI) 2026-11-23T10:00:00Z to 2026-11-25T14:00:00Z"
			if d.Due && d.Reason != inside || !d.Due && !strings.HasSuffix(d.Reason, ", inside the CA's renewal window (ARI) 2026-11-23T10:00:00Z to 2026-11-25T14:00:00Z") {
				t.Errorf("inside: %v %q", d.Due, d.Reason)
			}
			continue
		}
		if d.Reason != tc.want {
			t.Errorf("reason %q\nwant   %q", d.Reason, tc.want)
		}
	}
}
