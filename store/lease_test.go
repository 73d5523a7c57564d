package store

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

func TestRotationLeases(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		r := &ottr.Rotation{SystemName: "a.example.com", State: ottr.StateQueued, Trigger: ottr.TriggerRouter, Attempts: 2, Error: "device unreachable"}
		if err := db.CreateRotation(ctx, r); err != nil {
			t.Fatal(err)
		}
		now := testNow
		// The claim brings the attempts so far and the last error.
		c, err := db.ClaimRotation(ctx, r.ID, "w1", 0, now, now.Add(30*time.Second))
		if err != nil || c != (ottr.Claim{Claimed: true, Epoch: 0, Live: true, Attempts: 2, Error: "device unreachable"}) {
			t.Fatalf("first claim: %+v %v", c, err)
		}
		// A second worker cannot take a rotation held unexpired.
		if c, err := db.ClaimRotation(ctx, r.ID, "w2", 0, now.Add(10*time.Second), now.Add(40*time.Second)); err != nil || c != (ottr.Claim{Epoch: 0, Live: true}) {
			t.Fatalf("claim of a held rotation: %+v %v", c, err)
		}
		// The holder renews; nothing is reaped before the lease runs out.
		if ok, err := db.RenewRotationLease(ctx, r.ID, "w1", 0, now.Add(60*time.Second)); err != nil || !ok {
			t.Fatalf("renew: %v %v", ok, err)
		}
		if ls, err := db.ReapRotationLeases(ctx, now.Add(45*time.Second), 10); err != nil || len(ls) != 0 {
			t.Fatalf("reaped a live lease: %v %v", ls, err)
		}
		// w1 dies: after its lease, the rotation moves to epoch 1 once.
		ls, err := db.ReapRotationLeases(ctx, now.Add(61*time.Second), 10)
		if err != nil || len(ls) != 1 || ls[0] != (ottr.Lease{RotationID: r.ID, SystemName: "a.example.com", Epoch: 1}) {
			t.Fatalf("reap: %+v %v", ls, err)
		}
		if ls, _ := db.ReapRotationLeases(ctx, now.Add(62*time.Second), 10); len(ls) != 0 {
			t.Fatalf("reaped twice: %+v", ls)
		}
		// The dead worker's job is superseded: its epoch is no longer the
		// rotation's, and its renewals fail.
		if c, err := db.ClaimRotation(ctx, r.ID, "w1", 0, now.Add(62*time.Second), now.Add(90*time.Second)); err != nil || c != (ottr.Claim{Epoch: 1, Live: true}) {
			t.Fatalf("stale claim: %+v %v", c, err)
		}
		if ok, err := db.RenewRotationLease(ctx, r.ID, "w1", 0, now.Add(90*time.Second)); err != nil || ok {
			t.Fatalf("stale renew: %v %v", ok, err)
		}
		if c, err := db.ClaimRotation(ctx, r.ID, "w2", 1, now.Add(62*time.Second), now.Add(90*time.Second)); err != nil || !c.Claimed || c.Attempts != 2 {
			t.Fatalf("takeover claim: %+v %v", c, err)
		}
		// A released rotation is waiting for its retry: never reaped.
		if err := db.ReleaseRotation(ctx, r.ID, "w2", 1); err != nil {
			t.Fatal(err)
		}
		if ls, _ := db.ReapRotationLeases(ctx, now.Add(time.Hour), 10); len(ls) != 0 {
			t.Fatalf("reaped a released rotation: %+v", ls)
		}
		// Hand-over moves it on for the next job at once.
		if c, _ := db.ClaimRotation(ctx, r.ID, "w2", 1, now, now.Add(time.Minute)); !c.Claimed {
			t.Fatal("reclaim after release")
		}
		l, ok, err := db.HandOverRotation(ctx, r.ID, "w2", 1)
		if err != nil || !ok || l.Epoch != 2 || l.SystemName != "a.example.com" {
			t.Fatalf("hand over: %+v %v %v", l, ok, err)
		}
		if _, ok, _ := db.HandOverRotation(ctx, r.ID, "w2", 1); ok {
			t.Fatal("handed over twice")
		}
		// A finished rotation is never claimed or reaped.
		if _, err := db.UpdateRotation(ctx, r.ID, func(x *ottr.Rotation) error { x.State = ottr.StateSucceeded; return nil }); err != nil {
			t.Fatal(err)
		}
		if c, _ := db.ClaimRotation(ctx, r.ID, "w3", 2, now, now.Add(time.Minute)); c != (ottr.Claim{Epoch: 2, Live: false}) {
			t.Fatalf("claim of a finished rotation: %+v", c)
		}
		// Leases survive the engine's own read-modify-write updates.
		r2 := &ottr.Rotation{SystemName: "b.example.com", State: ottr.StateQueued}
		if err := db.CreateRotation(ctx, r2); err != nil {
			t.Fatal(err)
		}
		if c, _ := db.ClaimRotation(ctx, r2.ID, "w1", 0, now, now.Add(time.Minute)); !c.Claimed {
			t.Fatal("claim r2")
		}
		if _, err := db.UpdateRotation(ctx, r2.ID, func(x *ottr.Rotation) error { x.State, x.Step = ottr.StateRunning, ottr.StepOrder; return nil }); err != nil {
			t.Fatal(err)
		}
		if ok, err := db.RenewRotationLease(ctx, r2.ID, "w1", 0, now.Add(2*time.Minute)); !ok || err != nil {
			t.Fatalf("lease lost by an update: %v %v", ok, err)
		}
		// A canceled rotation's holder still renews: it stops at the
		// next step boundary, not in the middle of a step.
		if _, err := ottr.CancelRotation(ctx, db, r2.ID, "alice", now); err != nil {
			t.Fatal(err)
		}
		if ok, err := db.RenewRotationLease(ctx, r2.ID, "w1", 0, now.Add(3*time.Minute)); !ok || err != nil {
			t.Fatalf("renew of a canceled rotation: %v %v", ok, err)
		}
		if _, err := db.ClaimRotation(ctx, "nope", "w1", 0, now, now); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("claim of an absent rotation: %v", err)
		}
	})
}

// Several processes reaping at once: each expired rotation goes to exactly
// one of them.
func TestReapRacesTakeEachOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		const n = 60
		for i := range n {
			r := &ottr.Rotation{SystemName: fmt.Sprintf("h%d.example.com", i), State: ottr.StateRunning}
			if err := db.CreateRotation(ctx, r); err != nil {
				t.Fatal(err)
			}
			if c, err := db.ClaimRotation(ctx, r.ID, "dead", 0, testNow, testNow.Add(time.Second)); !c.Claimed || err != nil {
				t.Fatal(c, err)
			}
		}
		var mu sync.Mutex
		got := map[string]int{}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for {
					ls, err := db.ReapRotationLeases(ctx, testNow.Add(time.Minute), 7)
					if err != nil {
						t.Error(err)
						return
					}
					if len(ls) == 0 {
						return
					}
					mu.Lock()
					for _, l := range ls {
						got[l.RotationID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(got) != n {
			t.Fatalf("reaped %d rotations, want %d", len(got), n)
		}
		for id, c := range got {
			if c != 1 {
				t.Errorf("rotation %s reaped %d times", id, c)
			}
		}
	})
}

// Finished rotations that kept a stale holder never fill the reaper's
// batch, and rotations nobody holds are found for the engine's sweep.
func TestReapSkipsFinishedAndFindsUnheld(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		for i := range 3 {
			r := &ottr.Rotation{SystemName: fmt.Sprintf("done%d.example.com", i), State: ottr.StateRunning}
			if err := db.CreateRotation(ctx, r); err != nil {
				t.Fatal(err)
			}
			if c, _ := db.ClaimRotation(ctx, r.ID, "dead", 0, testNow, testNow.Add(time.Second)); !c.Claimed {
				t.Fatal("claim")
			}
			if _, err := ottr.CancelRotation(ctx, db, r.ID, "bob", testNow); err != nil {
				t.Fatal(err)
			}
		}
		live := &ottr.Rotation{SystemName: "live.example.com", State: ottr.StateRunning}
		if err := db.CreateRotation(ctx, live); err != nil {
			t.Fatal(err)
		}
		if c, _ := db.ClaimRotation(ctx, live.ID, "dead", 0, testNow, testNow.Add(time.Second)); !c.Claimed {
			t.Fatal("claim live")
		}
		ls, err := db.ReapRotationLeases(ctx, testNow.Add(time.Minute), 2)
		if err != nil || len(ls) != 1 || ls[0].RotationID != live.ID {
			t.Fatalf("reaped %+v %v, want the live rotation", ls, err)
		}
		// Now unheld at epoch 1: the sweep finds it (and no finished one)
		// once it is older than the cutoff.
		queued := &ottr.Rotation{SystemName: "queued.example.com", State: ottr.StateQueued}
		if err := db.CreateRotation(ctx, queued); err != nil {
			t.Fatal(err)
		}
		un, err := db.UnheldRotations(ctx, testNow.Add(time.Hour), 10)
		if err != nil || len(un) != 2 {
			t.Fatalf("unheld: %+v %v", un, err)
		}
		got := map[string]int64{}
		for _, l := range un {
			got[l.RotationID] = l.Epoch
		}
		if e, ok := got[live.ID]; !ok || e != 1 {
			t.Errorf("unheld %+v: want %s at epoch 1", un, live.ID)
		}
		if _, ok := got[queued.ID]; !ok {
			t.Errorf("unheld %+v: want the queued rotation", un)
		}
		if un, _ := db.UnheldRotations(ctx, testNow.Add(-time.Hour), 10); len(un) != 0 {
			t.Errorf("rotations changed after the cutoff listed: %+v", un)
		}
	})
}

func TestCreateRotations(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		live := &ottr.Rotation{SystemName: "h3.example.com", State: ottr.StateRunning, Trigger: ottr.TriggerAPI}
		if err := db.CreateRotation(ctx, live); err != nil {
			t.Fatal(err)
		}
		var rs []*ottr.Rotation
		for i := range 1203 { // three batches
			rs = append(rs, &ottr.Rotation{SystemName: fmt.Sprintf("h%d.example.com", i), State: ottr.StateQueued, Trigger: ottr.TriggerRouter, Recipe: "r"})
		}
		// The same asset twice in one call: the second joins the first.
		rs = append(rs, &ottr.Rotation{SystemName: "h7.example.com", State: ottr.StateQueued, Trigger: ottr.TriggerRouter})
		joined, err := db.CreateRotations(ctx, rs)
		if err != nil {
			t.Fatal(err)
		}
		if !joined[3] || rs[3].ID != live.ID || rs[3].State != ottr.StateRunning || rs[3].Trigger != ottr.TriggerAPI {
			t.Errorf("asset with a live rotation: joined %v, got %+v", joined[3], rs[3])
		}
		if !joined[1203] || rs[1203].ID != rs[7].ID {
			t.Errorf("duplicate in one call: joined %v id %s want %s", joined[1203], rs[1203].ID, rs[7].ID)
		}
		for i, r := range rs[:1203] {
			if i == 3 {
				continue
			}
			if joined[i] {
				t.Fatalf("rotation %d joined", i)
			}
			got, err := db.GetRotation(ctx, r.ID)
			if err != nil || got.SystemName != r.SystemName || got.State != ottr.StateQueued || got.Recipe != "r" {
				t.Fatalf("stored %d: %+v %v", i, got, err)
			}
			if i > 20 {
				break // spot-check the first ones; the count below covers all
			}
		}
		all, _, err := db.FindRotations(ctx, ottr.RotationFilter{State: ottr.StateQueued, Limit: 2000})
		if err != nil || len(all) != 1202 {
			t.Fatalf("queued rotations: %d %v", len(all), err)
		}
		// Again: everything joins, nothing doubles.
		var again []*ottr.Rotation
		for i := range 1203 {
			again = append(again, &ottr.Rotation{SystemName: fmt.Sprintf("h%d.example.com", i), State: ottr.StateQueued})
		}
		joined, err = db.CreateRotations(ctx, again)
		if err != nil {
			t.Fatal(err)
		}
		for i, j := range joined {
			if !j {
				t.Fatalf("second call created rotation %d", i)
			}
		}
		if _, err := db.CreateRotations(ctx, []*ottr.Rotation{{SystemName: "x", State: "bogus"}}); ottr.ErrorCode(err) != ottr.EINVALID {
			t.Errorf("bad state: %v", err)
		}
	})
}
