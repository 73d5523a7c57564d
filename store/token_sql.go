package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// RevokeToken records that the token with ID id is refused until expires,
// and forgets the revocations of tokens that have expired since.
func (d *DB) RevokeToken(ctx context.Context, id string, expires time.Time) error {
	if _, err := d.db.ExecContext(ctx, d.q(`INSERT INTO revoked_tokens (id, expires_at) VALUES (?,?) ON CONFLICT (id) DO NOTHING`),
		id, ms(expires)); err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	if _, err := d.db.ExecContext(ctx, d.q(`DELETE FROM revoked_tokens WHERE expires_at < ?`), ms(d.now())); err != nil {
		return fmt.Errorf("prune revoked tokens: %w", err)
	}
	return nil
}

// TokenRevoked reports whether the token with ID id was revoked.
func (d *DB) TokenRevoked(ctx context.Context, id string) (bool, error) {
	var one int
	err := d.db.QueryRowContext(ctx, d.q(`SELECT 1 FROM revoked_tokens WHERE id = ?`), id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("check token revocation: %w", err)
	}
	return true, nil
}
