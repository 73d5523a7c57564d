package rotate_test

import (
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// Two overlapping router passes (the leader's and "ottr router run") can
// queue a second rotation for an asset the first one renews meanwhile: it
// ends without touching the device or ordering. A rotation someone asked
// for is never skipped that way.
func TestRouterRotationOfRenewedAssetDoesNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	a := f.device(t, "web1")
	stale := &ottr.Rotation{SystemName: a.SystemName, State: ottr.StateQueued, Trigger: ottr.TriggerRouter}
	first := f.queue(t, a) // joined by nothing: created before stale
	if err := f.rot.Run(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	// Queued by the other pass before the first finished recording.
	stale.CreatedAt = first.CreatedAt
	if err := f.db.CreateRotation(ctx, stale); err != nil {
		t.Fatal(err)
	}
	if err := f.rot.Run(ctx, stale.ID); err != nil {
		t.Fatal(err)
	}
	got, log := f.get(t, stale.ID)
	if got.State != ottr.StateCanceled || f.issuer.n != 1 || !strings.Contains(got.Error, "renewed the asset after this one was queued") {
		t.Fatalf("stale router rotation: %s %q, %d orders\n%s", got.State, got.Error, f.issuer.n, log)
	}
	// Asked for by someone: rotated again.
	asked := &ottr.Rotation{SystemName: a.SystemName, State: ottr.StateQueued, Trigger: ottr.TriggerAPI, CreatedAt: first.CreatedAt}
	if err := f.db.CreateRotation(ctx, asked); err != nil {
		t.Fatal(err)
	}
	if err := f.rot.Run(ctx, asked.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.get(t, asked.ID); got.State != ottr.StateSucceeded || f.issuer.n != 2 {
		t.Errorf("requested rotation: %s, %d orders", got.State, f.issuer.n)
	}
}
