package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/store"
)

// openStore opens the servers' database to read what they did.
func openStore(t testing.TB, c store.Config) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// allRotations lists every rotation, without logs.
func allRotations(ctx context.Context, db *store.DB, state ottr.State) ([]*ottr.Rotation, error) {
	var out []*ottr.Rotation
	cursor := ""
	for {
		rs, next, err := db.FindRotations(ctx, ottr.RotationFilter{State: state, Limit: 500, Cursor: cursor})
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
		if next == "" {
			return out, nil
		}
		cursor = next
	}
}

// live counts the rotations still queued or running.
func live(ctx context.Context, db *store.DB) (int, error) {
	n := 0
	for _, st := range []ottr.State{ottr.StateQueued, ottr.StateRunning} {
		rs, err := allRotations(ctx, db, st)
		if err != nil {
			return 0, err
		}
		n += len(rs)
	}
	return n, nil
}

// waitEnded polls until every rotation was created (created is closed)
// and none is live, or d passes; it reports whether they all ended.
func waitEnded(t testing.TB, db *store.DB, d time.Duration, created <-chan struct{}) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		select {
		case <-created:
			n, err := live(t.Context(), db)
			if err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				return true
			}
		default:
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(min(250*time.Millisecond, time.Until(deadline)) + time.Millisecond)
	}
}

// rawDB is direct SQL access to what the servers wrote, for what the store
// does not show: rotation columns this test does not know (a lease, its
// holder) and River's jobs. On PostgreSQL both are in the one database;
// on SQLite, ottr.db and jobs.db.
type rawDB struct {
	rotations, jobs *sql.DB
	postgres        bool
}

// openRaw opens the servers' database directly; dsn "" is SQLite in
// dataDir.
func openRaw(t testing.TB, dsn, dataDir string) *rawDB {
	t.Helper()
	open := func(driver, source string) *sql.DB {
		db, err := sql.Open(driver, source)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	if dsn != "" {
		db := open("pgx", dsn)
		return &rawDB{rotations: db, jobs: db, postgres: true}
	}
	file := func(name string) string {
		return "file:" + filepath.Join(dataDir, name) + "?_pragma=busy_timeout(5000)"
	}
	return &rawDB{rotations: open("sqlite", file("ottr.db")), jobs: open("sqlite", file("jobs.db"))}
}

// arg is the engine's placeholder for argument n.
func (r *rawDB) arg(n int) string {
	if r.postgres {
		return fmt.Sprintf("$%d", n)
	}
	return "?"
}

// stuckReport describes the rotations still live: their stored state,
// every column of their row that this test does not know, their jobs and
// their last log lines.
func stuckReport(ctx context.Context, db *store.DB, raw *rawDB) string {
	var b strings.Builder
	for _, st := range []ottr.State{ottr.StateQueued, ottr.StateRunning} {
		rs, err := allRotations(ctx, db, st)
		if err != nil {
			return err.Error()
		}
		for _, r := range rs {
			fmt.Fprintf(&b, "%s %s: %s step %q attempts %d updated %s error %q\n", r.ID, r.SystemName, r.State, r.Step, r.Attempts,
				r.UpdatedAt.Format("15:04:05.000"), r.Error)
			fmt.Fprintf(&b, "    row: %s\n", raw.extraColumns(ctx, r.ID))
			fmt.Fprintf(&b, "    jobs: %s\n", raw.jobsOf(ctx, r.ID))
			if full, err := db.GetRotation(ctx, r.ID); err == nil {
				for _, l := range full.Log[max(0, len(full.Log)-4):] {
					fmt.Fprintf(&b, "    %s %-9s %s\n", l.Time.Format("15:04:05.000"), l.Step, l.Message)
				}
			}
		}
	}
	return b.String()
}

// known are the rotation columns of today's schema whose values the report
// prints otherwise (or that are too long to).
var known = map[string]bool{"id": true, "system_name": true, "state": true, "step": true, "attempts": true, "trigger_by": true,
	"requested_by": true, "recipe": true, "error": true, "created_at": true, "started_at": true, "finished_at": true, "updated_at": true,
	"old_serial": true, "new_serial": true, "old_expiration": true, "new_expiration": true, "csr": true, "chain": true, "previous_chain": true}

func (r *rawDB) extraColumns(ctx context.Context, id string) string {
	rows, err := r.rotations.QueryContext(ctx, "SELECT * FROM rotations WHERE id = "+r.arg(1), id)
	if err != nil {
		return err.Error()
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	if !rows.Next() {
		return "gone"
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return err.Error()
	}
	var parts []string
	for i, c := range cols {
		if !known[c] {
			parts = append(parts, fmt.Sprintf("%s=%v", c, vals[i]))
		}
	}
	if len(parts) == 0 {
		return "(no lease columns)"
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// job is a River job of a rotation.
type job struct {
	id          int64
	state       string
	attempt     int
	attemptedAt *time.Time
	attemptedBy []string
	rotationID  string
}

func (j job) String() string {
	at := "-"
	if j.attemptedAt != nil {
		at = j.attemptedAt.Local().Format("15:04:05.000")
	}
	return fmt.Sprintf("job %d %s attempt %d at %s by %v", j.id, j.state, j.attempt, at, j.attemptedBy)
}

// rotationJobs lists the rotation jobs in River's table that match where
// (a condition on river_job's columns, with the engine's placeholders).
func (r *rawDB) rotationJobs(ctx context.Context, where string, args ...any) ([]job, error) {
	// River keeps attempted_by as text[] on PostgreSQL and as a JSON
	// array on SQLite.
	by, at := "coalesce(array_to_string(attempted_by, ','), '')", "attempted_at"
	if !r.postgres {
		by, at = "coalesce((SELECT group_concat(value, ',') FROM json_each(attempted_by)), '')", "unixepoch(attempted_at, 'subsec')"
	}
	rows, err := r.jobs.QueryContext(ctx, `SELECT id, state, attempt, `+at+`, `+by+`, args->>'rotation_id'
		FROM river_job WHERE kind = 'ottr_rotation' `+where+` ORDER BY id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []job
	for rows.Next() {
		var j job
		var by string
		var unix sql.NullFloat64
		dest := []any{&j.id, &j.state, &j.attempt, &j.attemptedAt, &by, &j.rotationID}
		if !r.postgres {
			dest[3] = &unix
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		if unix.Valid {
			t := time.UnixMicro(int64(unix.Float64 * 1e6))
			j.attemptedAt = &t
		}
		if by != "" {
			j.attemptedBy = strings.Split(by, ",")
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

func (r *rawDB) jobsOf(ctx context.Context, id string) string {
	js, err := r.rotationJobs(ctx, "AND args->>'rotation_id' = "+r.arg(1), id)
	if err != nil {
		return err.Error()
	}
	var parts []string
	for _, j := range js {
		parts = append(parts, j.String())
	}
	return strings.Join(parts, "; ")
}
