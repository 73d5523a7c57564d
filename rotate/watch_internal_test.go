package rotate

import (
	"context"
	"crypto/x509"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ottr-dev/ottr"
)

// TestWatchObserveBounded: devices that never answer hold at most
// Concurrency readings at once, each for Timeout, and the pass stops
// reading when its Budget runs out: those cut short and those never
// started are left for the next pass, not counted as failures.
func TestWatchObserveBounded(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var running, most, calls atomic.Int64
		w := &Watcher{Concurrency: 4, Timeout: time.Second, Budget: 2500 * time.Millisecond,
			Observe: func(ctx context.Context, a *ottr.Asset) ([]*x509.Certificate, error) {
				calls.Add(1)
				n := running.Add(1)
				defer running.Add(-1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				<-ctx.Done() // a host that never answers
				return nil, ctx.Err()
			}}
		items := make([]*watched, 100)
		for i := range items {
			items[i] = &watched{a: &ottr.Asset{SystemName: fmt.Sprintf("dead%03d.example.com", i)}}
		}
		start := time.Now()
		w.observe(t.Context(), items)
		if d := time.Since(start); d != w.Budget {
			t.Errorf("took %s, want the budget %s", d, w.Budget)
		}
		if m := most.Load(); m != 4 {
			t.Errorf("%d readings at once, want 4", m)
		}
		failed, left := 0, 0
		for _, it := range items {
			switch {
			case it.err != nil:
				failed++
				if failureKind(it.err) != "timed out" {
					t.Errorf("%s: %v is a %q", it.a.SystemName, it.err, failureKind(it.err))
				}
			case it.leaf == nil:
				left++
			}
		}
		// Two rounds of four timed out; the third was cut short at 2.5s.
		if failed != 8 || left != 92 || calls.Load() != 12 {
			t.Errorf("%d failed, %d left, %d readings; want 8, 92, 12", failed, left, calls.Load())
		}
	})
}
