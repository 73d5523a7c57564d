package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/ottr-dev/ottr"
)

var _ ottr.WatchStore = (*DB)(nil)

// RecordObservations writes what a watch pass read, all of obs in one
// transaction. The reading time of the certificates seen again is one
// statement for all of them, and so is the mark on the assets that lack
// it (setting it where it is already would rewrite the index entry);
// only a new certificate rewrites the certificate's columns, a statement
// each, and counts as a change of the asset (updated_at).
func (d *DB) RecordObservations(ctx context.Context, obs []ottr.Observation) error {
	if len(obs) == 0 {
		return nil
	}
	// A rotation recorded at or after the reading (a route was added
	// meanwhile) has put a newer certificate on the asset than the one
	// read.
	const fresh = ` AND (last_rotation_time IS NULL OR last_rotation_time < ?)`
	type batch struct{ seen, all []any }
	byAt := map[int64]*batch{} // one pass shares one At
	var changed []ottr.Observation
	for _, o := range obs {
		at := ms(o.At)
		b := byAt[at]
		if b == nil {
			b = &batch{}
			byAt[at] = b
		}
		b.all = append(b.all, o.SystemName)
		switch {
		case o.Changed:
			changed = append(changed, o)
		case !o.Unread:
			b.seen = append(b.seen, o.SystemName)
		}
	}
	in := func(n int) string { return `system_name IN (?` + strings.Repeat(",?", n-1) + `)` }
	return d.tx(ctx, func(tx *sql.Tx) error {
		for at, b := range byAt {
			if len(b.seen) > 0 {
				if _, err := tx.ExecContext(ctx, d.q(`UPDATE assets SET certificate_observed_at = ? WHERE `+in(len(b.seen))+fresh),
					append(append([]any{at}, b.seen...), at)...); err != nil {
					return fmt.Errorf("record observations: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, d.q(`UPDATE assets SET monitored = ? WHERE `+in(len(b.all))+` AND NOT monitored`+fresh),
				append(append([]any{true}, b.all...), at)...); err != nil {
				return fmt.Errorf("record observations: %w", err)
			}
		}
		if len(changed) == 0 {
			return nil
		}
		// The renewal window was the CA's advice for the certificate
		// that is gone.
		stmt, err := tx.PrepareContext(ctx, d.q(`UPDATE assets SET certificate_observed_at = ?,
			certificate_expiration = ?, certificate_not_before = ?, certificate_serial = ?, certificate_issuer = ?,
			renewal_window_start = NULL, renewal_window_end = NULL, renewal_window_url = '', renewal_window_cert_id = '',
			renewal_window_check_after = NULL, updated_at = ? WHERE system_name = ?`+fresh))
		if err != nil {
			return fmt.Errorf("record observations: %w", err)
		}
		defer stmt.Close()
		for _, o := range changed {
			if _, err := stmt.ExecContext(ctx, ms(o.At), ms(o.NotAfter), ms(o.NotBefore), o.Serial, o.Issuer,
				ms(d.now()), o.SystemName, ms(o.At)); err != nil {
				return fmt.Errorf("record observation of %s: %w", o.SystemName, err)
			}
		}
		return nil
	})
}

// monitoredWhere selects the monitored assets as the partial index
// assets_monitored is written, so each engine's planner uses it.
func (d *DB) monitoredWhere() string {
	if d.postgres {
		return "monitored"
	}
	return "monitored = 1"
}

// clearBatch is how many assets one statement of ClearMonitored clears.
const clearBatch = 500

// ClearMonitored reads the monitored assets from their partial index,
// asks routed about each, and clears the flag on those it says a route
// serves, a batch of names per statement.
func (d *DB) ClearMonitored(ctx context.Context, routed func(*ottr.Asset) bool) (int, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT system_name, host_platform, os_version, device_model, certificate_authority
		FROM assets WHERE `+d.monitoredWhere())
	if err != nil {
		return 0, fmt.Errorf("monitored assets: %w", err)
	}
	var names []string
	var a ottr.Asset
	for rows.Next() {
		if err := rows.Scan(&a.SystemName, &a.HostPlatform, &a.OSVersion, &a.DeviceModel, &a.CertificateAuthority); err != nil {
			rows.Close()
			return 0, fmt.Errorf("monitored assets: %w", err)
		}
		if routed(&a) {
			names = append(names, a.SystemName)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("monitored assets: %w", err)
	}
	// Written after the rows are closed: SQLite in memory has one
	// connection.
	n := 0
	for len(names) > 0 {
		batch := names[:min(clearBatch, len(names))]
		names = names[len(batch):]
		args := make([]any, 0, len(batch)+1)
		args = append(args, false)
		for _, name := range batch {
			args = append(args, name)
		}
		res, err := d.db.ExecContext(ctx, d.q(`UPDATE assets SET monitored = ? WHERE system_name IN (?`+
			strings.Repeat(",?", len(batch)-1)+`)`), args...)
		if err != nil {
			return n, fmt.Errorf("clear monitored: %w", err)
		}
		c, _ := res.RowsAffected()
		n += int(c)
	}
	return n, nil
}

// ClaimExpiryAlert claims the alert in one conditional update: the row
// changes only for the certificate recorded, and only if this alert (or,
// for a warning that the certificate nears expiry, the one that it has
// expired) was not claimed for it yet.
func (d *DB) ClaimExpiryAlert(ctx context.Context, name string, x ottr.ExpiryAlerted) (bool, error) {
	na := ms(x.NotAfter.Time)
	res, err := d.db.ExecContext(ctx, d.q(`UPDATE assets SET expiry_alerted = ?, expiry_alerted_expired = ?
		WHERE system_name = ? AND certificate_expiration = ?
		AND (expiry_alerted IS NULL OR expiry_alerted <> ? OR (? AND NOT expiry_alerted_expired))`),
		na, x.Expired, name, na, na, x.Expired)
	if err != nil {
		return false, fmt.Errorf("claim expiry alert of %s: %w", name, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim expiry alert of %s: %w", name, err)
	}
	return n == 1, nil
}
