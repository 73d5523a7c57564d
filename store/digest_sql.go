package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/ottr-dev/ottr"
)

// DigestCounts counts the failing assets and those expiring within the
// given time whose last rotation did not succeed, with up to sample names
// of each.
func (d *DB) DigestCounts(ctx context.Context, now time.Time, within time.Duration, sample int) (ottr.Digest, error) {
	dg := ottr.Digest{Day: now.UTC().Format(time.DateOnly), ExpiringWithin: within, ExpiringDays: int(within / (24 * time.Hour))}
	// The status is a literal, not a parameter, so SQLite uses the
	// partial index assets_failing.
	const failing = `FROM assets WHERE last_rotation_status = 'failed'`
	const expiring = `FROM assets WHERE certificate_expiration < ? AND last_rotation_status <> 'succeeded'`
	horizon := ms(now.Add(within))
	var err error
	if dg.Failing, dg.FailingAssets, err = d.countSample(ctx, failing, "system_name", sample); err != nil {
		return dg, fmt.Errorf("count failing assets: %w", err)
	}
	if dg.Expiring, dg.ExpiringAssets, err = d.countSample(ctx, expiring, "certificate_expiration, system_name", sample, horizon); err != nil {
		return dg, fmt.Errorf("count expiring assets: %w", err)
	}
	return dg, nil
}

// countSample counts the rows of from (a FROM … WHERE clause) and names up
// to sample of them in the given order.
func (d *DB) countSample(ctx context.Context, from, order string, sample int, args ...any) (int, []string, error) {
	var n int
	if err := d.db.QueryRowContext(ctx, d.q(`SELECT COUNT(*) `+from), args...).Scan(&n); err != nil {
		return 0, nil, err
	}
	if n == 0 || sample <= 0 {
		return n, nil, nil
	}
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT system_name `+from+` ORDER BY `+order+` LIMIT ?`), append(args, sample)...)
	if err != nil {
		return 0, nil, err
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return 0, nil, err
		}
		names = append(names, s)
	}
	return n, names, rows.Err()
}

// Get returns key's value in the kv table, "" when it has none.
func (d *DB) Get(ctx context.Context, key string) (string, error) {
	var v string
	err := d.db.QueryRowContext(ctx, d.q(`SELECT value FROM kv WHERE key = ?`), key).Scan(&v)
	if err == sql.ErrNoRows {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("get %s: %w", key, err)
	}
	return v, nil
}

// CompareAndSwap sets key to new if it holds old ("" for no value). Each
// case is one statement, which both engines run atomically: a concurrent
// update waits for the row and then no longer matches old, a concurrent
// insert finds the key taken.
func (d *DB) CompareAndSwap(ctx context.Context, key, old, new string) (bool, error) {
	if new == "" {
		return false, ottr.Errorf(ottr.EINVALID, "kv %s: an empty value cannot be stored (it means none)", key)
	}
	var res sql.Result
	var err error
	if old == "" {
		res, err = d.db.ExecContext(ctx, d.q(`INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`),
			key, new, ms(d.now()))
	} else {
		res, err = d.db.ExecContext(ctx, d.q(`UPDATE kv SET value = ?, updated_at = ? WHERE key = ? AND value = ?`),
			new, ms(d.now()), key, old)
	}
	if err != nil {
		return false, fmt.Errorf("set %s: %w", key, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("set %s: %w", key, err)
	}
	return n == 1, nil
}
