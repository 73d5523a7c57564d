package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// TestStatusCache: callers within statusMaxAge share one summary, also
// when they arrive together; another list size, an older summary or a
// failed computation computes again.
func TestStatusCache(t *testing.T) {
	var calls atomic.Int32
	now := time.Now()
	fail := false
	c := &statusCache{now: func() time.Time { return now }, compute: func(_ context.Context, n int) (*ottr.FleetStatus, error) {
		calls.Add(1)
		time.Sleep(20 * time.Millisecond)
		if fail {
			return nil, errors.New("database gone")
		}
		return &ottr.FleetStatus{Assets: n}, nil
	}}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if st, err := c.get(t.Context(), 100); err != nil || st.Assets != 100 {
				t.Errorf("get: %+v %v", st, err)
			}
		})
	}
	wg.Wait()
	if n := calls.Load(); n != 1 {
		t.Fatalf("8 callers at once computed %d summaries", n)
	}
	if st, _ := c.get(t.Context(), 7); st.Assets != 7 || calls.Load() != 2 {
		t.Fatalf("another list size reused the summary: %+v, %d computed", st, calls.Load())
	}
	now = now.Add(statusMaxAge)
	fail = true
	if _, err := c.get(t.Context(), 7); err == nil || calls.Load() != 3 {
		t.Fatalf("a stale summary was not computed again: %v, %d computed", err, calls.Load())
	}
	fail = false
	if st, err := c.get(t.Context(), 7); err != nil || st.Assets != 7 || calls.Load() != 4 {
		t.Fatalf("after a failure: %+v %v, %d computed", st, err, calls.Load())
	}
}
