package store_test

import (
	"os"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/store"
)

// TestMemoryDatabase: the in-memory database commands that only read open
// where none exists is one database across calls, writes nothing to disk,
// and migrates like a file.
func TestMemoryDatabase(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	db, err := store.Open(t.Context(), store.Config{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	cur, latest, err := db.MigrationStatus(t.Context())
	if err != nil || cur != latest {
		t.Fatalf("schema %d of %d: %v", cur, latest, err)
	}
	if err := db.CreateAsset(t.Context(), &ottr.Asset{SystemName: "fw01.example.com", CommonName: "fw01.example.com",
		CertificateAuthority: "lets_encrypt", HostPlatform: "panos"}); err != nil {
		t.Fatal(err)
	}
	if a, err := db.GetAsset(t.Context(), "fw01.example.com"); err != nil || a.HostPlatform != "panos" {
		t.Errorf("read back: %+v %v", a, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("memory database wrote %v", ents)
	}
}
