package store

import (
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

func TestDigestCounts(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		day := 24 * time.Hour
		add := func(name string, exp time.Duration, status string) {
			a := bareNamed(name)
			if exp != 0 {
				a.CertificateExpiration = ottr.NewTime(testNow.Add(exp))
			}
			if status != "" {
				a.LastRotation = &ottr.LastRotation{Time: *ottr.NewTime(testNow.Add(-day)), Status: status, Failures: 1}
			}
			if err := db.CreateAsset(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		add("f1.example.com", 40*day, "failed")
		add("f2.example.com", 2*day, "failed") // failing and expiring
		add("f3.example.com", 0, "failed")
		add("never.example.com", 3*day, "")            // imported expiry, never rotated: expiring
		add("expired.example.com", -day, "")           // expired: expiring
		add("renewed.example.com", 5*day, "succeeded") // a short-lived certificate renewed: fine
		add("queued.example.com", 6*day, "running")    // not succeeded yet: expiring
		add("later.example.com", 8*day, "")            // beyond 7 days
		add("new.example.com", 0, "")                  // no certificate yet: not expiring
		add("ok.example.com", 60*day, "succeeded")

		got, err := db.DigestCounts(ctx, testNow, 7*day, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := ottr.Digest{Day: "2026-11-23", Failing: 3, FailingAssets: []string{"f1.example.com", "f2.example.com"},
			Expiring: 4, ExpiringAssets: []string{"expired.example.com", "f2.example.com"}, ExpiringWithin: 7 * day, ExpiringDays: 7}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("digest counts (-want +got):\n%s", d)
		}
		if !got.NeedsAttention() {
			t.Error("failing assets need no attention")
		}
	})
}

func TestDigestCountsHealthy(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		a := bareNamed("ok.example.com")
		a.CertificateExpiration = ottr.NewTime(testNow.Add(60 * 24 * time.Hour))
		if err := db.CreateAsset(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		got, err := db.DigestCounts(t.Context(), testNow, 7*24*time.Hour, 10)
		if err != nil || got.Failing != 0 || got.Expiring != 0 || got.NeedsAttention() {
			t.Errorf("healthy fleet: %+v, %v", got, err)
		}
	})
}

func TestCompareAndSwap(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		if v, err := db.Get(ctx, "k"); v != "" || err != nil {
			t.Fatalf("absent key: %q, %v", v, err)
		}
		steps := []struct {
			old, new string
			ok       bool
		}{
			{"", "a", true},   // create
			{"", "b", false},  // exists
			{"x", "b", false}, // wrong old value
			{"a", "b", true},  // swap
			{"a", "c", false}, // stale
		}
		for _, s := range steps {
			if ok, err := db.CompareAndSwap(ctx, "k", s.old, s.new); ok != s.ok || err != nil {
				t.Errorf("CompareAndSwap(%q → %q) = %v, %v; want %v", s.old, s.new, ok, err, s.ok)
			}
		}
		if v, _ := db.Get(ctx, "k"); v != "b" {
			t.Errorf("value %q, want b", v)
		}
		if _, err := db.CompareAndSwap(ctx, "k", "b", ""); ottr.ErrorCode(err) != ottr.EINVALID {
			t.Errorf("empty value: %v", err)
		}
	})
}

// Replicas racing to claim the same day: exactly one wins, whether the key
// exists yet or not.
func TestCompareAndSwapRace(t *testing.T) {
	forEachEngineConfig(t, func(t *testing.T, c Config) {
		// Two handles on one database, as two replicas have.
		replicas := []*DB{openTest(t, c), openTest(t, c)}
		for _, old := range []string{"", "2026-11-22"} {
			key := "digest.day." + old
			if old != "" {
				if ok, err := replicas[0].CompareAndSwap(t.Context(), key, "", old); !ok || err != nil {
					t.Fatalf("seed: %v %v", ok, err)
				}
			}
			const racers = 16
			var wg sync.WaitGroup
			var mu sync.Mutex
			start := make(chan struct{})
			won := 0
			for i := range racers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					ok, err := replicas[i%2].CompareAndSwap(t.Context(), key, old, "2026-11-23")
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						won++
						mu.Unlock()
					}
				}()
			}
			close(start)
			wg.Wait()
			if won != 1 {
				t.Errorf("from %q: %d of %d racers claimed the day; want exactly 1", old, won, racers)
			}
			if v, _ := replicas[1].Get(t.Context(), key); v != "2026-11-23" {
				t.Errorf("from %q: value %q", old, v)
			}
		}
	})
}
