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
