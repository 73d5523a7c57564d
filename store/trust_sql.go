package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/ottr-dev/ottr"
)

const trustCols = `system_name, fingerprint, pending, needs_approval, updated_at`

// GetTrust returns a device's trust record; ENOTFOUND if it has none.
func (d *DB) GetTrust(ctx context.Context, name string) (*ottr.DeviceTrust, error) {
	var t ottr.DeviceTrust
	var up int64
	err := d.db.QueryRowContext(ctx, d.q(`SELECT `+trustCols+` FROM device_trust WHERE system_name = ?`), name).
		Scan(&t.SystemName, &t.Fingerprint, &t.Pending, &t.NeedsApproval, &up)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ottr.Errorf(ottr.ENOTFOUND, "no trust record for %s", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get trust %s: %w", name, err)
	}
	t.Updated = fromMS(up)
	return &t, nil
}

// CreateTrust stores a new record; ECONFLICT if the device has one.
func (d *DB) CreateTrust(ctx context.Context, t *ottr.DeviceTrust) error {
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO device_trust (`+trustCols+`) VALUES (?,?,?,?,?)`),
		t.SystemName, t.Fingerprint, t.Pending, t.NeedsApproval, ms(t.Updated))
	if isUnique(err) {
		return ottr.Errorf(ottr.ECONFLICT, "%s already has a trust record", t.SystemName)
	}
	if err != nil {
		return fmt.Errorf("create trust %s: %w", t.SystemName, err)
	}
	return nil
}

// PutTrust stores t, replacing the device's record.
func (d *DB) PutTrust(ctx context.Context, t *ottr.DeviceTrust) error {
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO device_trust (`+trustCols+`) VALUES (?,?,?,?,?)
		ON CONFLICT (system_name) DO UPDATE SET fingerprint = excluded.fingerprint, pending = excluded.pending,
		needs_approval = excluded.needs_approval, updated_at = excluded.updated_at`),
		t.SystemName, t.Fingerprint, t.Pending, t.NeedsApproval, ms(t.Updated))
	if err != nil {
		return fmt.Errorf("put trust %s: %w", t.SystemName, err)
	}
	return nil
}

// DeleteTrust forgets a device's record; no error when it has none.
func (d *DB) DeleteTrust(ctx context.Context, name string) error {
	if _, err := d.db.ExecContext(ctx, d.q(`DELETE FROM device_trust WHERE system_name = ?`), name); err != nil {
		return fmt.Errorf("delete trust %s: %w", name, err)
	}
	return nil
}

var _ ottr.TrustStore = (*DB)(nil)
