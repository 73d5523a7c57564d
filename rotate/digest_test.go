package rotate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/storetest"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/store"
)

// digestInbox is a DigestNotifier that keeps what it is sent.
type digestInbox struct {
	mu   sync.Mutex
	got  []ottr.Digest
	fail error
}

func (n *digestInbox) NotifyDigest(_ context.Context, d ottr.Digest) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.got = append(n.got, d)
	return n.fail
}

func (n *digestInbox) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.got)
}

func failing(t *testing.T, db ottr.AssetStore, name string) {
	t.Helper()
	a := asset(name, "f5", "14.1.0", "", 40*24*time.Hour)
	a.LastRotation = &ottr.LastRotation{Time: *ottr.NewTime(now), Status: string(ottr.StateFailed), Error: "device unreachable", Failures: 2}
	if err := db.CreateAsset(t.Context(), a); err != nil {
		t.Fatal(err)
	}
}

func at(day int, hhmm string) time.Time {
	t, _ := time.Parse("15:04", hhmm)
	return time.Date(2026, 11, day, t.Hour(), t.Minute(), 0, 0, time.UTC)
}

// Once a day from 08:00 UTC, on the day's first call from then on, and not
// again that day — also from a new process on the same database.
func TestDigestOncePerDay(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := t.Context()
	failing(t, db, "fw01.example.com")
	expiring := asset("lb01.example.com", "f5", "14.1.0", "", 2*24*time.Hour)
	if err := db.CreateAsset(ctx, expiring); err != nil {
		t.Fatal(err)
	}
	unrouted := asset("old.example.com", "panos", "7.0.0", "PA-XXXX", 5*24*time.Hour)
	if err := db.CreateAsset(ctx, unrouted); err != nil {
		t.Fatal(err)
	}
	inbox := &digestInbox{}
	g := &rotate.Digester{Store: db, Notifier: inbox, At: 8 * time.Hour,
		Router: &rotate.Router{Assets: db, Routes: routes(t)}}
	for _, step := range []struct {
		at   time.Time
		sent bool
	}{
		{at(23, "07:59"), false}, // before the time
		{at(23, "08:00"), true},
		{at(23, "08:01"), false}, // sent today
		{at(23, "23:59"), false},
		{at(24, "07:00"), false},
		{at(24, "15:30"), true}, // a process that was down at 08:00 sends when it runs
	} {
		sent, err := g.MaybeSend(ctx, step.at)
		if err != nil || sent != step.sent {
			t.Fatalf("%s: sent=%v, %v; want %v", step.at, sent, err, step.sent)
		}
	}
	// A restarted process (a new Digester on the same database) knows.
	again := &rotate.Digester{Store: db, Notifier: inbox, At: 8 * time.Hour}
	if sent, err := again.MaybeSend(ctx, at(24, "16:00")); sent || err != nil {
		t.Errorf("after a restart: sent=%v, %v", sent, err)
	}
	if inbox.count() != 2 {
		t.Fatalf("%d digests, want 2", inbox.count())
	}
	d := inbox.got[0]
	if d.Day != "2026-11-23" || d.Failing != 1 || d.FailingAssets[0] != "fw01.example.com" ||
		d.Expiring != 2 || d.ExpiringAssets[0] != "lb01.example.com" || d.ExpiringDays != 7 || d.UnroutedTotal() != 1 {
		t.Errorf("digest %+v", d)
	}
	for k := range d.Unrouted {
		if !strings.Contains(k, "7.0.0") {
			t.Errorf("unrouted by key %q", k)
		}
	}
}

// A healthy fleet gets no digest; the day is still taken, so a fleet that
// turns unhealthy later that day hears of it in the failure message and in
// the next day's digest, not in a second digest.
func TestDigestHealthyFleetIsQuiet(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := t.Context()
	if err := db.CreateAsset(ctx, asset("ok.example.com", "f5", "14.1.0", "", 60*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	inbox := &digestInbox{}
	g := &rotate.Digester{Store: db, Notifier: inbox, At: 8 * time.Hour, Router: &rotate.Router{Assets: db, Routes: routes(t)}}
	if sent, err := g.MaybeSend(ctx, at(23, "08:00")); sent || err != nil || inbox.count() != 0 {
		t.Fatalf("healthy: sent=%v, %v, %d digests", sent, err, inbox.count())
	}
	failing(t, db, "fw01.example.com")
	if sent, _ := g.MaybeSend(ctx, at(23, "09:00")); sent {
		t.Error("a second digest the same day")
	}
	if sent, _ := g.MaybeSend(ctx, at(24, "08:00")); !sent || inbox.count() != 1 {
		t.Errorf("next day: sent=%v, %d digests", sent, inbox.count())
	}
}

// flakyCounter fails the first count, as a database that is briefly away.
type flakyCounter struct {
	*store.DB
	mu    sync.Mutex
	fails int
}

func (f *flakyCounter) DigestCounts(ctx context.Context, now time.Time, within time.Duration, sample int) (ottr.Digest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return ottr.Digest{}, errors.New("database is locked")
	}
	return f.DB.DigestCounts(ctx, now, within, sample)
}

// A digest that could not be counted is tried again on the next call; one
// whose channels failed is not (at most one a day).
func TestDigestFailures(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := t.Context()
	failing(t, db, "fw01.example.com")
	inbox := &digestInbox{}
	g := &rotate.Digester{Store: &flakyCounter{DB: db, fails: 1}, Notifier: inbox, At: 8 * time.Hour}
	if sent, err := g.MaybeSend(ctx, at(23, "08:00")); sent || err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("count failed: sent=%v, %v", sent, err)
	}
	if sent, err := g.MaybeSend(ctx, at(23, "08:01")); !sent || err != nil {
		t.Fatalf("retry: sent=%v, %v", sent, err)
	}
	inbox.fail = errors.New("slack: 503")
	if sent, err := g.MaybeSend(ctx, at(24, "08:00")); sent || err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("channel down: sent=%v, %v", sent, err)
	}
	inbox.fail = nil
	if sent, _ := g.MaybeSend(ctx, at(24, "08:01")); sent {
		t.Error("a digest a channel may have taken was sent again")
	}
	if inbox.count() != 2 {
		t.Errorf("%d digests attempted, want 2", inbox.count())
	}
}

// Replicas calling every minute at 08:00, on two database handles: one
// digest.
func TestDigestReplicasSendOne(t *testing.T) {
	t.Parallel()
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			c := store.Config{DataDir: t.TempDir(), Sealer: testSealer}
			if engine == "postgres" {
				c = store.Config{DSN: postgresSchema(t), Sealer: testSealer}
			}
			var replicas []*store.DB
			for range 2 {
				db, err := store.Open(t.Context(), c)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { db.Close() })
				if _, err := db.Migrate(t.Context()); err != nil {
					t.Fatal(err)
				}
				replicas = append(replicas, db)
			}
			failing(t, replicas[0], "fw01.example.com")
			inbox := &digestInbox{}
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					g := &rotate.Digester{Store: replicas[i%2], Notifier: inbox, At: 8 * time.Hour}
					<-start
					if _, err := g.MaybeSend(t.Context(), at(23, "08:00").Add(time.Duration(i)*time.Millisecond)); err != nil {
						t.Error(err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if inbox.count() != 1 {
				t.Errorf("%d digests from 8 racing callers, want 1", inbox.count())
			}
		})
	}
}
