package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/ottr-dev/ottr"
)

func (d *DB) needSealer() error {
	if d.sealer == nil {
		return errors.New("store opened without a master key; secrets are unavailable")
	}
	return nil
}

// PutSecret seals value under name, replacing any previous value.
func (d *DB) PutSecret(ctx context.Context, name string, value []byte) error {
	if err := d.needSealer(); err != nil {
		return err
	}
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO secrets (name, sealed, updated_at) VALUES (?,?,?)
		ON CONFLICT (name) DO UPDATE SET sealed = excluded.sealed, updated_at = excluded.updated_at`),
		name, d.sealer.Seal(name, value), ms(d.now()))
	if err != nil {
		return fmt.Errorf("put secret %s: %w", name, err)
	}
	return nil
}

// CreateSecret seals value under name; ECONFLICT if name exists.
func (d *DB) CreateSecret(ctx context.Context, name string, value []byte) error {
	if err := d.needSealer(); err != nil {
		return err
	}
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO secrets (name, sealed, updated_at) VALUES (?,?,?)`),
		name, d.sealer.Seal(name, value), ms(d.now()))
	if isUnique(err) {
		return ottr.Errorf(ottr.ECONFLICT, "secret %s already exists", name)
	}
	if err != nil {
		return fmt.Errorf("create secret %s: %w", name, err)
	}
	return nil
}

// GetSecret opens the value under name; ENOTFOUND if absent.
func (d *DB) GetSecret(ctx context.Context, name string) ([]byte, error) {
	if err := d.needSealer(); err != nil {
		return nil, err
	}
	var sealed []byte
	err := d.db.QueryRowContext(ctx, d.q(`SELECT sealed FROM secrets WHERE name = ?`), name).Scan(&sealed)
	if err == sql.ErrNoRows {
		return nil, ottr.Errorf(ottr.ENOTFOUND, "secret %s not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get secret %s: %w", name, err)
	}
	v, err := d.sealer.Open(name, sealed)
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "secret %s: %v; is the master key (OTTR_MASTER_KEY or master.key in data_dir) the one this database was created with?", name, err)
	}
	return v, nil
}

// DeleteSecret removes name; ENOTFOUND if absent.
func (d *DB) DeleteSecret(ctx context.Context, name string) error {
	res, err := d.db.ExecContext(ctx, d.q(`DELETE FROM secrets WHERE name = ?`), name)
	if err != nil {
		return fmt.Errorf("delete secret %s: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ottr.Errorf(ottr.ENOTFOUND, "secret %s not found", name)
	}
	return nil
}

// ListSecrets returns the names starting with prefix, sorted. Values stay
// sealed.
func (d *DB) ListSecrets(ctx context.Context, prefix string) ([]string, error) {
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT name FROM secrets WHERE name LIKE ? ESCAPE '\' ORDER BY name`),
		likePrefix(prefix)+"%")
	if err != nil {
		return nil, fmt.Errorf("list secrets: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// likePrefix escapes LIKE's wildcards (and the escape character) in s.
func likePrefix(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
