// Package trusttest gives driver tests a real device trust store: a
// migrated SQLite database in a temporary directory.
package trusttest

import (
	"testing"

	"github.com/ottr-dev/ottr/store"
)

// Store opens a fresh migrated store for t, closed when t ends.
func Store(t testing.TB) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}
