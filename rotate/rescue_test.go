package rotate_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// A worker that fetched a rotation's job and died before claiming the
// rotation (kill -9 in the milliseconds between the two) leaves the job
// "running" in the queue for River's rescuer, half an hour later, and the
// same job cannot be queued again meanwhile. Another process takes the
// rotation over within a lease: a new epoch and a job of its own.
func TestUnclaimedJobOfDeadWorkerIsTakenOver(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web3")
	jobs := filepath.Join(t.TempDir(), "jobs.db")
	e := leaseEngine(t, f, jobs, "p1")
	r := &ottr.Rotation{SystemName: a.SystemName, Trigger: ottr.TriggerCLI}
	if _, err := e.Enqueue(t.Context(), r); err != nil { // job queued, engine not started
		t.Fatal(err)
	}
	// The dead worker: the job fetched (running, attempted long enough
	// ago) by a client that is gone; the rotation never claimed.
	db, err := sql.Open("sqlite", "file:"+jobs+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var created string
	if err := db.QueryRow(`SELECT created_at FROM river_job WHERE kind = 'ottr_rotation'`).Scan(&created); err != nil {
		t.Fatal(err)
	}
	past := time.Now().UTC().Add(-time.Minute).Format("2006-01-02 15:04:05.000")
	if _, err := db.Exec(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = ?, attempted_by = '["dead-client"]' WHERE kind = 'ottr_rotation'`, past); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Stop(context.Background()) })
	start := time.Now()
	got := waitDone(t, f, r.ID)
	if got.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s: %s", got.State, got.Error)
	}
	// The lease is 3 s: taken over at its next reap tick, not by the
	// queue's rescuer.
	if took := time.Since(start); took > 20*time.Second {
		t.Errorf("took over after %v, want within a few leases (created %s)", took, created)
	}
	if got.LeaseEpoch != 1 {
		t.Errorf("rotation at epoch %d, want 1 (taken over once)", got.LeaseEpoch)
	}
}
