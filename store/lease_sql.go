package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/ottr-dev/ottr"
)

// Each lease operation is one conditional UPDATE, so two processes racing
// for a rotation are ordered by the database: the row either matches the
// condition for one of them or for neither.

// ClaimRotation makes owner the holder of live rotation id until until.
func (d *DB) ClaimRotation(ctx context.Context, id, owner string, epoch int64, now, until time.Time) (ottr.Claim, error) {
	c := ottr.Claim{Claimed: true, Epoch: epoch, Live: true}
	err := d.db.QueryRowContext(ctx, d.q(`UPDATE rotations SET lease_owner = ?, lease_until = ?
		WHERE id = ? AND lease_epoch = ? AND state IN ('queued', 'running')
		AND (lease_owner = '' OR lease_owner = ? OR lease_until < ?) RETURNING attempts, error`), owner, ms(until), id, epoch, owner, ms(now)).Scan(&c.Attempts, &c.Error)
	if err == nil {
		return c, nil
	}
	if err != sql.ErrNoRows {
		return ottr.Claim{}, fmt.Errorf("claim rotation %s: %w", id, err)
	}
	c = ottr.Claim{}
	var state ottr.State
	err = d.db.QueryRowContext(ctx, d.q(`SELECT lease_epoch, state FROM rotations WHERE id = ?`), id).Scan(&c.Epoch, &state)
	if err == sql.ErrNoRows {
		return ottr.Claim{}, ottr.Errorf(ottr.ENOTFOUND, "rotation %q not found", id)
	}
	if err != nil {
		return ottr.Claim{}, fmt.Errorf("claim rotation %s: %w", id, err)
	}
	c.Live = state.Live()
	return c, nil
}

// RenewRotationLease extends owner's hold on rotation id to until.
func (d *DB) RenewRotationLease(ctx context.Context, id, owner string, epoch int64, until time.Time) (bool, error) {
	res, err := d.db.ExecContext(ctx, d.q(`UPDATE rotations SET lease_until = ?
		WHERE id = ? AND lease_owner = ? AND lease_epoch = ?`), ms(until), id, owner, epoch)
	if err != nil {
		return false, fmt.Errorf("renew lease of rotation %s: %w", id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseRotation ends owner's hold on rotation id.
func (d *DB) ReleaseRotation(ctx context.Context, id, owner string, epoch int64) error {
	_, err := d.db.ExecContext(ctx, d.q(`UPDATE rotations SET lease_owner = '', lease_until = NULL
		WHERE id = ? AND lease_owner = ? AND lease_epoch = ?`), id, owner, epoch)
	if err != nil {
		return fmt.Errorf("release rotation %s: %w", id, err)
	}
	return nil
}

// HandOverRotation ends owner's hold and moves rotation id to a new epoch.
func (d *DB) HandOverRotation(ctx context.Context, id, owner string, epoch int64) (ottr.Lease, bool, error) {
	l := ottr.Lease{RotationID: id, Epoch: epoch + 1}
	err := d.db.QueryRowContext(ctx, d.q(`UPDATE rotations SET lease_owner = '', lease_until = NULL, lease_epoch = lease_epoch + 1
		WHERE id = ? AND lease_owner = ? AND lease_epoch = ? AND state IN ('queued', 'running') RETURNING system_name`), id, owner, epoch).Scan(&l.SystemName)
	if err == sql.ErrNoRows {
		return ottr.Lease{}, false, nil
	}
	if err != nil {
		return ottr.Lease{}, false, fmt.Errorf("hand over rotation %s: %w", id, err)
	}
	return l, true, nil
}

// SupersedeUnheldRotation moves unheld live rotation id from epoch to
// epoch+1.
func (d *DB) SupersedeUnheldRotation(ctx context.Context, id string, epoch int64) (ottr.Lease, bool, error) {
	l := ottr.Lease{RotationID: id, Epoch: epoch + 1}
	err := d.db.QueryRowContext(ctx, d.q(`UPDATE rotations SET lease_epoch = lease_epoch + 1
		WHERE id = ? AND lease_epoch = ? AND lease_owner = '' AND state IN ('queued', 'running') RETURNING system_name`), id, epoch).Scan(&l.SystemName)
	if err == sql.ErrNoRows {
		return ottr.Lease{}, false, nil
	}
	if err != nil {
		return ottr.Lease{}, false, fmt.Errorf("supersede rotation %s: %w", id, err)
	}
	return l, true, nil
}

// ReapRotationLeases takes over live rotations whose holder's lease ran out.
func (d *DB) ReapRotationLeases(ctx context.Context, expiredBefore time.Time, limit int) ([]ottr.Lease, error) {
	if limit <= 0 {
		limit = 100
	}
	// The subquery picks candidates from the partial index (live, held
	// rotations only, so finished rows with a stale holder never fill the
	// limit); the outer condition is checked again on the row itself, so
	// a rotation renewed or reaped by someone else meanwhile is left alone.
	rows, err := d.db.QueryContext(ctx, d.q(`UPDATE rotations SET lease_owner = '', lease_until = NULL, lease_epoch = lease_epoch + 1
		WHERE id IN (SELECT id FROM rotations WHERE lease_owner <> '' AND state IN ('queued', 'running') AND lease_until < ? LIMIT ?)
		AND lease_owner <> '' AND lease_until < ? AND state IN ('queued', 'running')
		RETURNING id, system_name, lease_epoch`), ms(expiredBefore), limit, ms(expiredBefore))
	if err != nil {
		return nil, fmt.Errorf("reap rotation leases: %w", err)
	}
	return scanLeases(rows)
}

// UnheldRotations lists live rotations nobody holds, unchanged since before.
func (d *DB) UnheldRotations(ctx context.Context, before time.Time, limit int) ([]ottr.Lease, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT id, system_name, lease_epoch FROM rotations
		WHERE state IN ('queued', 'running') AND lease_owner = '' AND updated_at < ? ORDER BY updated_at LIMIT ?`), ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("unheld rotations: %w", err)
	}
	return scanLeases(rows)
}

func scanLeases(rows *sql.Rows) ([]ottr.Lease, error) {
	defer rows.Close()
	var out []ottr.Lease
	for rows.Next() {
		var l ottr.Lease
		if err := rows.Scan(&l.RotationID, &l.SystemName, &l.Epoch); err != nil {
			return nil, err
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// createBatch is how many rotations one INSERT carries: 22 parameters
// each stays far below both engines' limits on bound parameters.
const createBatch = 500

// CreateRotations stores many rotations; an asset's live rotation is
// joined instead.
func (d *DB) CreateRotations(ctx context.Context, rs []*ottr.Rotation) ([]bool, error) {
	joined := make([]bool, len(rs))
	now := d.now().UTC()
	for i, r := range rs {
		if !r.State.Valid() {
			return nil, ottr.Invalid("invalid rotation", ottr.Problem{Field: fmt.Sprintf("[%d].state", i), Message: fmt.Sprintf("%q is not a rotation state", r.State)})
		}
		if r.ID == "" {
			id, err := uuid.NewV7()
			if err != nil {
				return nil, err
			}
			r.ID = id.String()
		}
		if r.CreatedAt.IsZero() {
			r.CreatedAt = now
		}
		if r.UpdatedAt.IsZero() {
			r.UpdatedAt = now
		}
	}
	for start := 0; start < len(rs); start += createBatch {
		end := min(start+createBatch, len(rs))
		idx := make([]int, 0, end-start)
		for i := start; i < end; i++ {
			idx = append(idx, i)
		}
		// A live rotation that finishes between the INSERT and the
		// SELECT (PostgreSQL reads each statement's own snapshot) leaves
		// its asset neither inserted nor joined: insert those again.
		for try := 0; len(idx) > 0; try++ {
			if try == 3 {
				r := rs[idx[0]]
				return nil, ottr.Errorf(ottr.ECONFLICT, "rotation %q of %s was not created", r.ID, r.SystemName)
			}
			batch := make([]*ottr.Rotation, len(idx))
			sub, done := make([]bool, len(idx)), make([]bool, len(idx))
			for k, i := range idx {
				batch[k] = rs[i]
			}
			if err := d.createRotationBatch(ctx, batch, sub, done); err != nil {
				return nil, err
			}
			var left []int
			for k, i := range idx {
				joined[i] = sub[k]
				if !done[k] {
					left = append(left, i)
				}
			}
			idx = left
		}
	}
	return joined, nil
}

// createRotationBatch inserts rs, or joins the live rotation of their
// asset (joined[i]); done[i] is false for a row that is neither.
func (d *DB) createRotationBatch(ctx context.Context, rs []*ottr.Rotation, joined, done []bool) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		var b strings.Builder
		b.WriteString(`INSERT INTO rotations (` + rotationCols + `) VALUES `)
		args := make([]any, 0, len(rs)*22)
		for i, r := range rs {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
			args = append(args, rotationArgs(r)...)
		}
		// The partial unique index allows one live rotation per asset; a
		// row that would be a second one is skipped and joined below.
		b.WriteString(` ON CONFLICT (system_name) WHERE state IN ('queued', 'running') DO NOTHING RETURNING id`)
		rows, err := tx.QueryContext(ctx, d.q(b.String()), args...)
		if err != nil {
			return fmt.Errorf("insert rotations: %w", err)
		}
		inserted := map[string]bool{}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			inserted[id] = true
		}
		for i, r := range rs {
			done[i] = inserted[r.ID]
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("insert rotations: %w", err)
		}
		var names []any
		idx := map[string][]int{}
		for i, r := range rs {
			if !inserted[r.ID] {
				if len(idx[r.SystemName]) == 0 {
					names = append(names, r.SystemName)
				}
				idx[r.SystemName] = append(idx[r.SystemName], i)
			}
		}
		if len(names) == 0 {
			return nil
		}
		rows, err = tx.QueryContext(ctx, d.q(`SELECT `+rotationSelect+` FROM rotations
			WHERE state IN ('queued', 'running') AND system_name IN (?`+strings.Repeat(",?", len(names)-1)+`)`), names...)
		if err != nil {
			return fmt.Errorf("find live rotations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			live, err := scanRotation(rows)
			if err != nil {
				return err
			}
			for _, i := range idx[live.SystemName] {
				*rs[i] = *live
				joined[i], done[i] = true, true
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		return nil
	})
}
