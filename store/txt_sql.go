package store

import (
	"context"
	"fmt"
	"time"
)

// PutTXT adds value at name until expires; an existing value gets the new
// expiry.
func (d *DB) PutTXT(ctx context.Context, name, value string, expires time.Time) error {
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO dns_txt (name, value, expires_at) VALUES (?,?,?)
		ON CONFLICT (name, value) DO UPDATE SET expires_at = excluded.expires_at`), name, value, ms(expires))
	if err != nil {
		return fmt.Errorf("put TXT %s: %w", name, err)
	}
	return nil
}

// DeleteTXT removes value at name, and any record that has expired.
func (d *DB) DeleteTXT(ctx context.Context, name, value string) error {
	_, err := d.db.ExecContext(ctx, d.q(`DELETE FROM dns_txt WHERE (name = ? AND value = ?) OR expires_at <= ?`),
		name, value, ms(d.now()))
	if err != nil {
		return fmt.Errorf("delete TXT %s: %w", name, err)
	}
	return nil
}

// LookupTXT returns the values at name unexpired at now, and whether name
// exists: it has values, or a name below it has (an empty non-terminal).
func (d *DB) LookupTXT(ctx context.Context, name string, now time.Time) ([]string, bool, error) {
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT value FROM dns_txt WHERE name = ? AND expires_at > ? ORDER BY value`),
		name, ms(now))
	if err != nil {
		return nil, false, fmt.Errorf("lookup TXT %s: %w", name, err)
	}
	defer rows.Close()
	var vals []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			return nil, false, err
		}
		vals = append(vals, v)
	}
	if err := rows.Err(); err != nil {
		return nil, false, err
	}
	if len(vals) > 0 {
		return vals, true, nil
	}
	var one int
	err = d.db.QueryRowContext(ctx, d.q(`SELECT 1 FROM dns_txt WHERE name LIKE ? ESCAPE '\' AND expires_at > ? LIMIT 1`),
		"%."+likePrefix(name), ms(now)).Scan(&one)
	if err != nil {
		return nil, false, nil // sql.ErrNoRows: the name does not exist
	}
	return nil, true, nil
}
