package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/ottr-dev/ottr"
)

const rotationCols = `id, system_name, state, step, attempts, trigger_by, requested_by, recipe, error,
	created_at, started_at, finished_at, updated_at, old_serial, new_serial, old_expiration, new_expiration, csr, chain, previous_chain, adopted_from, order_url`

// rotationSelect adds what rotations are read with but never written
// with: the lease epoch belongs to the lease operations (lease_sql.go).
const rotationSelect = rotationCols + `, lease_epoch`

func scanRotation(r rowScanner) (*ottr.Rotation, error) {
	var x ottr.Rotation
	var created, updated int64
	var started, finished, oldExp, newExp sql.NullInt64
	err := r.Scan(&x.ID, &x.SystemName, &x.State, &x.Step, &x.Attempts, &x.Trigger, &x.RequestedBy, &x.Recipe, &x.Error,
		&created, &started, &finished, &updated, &x.OldSerial, &x.NewSerial, &oldExp, &newExp, &x.CSR, &x.Chain, &x.PreviousChain, &x.AdoptedFrom, &x.OrderURL, &x.LeaseEpoch)
	if err != nil {
		return nil, err
	}
	x.CreatedAt, x.UpdatedAt = fromMS(created), fromMS(updated)
	x.StartedAt, x.FinishedAt = toStd(started), toStd(finished)
	x.OldExpiration, x.NewExpiration = toTime(oldExp), toTime(newExp)
	return &x, nil
}

func rotationArgs(x *ottr.Rotation) []any {
	return []any{x.ID, x.SystemName, string(x.State), string(x.Step), x.Attempts, x.Trigger, x.RequestedBy, x.Recipe, x.Error,
		ms(x.CreatedAt), nullStd(x.StartedAt), nullStd(x.FinishedAt), ms(x.UpdatedAt), x.OldSerial, x.NewSerial,
		nullMS(x.OldExpiration), nullMS(x.NewExpiration), x.CSR, x.Chain, x.PreviousChain, x.AdoptedFrom, x.OrderURL}
}

// rotationColNames are rotationCols one by one, in rotationArgs' order.
var rotationColNames = func() []string {
	names := strings.Split(rotationCols, ",")
	for i := range names {
		names[i] = strings.TrimSpace(names[i])
	}
	return names
}()

// changedRotationCols returns the SET terms and arguments for the columns
// whose values differ between two rotationArgs snapshots. A step save
// then writes a few small columns instead of the whole row with its PEM
// blobs (CSR, chain, previous chain), which made every step rewrite
// kilobytes (on PostgreSQL a fresh TOAST copy of each).
func changedRotationCols(before []any, after *ottr.Rotation) (set []string, args []any) {
	for i, v := range rotationArgs(after) {
		// updated_at is the store's own: it moves only with a real change.
		if rotationColNames[i] == "updated_at" || v == before[i] {
			continue
		}
		set, args = append(set, rotationColNames[i]+" = ?"), append(args, v)
	}
	return set, args
}

// CreateRotation stores r. A live rotation for an asset that already has
// one returns ECONFLICT with r filled from the live one.
func (d *DB) CreateRotation(ctx context.Context, r *ottr.Rotation) error {
	if !r.State.Valid() {
		return ottr.Invalid("invalid rotation", ottr.Problem{Field: "state", Message: fmt.Sprintf("%q is not a rotation state", r.State)})
	}
	if r.ID == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		r.ID = id.String()
	}
	now := d.now().UTC()
	if r.CreatedAt.IsZero() {
		r.CreatedAt = now
	}
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = now
	}
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO rotations (`+rotationCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`), rotationArgs(r)...)
	if isUnique(err) && r.State.Live() {
		live, lerr := scanRotation(d.db.QueryRowContext(ctx, d.q(`SELECT `+rotationSelect+` FROM rotations
			WHERE system_name = ? AND state IN ('queued', 'running')`), r.SystemName))
		if lerr != nil {
			return fmt.Errorf("find live rotation of %s: %w", r.SystemName, lerr)
		}
		*r = *live
		return ottr.Errorf(ottr.ECONFLICT, "asset %q already has a live rotation %s", r.SystemName, r.ID)
	}
	if isUnique(err) {
		return ottr.Errorf(ottr.ECONFLICT, "rotation %q already exists", r.ID)
	}
	if err != nil {
		return fmt.Errorf("insert rotation: %w", err)
	}
	return nil
}

// GetRotation returns a rotation with its log.
func (d *DB) GetRotation(ctx context.Context, id string) (*ottr.Rotation, error) {
	x, err := scanRotation(d.db.QueryRowContext(ctx, d.q(`SELECT `+rotationSelect+` FROM rotations WHERE id = ?`), id))
	if err == sql.ErrNoRows {
		return nil, ottr.Errorf(ottr.ENOTFOUND, "rotation %q not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get rotation %s: %w", id, err)
	}
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT time, step, level, message FROM rotation_logs WHERE rotation_id = ? ORDER BY seq`), id)
	if err != nil {
		return nil, fmt.Errorf("rotation log %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var l ottr.LogLine
		var t int64
		if err := rows.Scan(&t, &l.Step, &l.Level, &l.Message); err != nil {
			return nil, err
		}
		l.Time = fromMS(t)
		x.Log = append(x.Log, l)
	}
	return x, rows.Err()
}

// UpdateRotation applies fn to the stored rotation in one transaction.
func (d *DB) UpdateRotation(ctx context.Context, id string, fn func(*ottr.Rotation) error) (*ottr.Rotation, error) {
	var out *ottr.Rotation
	err := d.tx(ctx, func(tx *sql.Tx) error {
		x, err := scanRotation(tx.QueryRowContext(ctx, d.q(`SELECT `+rotationSelect+` FROM rotations WHERE id = ?`+d.forUpdate()), id))
		if err == sql.ErrNoRows {
			return ottr.Errorf(ottr.ENOTFOUND, "rotation %q not found", id)
		}
		if err != nil {
			return fmt.Errorf("get rotation %s: %w", id, err)
		}
		before := rotationArgs(x)
		if err := fn(x); err != nil {
			return err
		}
		if x.ID != id {
			return ottr.Errorf(ottr.EINVALID, "rotation id cannot be changed")
		}
		if !x.State.Valid() {
			return ottr.Invalid("invalid rotation", ottr.Problem{Field: "state", Message: fmt.Sprintf("%q is not a rotation state", x.State)})
		}
		if err := d.appendLog(ctx, tx, id, x.Log); err != nil {
			return err
		}
		x.Log = nil
		set, args := changedRotationCols(before, x)
		if len(set) == 0 {
			out = x // nothing to write: a save that changes nothing costs no write
			return nil
		}
		x.UpdatedAt = d.now().UTC()
		set, args = append(set, "updated_at = ?"), append(args, ms(x.UpdatedAt), id)
		_, err = tx.ExecContext(ctx, d.q(`UPDATE rotations SET `+strings.Join(set, ", ")+` WHERE id = ?`), args...)
		if isUnique(err) {
			return ottr.Errorf(ottr.ECONFLICT, "asset %q already has a live rotation", x.SystemName)
		}
		if err != nil {
			return fmt.Errorf("update rotation %s: %w", id, err)
		}
		out = x
		return nil
	})
	return out, err
}

// AppendRotationLog adds lines to a rotation's log, in order.
func (d *DB) AppendRotationLog(ctx context.Context, id string, lines ...ottr.LogLine) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		var rid string
		err := tx.QueryRowContext(ctx, d.q(`SELECT id FROM rotations WHERE id = ?`+d.forUpdate()), id).Scan(&rid)
		if err == sql.ErrNoRows {
			return ottr.Errorf(ottr.ENOTFOUND, "rotation %q not found", id)
		}
		if err != nil {
			return fmt.Errorf("rotation log %s: %w", id, err)
		}
		return d.appendLog(ctx, tx, id, lines)
	})
}

// appendLog adds lines to rotation id's log in tx, which holds the
// rotation's row locked: that serialises appenders, so seq is unique.
func (d *DB) appendLog(ctx context.Context, tx *sql.Tx, id string, lines []ottr.LogLine) error {
	if len(lines) == 0 {
		return nil
	}
	var seq sql.NullInt64
	if err := tx.QueryRowContext(ctx, d.q(`SELECT MAX(seq) FROM rotation_logs WHERE rotation_id = ?`), id).Scan(&seq); err != nil {
		return fmt.Errorf("rotation log %s: %w", id, err)
	}
	n := seq.Int64
	for _, l := range lines {
		n++
		if l.Time.IsZero() {
			l.Time = d.now()
		}
		if _, err := tx.ExecContext(ctx, d.q(`INSERT INTO rotation_logs (rotation_id, seq, time, step, level, message) VALUES (?,?,?,?,?,?)`),
			id, n, ms(l.Time), string(l.Step), l.Level, l.Message); err != nil {
			return fmt.Errorf("rotation log %s: %w", id, err)
		}
	}
	return nil
}

// FindRotations lists rotations newest first, without logs.
func (d *DB) FindRotations(ctx context.Context, f ottr.RotationFilter) ([]*ottr.Rotation, string, error) {
	var where []string
	var args []any
	if f.SystemName != "" {
		where, args = append(where, "system_name = ?"), append(args, f.SystemName)
	}
	if f.State != "" {
		where, args = append(where, "state = ?"), append(args, string(f.State))
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		created, id, ok := strings.Cut(c, "/")
		var createdMS int64
		if _, err := fmt.Sscan(created, &createdMS); !ok || err != nil {
			return nil, "", ottr.Invalid("invalid cursor", ottr.Problem{Field: "cursor", Message: "not a rotation cursor"})
		}
		where = append(where, "(created_at < ? OR (created_at = ? AND id < ?))")
		args = append(args, createdMS, createdMS, id)
	}
	query, limit := pageQuery(`SELECT `+rotationSelect+` FROM rotations`, where, "created_at DESC, id DESC", f.Limit)
	rows, err := d.db.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("find rotations: %w", err)
	}
	defer rows.Close()
	var out []*ottr.Rotation
	for rows.Next() {
		x, err := scanRotation(rows)
		if err != nil {
			return nil, "", fmt.Errorf("find rotations: %w", err)
		}
		out = append(out, x)
	}
	next := ""
	if len(out) == limit {
		last := out[len(out)-1]
		next = encodeCursor(fmt.Sprintf("%d/%s", ms(last.CreatedAt), last.ID))
	}
	return out, next, rows.Err()
}
