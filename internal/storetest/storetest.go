// Package storetest opens the real store for tests of other packages: a
// migrated SQLite database in a temporary directory, with a fixed master
// key so sealed secrets work.
package storetest

import (
	"bytes"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/store"
)

// Open opens a fresh migrated store for t, closed when t ends.
func Open(t testing.TB) *store.DB {
	t.Helper()
	s, err := ottr.NewSealer(bytes.Repeat([]byte{4}, 32))
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir(), Sealer: s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return db
}
