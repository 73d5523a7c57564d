package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestDatabaseMaxConnectionsConfig: database_max_connections is read from
// the file and the environment, and nonsense is refused by its key.
func TestDatabaseMaxConnectionsConfig(t *testing.T) {
	noEnv := func(string) string { return "" }
	cfg := filepath.Join(t.TempDir(), "ottr.yaml")
	os.WriteFile(cfg, []byte("database_max_connections: 40\n"), 0o644)
	if c, err := loadConfig(cfg, noEnv); err != nil || c.DatabaseMaxConnections != 40 {
		t.Errorf("from the file: %d, %v; want 40", c.DatabaseMaxConnections, err)
	}
	env := func(k string) string { return map[string]string{"OTTR_DATABASE_MAX_CONNECTIONS": "12"}[k] }
	if c, err := loadConfig(cfg, env); err != nil || c.DatabaseMaxConnections != 12 {
		t.Errorf("from the environment: %d, %v; want 12", c.DatabaseMaxConnections, err)
	}
	for _, bad := range []string{"-1", "1", "3", "5000"} {
		os.WriteFile(cfg, []byte("database_max_connections: "+bad+"\n"), 0o644)
		if _, err := loadConfig(cfg, noEnv); ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "database_max_connections") {
			t.Errorf("database_max_connections %s: %v; want EINVALID naming the key", bad, err)
		}
	}
}
