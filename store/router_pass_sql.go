package store

import (
	"context"
	"fmt"

	"github.com/ottr-dev/ottr"
)

// routerPassesKept bounds the router_passes table: a pass an hour keeps
// about three weeks, a pass a minute the last few hours.
const routerPassesKept = 500

// RecordRouterPass stores p and forgets all but the newest passes.
func (d *DB) RecordRouterPass(ctx context.Context, p *ottr.RouterPass) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("record router pass: %w", err)
	}
	defer tx.Rollback()
	err = tx.QueryRowContext(ctx, d.q(`INSERT INTO router_passes
		(owner, started_at, finished_at, examined, due, held, routed, unrouted, queued, joined, watched, watch_failed, error)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`),
		p.Owner, ms(p.StartedAt), ms(p.FinishedAt), p.Examined, p.Due, p.Held, p.Routed, p.Unrouted,
		p.Queued, p.Joined, p.Watched, p.WatchFailed, p.Error).Scan(&p.ID)
	if err != nil {
		return fmt.Errorf("record router pass: %w", err)
	}
	if _, err := tx.ExecContext(ctx, d.q(`DELETE FROM router_passes WHERE id <= ?`), p.ID-routerPassesKept); err != nil {
		return fmt.Errorf("record router pass: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("record router pass: %w", err)
	}
	return nil
}

// RouterPasses returns up to limit passes, newest first.
func (d *DB) RouterPasses(ctx context.Context, limit int) ([]*ottr.RouterPass, error) {
	if limit <= 0 || limit > routerPassesKept {
		limit = routerPassesKept
	}
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT id, owner, started_at, finished_at, examined, due, held,
		routed, unrouted, queued, joined, watched, watch_failed, error FROM router_passes ORDER BY id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("router passes: %w", err)
	}
	defer rows.Close()
	var out []*ottr.RouterPass
	for rows.Next() {
		var p ottr.RouterPass
		var started, finished int64
		if err := rows.Scan(&p.ID, &p.Owner, &started, &finished, &p.Examined, &p.Due, &p.Held,
			&p.Routed, &p.Unrouted, &p.Queued, &p.Joined, &p.Watched, &p.WatchFailed, &p.Error); err != nil {
			return nil, fmt.Errorf("router passes: %w", err)
		}
		p.StartedAt, p.FinishedAt = fromMS(started), fromMS(finished)
		out = append(out, &p)
	}
	return out, rows.Err()
}
