package rotate_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// TestFailureStreak: a device that keeps failing under the router is
// held back longer each time (doubling from RetryBase), the Notifier is
// told how long the streak is (so it speaks once when it starts), a
// rotation someone asks for starts a new streak, and the success that
// ends a streak says how many failures it ended.
func TestFailureStreak(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.rot.RetryBase = time.Hour
	// The hold is measured from the failure's own time.
	waited := func(lr *ottr.LastRotation) time.Duration {
		if lr.RetryAfter == nil {
			return 0
		}
		return lr.RetryAfter.Sub(lr.Time.Time).Round(time.Second)
	}
	a := f.device(t, "web1")
	bad := filepath.Join(t.TempDir(), "install.sh")
	os.WriteFile(bad, []byte("#!/bin/sh\nexit 1\n"), 0o755)
	f.setScript(a.SystemName, bad)

	fail := func(trigger string) *ottr.LastRotation {
		t.Helper()
		r := &ottr.Rotation{SystemName: a.SystemName, State: ottr.StateQueued, Trigger: trigger}
		if err := f.db.CreateRotation(t.Context(), r); err != nil {
			t.Fatal(err)
		}
		err := f.rot.Run(t.Context(), r.ID)
		if err == nil {
			t.Fatal("rotation succeeded against a failing install")
		}
		if err := f.rot.Fail(t.Context(), r.ID, err); err != nil {
			t.Fatal(err)
		}
		stored, err := f.db.GetAsset(t.Context(), a.SystemName)
		if err != nil {
			t.Fatal(err)
		}
		return stored.LastRotation
	}
	lastNote := func() ottr.Rotation {
		f.notes.mu.Lock()
		defer f.notes.mu.Unlock()
		return f.notes.sent[len(f.notes.sent)-1]
	}
	for i, want := range []struct {
		failures int
		wait     time.Duration
	}{{1, time.Hour}, {2, 2 * time.Hour}, {3, 4 * time.Hour}} {
		lr := fail(ottr.TriggerRouter)
		if lr.Failures != want.failures || waited(lr) != want.wait {
			t.Errorf("failure %d: %d in a row, held %v; want %d, %v", i+1, lr.Failures, waited(lr), want.failures, want.wait)
		}
		if n := lastNote(); n.Failures != want.failures {
			t.Errorf("failure %d: notifier told of a streak of %d", i+1, n.Failures)
		}
	}
	if lr := fail(ottr.TriggerCLI); lr.Failures != 1 || waited(lr) != time.Hour {
		t.Errorf("a rotation asked for: %+v, want a new streak", lr)
	}
	fail(ottr.TriggerRouter) // 2 in a row again

	f.setScript(a.SystemName, "")
	r := f.queue(t, a)
	if err := f.rot.Run(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	if n := lastNote(); n.State != ottr.StateSucceeded || n.Recovered != 2 {
		t.Errorf("success after failures: notifier got state %s, recovered %d; want succeeded, 2", n.State, n.Recovered)
	}
	stored, _ := f.db.GetAsset(t.Context(), a.SystemName)
	if lr := stored.LastRotation; lr.Failures != 0 || lr.RetryAfter != nil {
		t.Errorf("after success: %+v, want no failures and no hold", lr)
	}
}
