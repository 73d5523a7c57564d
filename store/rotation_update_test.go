package store

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// BenchmarkRotationStepSave measures what a rotation pays at each step: one
// UpdateRotation that changes the step and nothing else, on a row that
// already carries its CSR, new chain and previous chain (about 7 KB of PEM,
// as a real rotation's row does from the order step on).
func BenchmarkRotationStepSave(b *testing.B) {
	db, err := Open(context.Background(), Config{DataDir: b.TempDir(), Sealer: testSealer})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	pem := func(kind string, n int) string {
		return "-----BEGIN " + kind + "-----\n" + strings.Repeat(strings.Repeat("A", 64)+"\n", n) + "-----END " + kind + "-----\n"
	}
	const rows = 200
	ids := make([]string, rows)
	for i := range rows {
		r := &ottr.Rotation{SystemName: fmt.Sprintf("fw%d.example.com", i), State: ottr.StateRunning, Step: ottr.StepOrder,
			CSR: pem("CERTIFICATE REQUEST", 8), Chain: pem("CERTIFICATE", 20) + pem("CERTIFICATE", 20),
			PreviousChain: pem("CERTIFICATE", 20) + pem("CERTIFICATE", 20)}
		if err := db.CreateRotation(b.Context(), r); err != nil {
			b.Fatal(err)
		}
		ids[i] = r.ID
	}
	steps := []ottr.Step{ottr.StepInstall, ottr.StepVerify, ottr.StepRecord, ottr.StepOrder}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := db.UpdateRotation(b.Context(), ids[i%rows], func(r *ottr.Rotation) error {
			r.Step = steps[i%len(steps)]
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// A save writes what changed, keeps the rest and moves updated_at only
// when something changed.
func TestUpdateRotationWritesChanges(t *testing.T) {
	forEachEngineConfig(t, func(t *testing.T, c Config) {
		clock := testNow
		c.Now = func() time.Time { return clock }
		db := openTest(t, c)
		ctx := t.Context()
		r := &ottr.Rotation{SystemName: "fw1.example.com", State: ottr.StateRunning, Step: ottr.StepOrder,
			CSR: "csr-pem", Chain: "chain-pem", PreviousChain: "previous-pem", OrderURL: "https://ca.example/order/1"}
		if err := db.CreateRotation(ctx, r); err != nil {
			t.Fatal(err)
		}
		clock = clock.Add(time.Minute)
		got, err := db.UpdateRotation(ctx, r.ID, func(x *ottr.Rotation) error { x.Step = ottr.StepOrder; return nil })
		if err != nil {
			t.Fatal(err)
		}
		if !got.UpdatedAt.Equal(testNow) {
			t.Errorf("a save that changed nothing moved updated_at to %v", got.UpdatedAt)
		}
		clock = clock.Add(time.Minute)
		if _, err := db.UpdateRotation(ctx, r.ID, func(x *ottr.Rotation) error {
			x.Step, x.Attempts, x.OrderURL = ottr.StepInstall, 2, ""
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err = db.GetRotation(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Step != ottr.StepInstall || got.Attempts != 2 || got.OrderURL != "" || !got.UpdatedAt.Equal(clock) {
			t.Errorf("after the save: step %s, attempts %d, order %q, updated %v; want install, 2, empty, %v", got.Step, got.Attempts, got.OrderURL, got.UpdatedAt, clock)
		}
		if got.CSR != "csr-pem" || got.Chain != "chain-pem" || got.PreviousChain != "previous-pem" || got.State != ottr.StateRunning {
			t.Errorf("columns the save did not change were lost: %+v", got)
		}
		if _, err := db.UpdateRotation(ctx, r.ID, func(x *ottr.Rotation) error { x.State = "bogus"; return nil }); err == nil {
			t.Error("an invalid state was saved")
		}
	})
}

// TestPostgresPoolCapped: the store's PostgreSQL pool is capped (at no
// less than MinMaxConns); more concurrent saves than connections wait for
// one instead of failing or deadlocking, and so do two scans whose
// callbacks write, as two router passes at once do.
func TestPostgresPoolCapped(t *testing.T) {
	forEachEngineConfig(t, func(t *testing.T, c Config) {
		c.MaxConns = 2
		db := openTest(t, c)
		if got := db.db.Stats().MaxOpenConnections; (c.DSN != "") != (got == MinMaxConns) {
			t.Fatalf("pool cap %d on %s, want %d on PostgreSQL only (0 = uncapped)", got, db.Dialect(), MinMaxConns)
		}
		for i := range 40 {
			a := fullAsset(fmt.Sprintf("scan%02d.example.com", i))
			if err := db.CreateAsset(t.Context(), a); err != nil {
				t.Fatal(err)
			}
		}
		scanned := make(chan error, 2)
		for p := range 2 {
			go func() {
				ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
				defer cancel()
				n := 0
				scanned <- db.ScanAssets(ctx, ottr.AssetScan{}, func(a *ottr.Asset) error {
					n++
					// Rows held open while another connection writes.
					return db.CreateRotation(ctx, &ottr.Rotation{SystemName: fmt.Sprintf("p%d-%d.example.com", p, n), State: ottr.StateSucceeded})
				})
			}()
		}
		for range 2 {
			if err := <-scanned; err != nil {
				t.Fatalf("two scans writing from their callbacks: %v", err)
			}
		}
		var ids []string
		for i := range 12 {
			r := &ottr.Rotation{SystemName: fmt.Sprintf("fw%d.example.com", i), State: ottr.StateRunning, Step: ottr.StepOrder}
			if err := db.CreateRotation(t.Context(), r); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, r.ID)
		}
		errs := make(chan error, len(ids)*5)
		for _, id := range ids {
			go func() {
				for range 5 {
					_, err := db.UpdateRotation(t.Context(), id, func(r *ottr.Rotation) error {
						r.Attempts++
						r.Log = []ottr.LogLine{{Level: "info", Message: "step"}}
						return nil
					})
					errs <- err
				}
			}()
		}
		for range len(ids) * 5 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range ids {
			r, err := db.GetRotation(t.Context(), id)
			if err != nil || r.Attempts != 5 || len(r.Log) != 5 {
				t.Fatalf("rotation %s after 5 saves: attempts %d, %d log lines, %v", id, r.Attempts, len(r.Log), err)
			}
		}
	})
}
