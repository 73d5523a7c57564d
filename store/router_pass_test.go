package store

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

// TestRouterPasses: passes come back newest first as recorded, and the
// table keeps only the newest routerPassesKept.
func TestRouterPasses(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		if got, err := db.RouterPasses(ctx, 1); err != nil || len(got) != 0 {
			t.Fatalf("empty log = %v, %v", got, err)
		}
		first := &ottr.RouterPass{Owner: "a", StartedAt: testNow, FinishedAt: testNow.Add(1500 * time.Millisecond),
			Examined: 10, Due: 4, Held: 1, Routed: 2, Unrouted: 1, Queued: 2, Watched: 7, WatchFailed: 3, Error: "router pass: store gone"}
		if err := db.RecordRouterPass(ctx, first); err != nil {
			t.Fatal(err)
		}
		if first.ID == 0 {
			t.Fatal("no ID set")
		}
		got, err := db.RouterPasses(ctx, 5)
		if err != nil || len(got) != 1 {
			t.Fatalf("passes = %v, %v", got, err)
		}
		if d := cmp.Diff(first, got[0]); d != "" {
			t.Fatalf("stored pass differs (-want +got):\n%s", d)
		}
		for i := range routerPassesKept + 3 {
			p := &ottr.RouterPass{Owner: "b", StartedAt: testNow.Add(time.Duration(i+1) * time.Minute), FinishedAt: testNow.Add(time.Duration(i+1) * time.Minute)}
			if err := db.RecordRouterPass(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		all, err := db.RouterPasses(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != routerPassesKept {
			t.Fatalf("kept %d passes, want %d", len(all), routerPassesKept)
		}
		if all[0].Owner != "b" || !all[0].StartedAt.Equal(testNow.Add((routerPassesKept+3)*time.Minute)) {
			t.Fatalf("newest = %+v", all[0])
		}
		for i := 1; i < len(all); i++ {
			if all[i].ID >= all[i-1].ID {
				t.Fatalf("not newest first at %d", i)
			}
		}
	})
}
