package store

import (
	"testing"
	"time"
)

// TestTokenRevocations: a revoked token stays revoked until its expiry,
// revoking twice is no error, and a revocation past its token's expiry is
// forgotten at the next revocation.
func TestTokenRevocations(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		if got, err := db.TokenRevoked(ctx, "a"); err != nil || got {
			t.Fatalf("never revoked: %v %v", got, err)
		}
		if err := db.RevokeToken(ctx, "a", testNow.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := db.RevokeToken(ctx, "a", testNow.Add(30*time.Minute)); err != nil {
			t.Errorf("revoking twice: %v", err)
		}
		if err := db.RevokeToken(ctx, "old", testNow.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, err := db.TokenRevoked(ctx, "a"); err != nil || !got {
			t.Errorf("revoked: %v %v", got, err)
		}
		if err := db.RevokeToken(ctx, "b", testNow.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM revoked_tokens`).Scan(&n); err != nil || n != 2 {
			t.Errorf("%d revocations kept (%v), want 2: the expired one pruned", n, err)
		}
		if got, _ := db.TokenRevoked(ctx, "b"); !got {
			t.Error("second token not revoked")
		}
	})
}
