package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"

	"github.com/ottr-dev/ottr"
)

func nullJSON(b []byte) sql.NullString {
	if len(b) == 0 {
		return sql.NullString{}
	}
	return sql.NullString{String: string(b), Valid: true}
}

// RecordEvent appends e to the audit log, setting its ID and Time.
func (d *DB) RecordEvent(ctx context.Context, e *ottr.Event) error {
	if e.Time.IsZero() {
		e.Time = d.now().UTC()
	}
	query := `INSERT INTO audit_events (time, actor, action, resource, before, after) VALUES (?,?,?,?,?,?) RETURNING id`
	err := d.db.QueryRowContext(ctx, d.q(query), ms(e.Time), e.Actor, e.Action, e.Resource, nullJSON(e.Before), nullJSON(e.After)).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("record audit event: %w", err)
	}
	return nil
}

// FindEvents lists audit events newest first.
func (d *DB) FindEvents(ctx context.Context, f ottr.EventFilter) ([]*ottr.Event, string, error) {
	var where []string
	var args []any
	for col, v := range map[string]string{"actor": f.Actor, "action": f.Action, "resource": f.Resource} {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	if !f.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, ms(f.Since))
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor)
		id, perr := strconv.ParseInt(c, 10, 64)
		if err != nil || perr != nil {
			return nil, "", ottr.Invalid("invalid cursor", ottr.Problem{Field: "cursor", Message: "not an event cursor"})
		}
		where, args = append(where, "id < ?"), append(args, id)
	}
	query, limit := pageQuery(`SELECT id, time, actor, action, resource, before, after FROM audit_events`, where, "id DESC", f.Limit)
	rows, err := d.db.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return nil, "", fmt.Errorf("find events: %w", err)
	}
	defer rows.Close()
	var out []*ottr.Event
	for rows.Next() {
		var e ottr.Event
		var t int64
		var before, after sql.NullString
		if err := rows.Scan(&e.ID, &t, &e.Actor, &e.Action, &e.Resource, &before, &after); err != nil {
			return nil, "", err
		}
		e.Time = fromMS(t)
		if before.Valid {
			e.Before = []byte(before.String)
		}
		if after.Valid {
			e.After = []byte(after.String)
		}
		out = append(out, &e)
	}
	next := ""
	if len(out) == limit {
		next = encodeCursor(strconv.FormatInt(out[len(out)-1].ID, 10))
	}
	return out, next, rows.Err()
}
