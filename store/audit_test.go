package store

import (
	"fmt"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestFindEventsFilteredPages: each filter, paged, visits its events once,
// newest first, on both engines.
func TestFindEventsFilteredPages(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		for i := range 30 {
			e := &ottr.Event{Actor: fmt.Sprintf("u%d", i%3), Action: fmt.Sprintf("a%d", i%2), Resource: fmt.Sprintf("r%d", i%5)}
			if err := db.RecordEvent(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		for _, tc := range []struct {
			f    ottr.EventFilter
			want int
			keep func(*ottr.Event) bool
		}{
			{ottr.EventFilter{Actor: "u1"}, 10, func(e *ottr.Event) bool { return e.Actor == "u1" }},
			{ottr.EventFilter{Action: "a0"}, 15, func(e *ottr.Event) bool { return e.Action == "a0" }},
			{ottr.EventFilter{Resource: "r4"}, 6, func(e *ottr.Event) bool { return e.Resource == "r4" }},
			{ottr.EventFilter{Resource: "r4", Actor: "u2", Action: "a1"}, 1, func(e *ottr.Event) bool { return e.Resource == "r4" && e.Actor == "u2" && e.Action == "a1" }},
		} {
			f := tc.f
			f.Limit = 4
			var last int64
			n := 0
			for pages := 0; ; pages++ {
				page, next, err := db.FindEvents(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range page {
					if !tc.keep(e) || (last != 0 && e.ID >= last) {
						t.Errorf("%+v: %+v out of the filter or out of order (after %d)", tc.f, e, last)
					}
					last = e.ID
					n++
				}
				if next == "" || pages > 20 {
					break
				}
				f.Cursor = next
			}
			if n != tc.want {
				t.Errorf("%+v: %d events, want %d", tc.f, n, tc.want)
			}
		}
	})
}
