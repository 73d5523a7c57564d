package store

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// TestDeviceTrust runs the trust rules over the real store: first contact
// pins, a changed key is refused and waits for an ADMIN, a hold for
// approval refuses even a verified device, and replicas pinning at once
// agree on one key.
func TestDeviceTrust(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		now := func() time.Time { return testNow }
		const a, b = "tls SHA256:aaaa", "tls SHA256:bbbb"

		tofu := ottr.CheckTrust(ctx, db, "fw1.example.com", true, now)
		if err := tofu(false, a); err != nil {
			t.Fatalf("first contact: %v", err)
		}
		if got, _ := db.GetTrust(ctx, "fw1.example.com"); got == nil || got.Fingerprint != a {
			t.Fatalf("pinned %+v, want %s", got, a)
		}
		if err := tofu(false, a); err != nil {
			t.Errorf("same key again: %v", err)
		}
		err := tofu(false, b)
		if ottr.ErrorCode(err) != ottr.EFORBIDDEN || !strings.Contains(err.Error(), "instead of the pinned") {
			t.Errorf("changed key: %v, want EFORBIDDEN naming the pin", err)
		}
		if got, _ := db.GetTrust(ctx, "fw1.example.com"); got.Fingerprint != a || got.Pending != b {
			t.Errorf("after refusal %+v, want pin %s pending %s", got, a, b)
		}
		// A key that verifies (a CA-issued certificate after a rotation)
		// needs no pin.
		if err := tofu(true, b); err != nil {
			t.Errorf("verified key: %v", err)
		}
		// Without trust on first use an unverified key is refused and
		// nothing is recorded.
		if err := ottr.CheckTrust(ctx, db, "strict.example.com", false, now)(false, a); ottr.ErrorCode(err) != ottr.EFORBIDDEN {
			t.Errorf("unverified key with validation on: %v", err)
		}
		if _, err := db.GetTrust(ctx, "strict.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("record made for a refused strict device: %v", err)
		}
		acc, err := ottr.AcceptTrust(ctx, db, "fw1.example.com", testNow)
		if err != nil || acc.Fingerprint != b || acc.Pending != "" {
			t.Fatalf("accept: %+v %v", acc, err)
		}
		if err := tofu(false, b); err != nil {
			t.Errorf("accepted key: %v", err)
		}
		if _, err := ottr.AcceptTrust(ctx, db, "fw1.example.com", testNow); ottr.ErrorCode(err) != ottr.ECONFLICT {
			t.Errorf("accept with nothing pending: %v", err)
		}

		// Held for approval: nothing is sent, even to a verified device,
		// until an ADMIN accepts what it presented.
		if err := db.PutTrust(ctx, &ottr.DeviceTrust{SystemName: "new.example.com", NeedsApproval: true, Updated: testNow}); err != nil {
			t.Fatal(err)
		}
		held := ottr.CheckTrust(ctx, db, "new.example.com", true, now)
		for _, verified := range []bool{true, false} {
			if err := held(verified, a); ottr.ErrorCode(err) != ottr.EFORBIDDEN || !strings.Contains(err.Error(), "ottr trust accept new.example.com") {
				t.Errorf("held device (verified=%v): %v", verified, err)
			}
		}
		if _, err := ottr.AcceptTrust(ctx, db, "new.example.com", testNow); err != nil {
			t.Fatal(err)
		}
		if err := held(false, a); err != nil {
			t.Errorf("after approval: %v", err)
		}
		if err := db.DeleteTrust(ctx, "new.example.com"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.GetTrust(ctx, "new.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("after delete: %v", err)
		}

		// Replicas meeting a new device at once pin one key between them:
		// exactly one of two different keys is accepted.
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, fp := range []string{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = ottr.CheckTrust(ctx, db, "race.example.com", true, now)(false, fp)
			}()
		}
		wg.Wait()
		if (errs[0] == nil) == (errs[1] == nil) {
			t.Errorf("concurrent first contacts with different keys: %v / %v, want exactly one accepted", errs[0], errs[1])
		}
	})
}
