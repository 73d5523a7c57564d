package rotate_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/storetest"
	"github.com/ottr-dev/ottr/rotate"
)

// TestRouterHoldsFailingAssets: a due asset whose last rotation failed is
// left alone until its backoff runs out — read from the store's brief scan,
// as the router reads it — and unrouted assets are reported once per
// missing route, with a count.
func TestRouterHoldsFailingAssets(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := t.Context()
	held := asset("held.example.com", "panos", "9.1.0", "PA-XXXX", 0)
	held.LastRotation = &ottr.LastRotation{Time: *ottr.NewTime(now.Add(-time.Hour)), Status: "failed", Failures: 2,
		RetryAfter: ottr.NewTime(now.Add(time.Hour))}
	ripe := asset("ripe.example.com", "panos", "9.1.0", "PA-XXXX", 0)
	ripe.LastRotation = &ottr.LastRotation{Time: *ottr.NewTime(now.Add(-3 * time.Hour)), Status: "failed", Failures: 1,
		RetryAfter: ottr.NewTime(now.Add(-time.Minute))}
	assets := []*ottr.Asset{held, ripe}
	for i := range 3 {
		assets = append(assets, asset(strings.Repeat("w", i+1)+".example.com", "Windows", "2019", "", 0))
	}
	for _, a := range assets {
		if err := db.CreateAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	var logs bytes.Buffer
	at := now
	r := &rotate.Router{Assets: db, Routes: routes(t), Now: func() time.Time { return at },
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	pass := func() ([]string, rotate.PassStats) {
		var got []string
		st, err := r.Pass(ctx, func(c rotate.Candidate) error {
			if c.Route != nil {
				got = append(got, c.Asset.SystemName)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got, st
	}
	got, st := pass()
	if strings.Join(got, ",") != "ripe.example.com" || st.Held != 1 || st.Due != 5 {
		t.Errorf("pass: %v %+v, want only ripe routed and held held", got, st)
	}
	if n := strings.Count(logs.String(), "due assets have no route"); n != 1 || !strings.Contains(logs.String(), "assets=3") {
		t.Errorf("unrouted warnings: %d lines, want one with a count of 3:\n%s", n, logs.String())
	}
	at = now.Add(2 * time.Hour)
	if got, st := pass(); strings.Join(got, ",") != "held.example.com,ripe.example.com" || st.Held != 0 {
		t.Errorf("after the backoff: %v %+v", got, st)
	}
}

func TestFailureBackoff(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		base     time.Duration
		failures int
		want     time.Duration
	}{
		{time.Hour, 1, time.Hour},
		{time.Hour, 2, 2 * time.Hour},
		{time.Hour, 4, 8 * time.Hour},
		{time.Hour, 6, 24 * time.Hour},
		{time.Hour, 60, 24 * time.Hour},
		{time.Minute, 3, 4 * time.Minute},
		{0, 1, time.Hour},
	} {
		if got := ottr.FailureBackoff(tc.base, tc.failures); got != tc.want {
			t.Errorf("FailureBackoff(%v, %d) = %v, want %v", tc.base, tc.failures, got, tc.want)
		}
	}
}
