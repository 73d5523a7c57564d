package store

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func (d *DB) migrations() ([]migration, error) {
	dir := "migrations/" + d.Dialect()
	entries, err := migrationFS.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		v, err := strconv.Atoi(strings.SplitN(e.Name(), "_", 2)[0])
		if err != nil {
			return nil, fmt.Errorf("migration %s: name must start with its version", e.Name())
		}
		body, err := migrationFS.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, strings.TrimSuffix(e.Name(), ".sql"), string(body)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// Migrate applies pending migrations, each in its own transaction, and
// returns the names applied. On PostgreSQL an advisory lock serialises
// replicas that start together.
func (d *DB) Migrate(ctx context.Context) ([]string, error) {
	return d.migrate(ctx, -1)
}

// migrate applies pending migrations up to version upTo (all when
// negative); tests use it to build a database of an older schema.
func (d *DB) migrate(ctx context.Context, upTo int) ([]string, error) {
	ms, err := d.migrations()
	if err != nil {
		return nil, err
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	if d.postgres {
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock(7477410)"); err != nil {
			return nil, fmt.Errorf("migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(7477410)")
	}
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	cur, err := currentVersion(ctx, conn)
	if err != nil {
		return nil, err
	}
	latest := ms[len(ms)-1].version
	if cur > latest {
		return nil, fmt.Errorf("database schema version %d is newer than this ottr (%d); upgrade ottr", cur, latest)
	}
	var applied []string
	for _, m := range ms {
		if m.version <= cur || (upTo >= 0 && m.version > upTo) {
			continue
		}
		tx, err := conn.BeginTx(ctx, nil)
		if err != nil {
			return applied, fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if check := preflight[m.version]; check != nil {
			if err := check(ctx, d, tx); err != nil {
				tx.Rollback()
				return applied, fmt.Errorf("migrate %s: %w", m.name, err)
			}
		}
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if _, err := tx.ExecContext(ctx, d.q("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
			m.version, m.name, ms2(d)); err != nil {
			tx.Rollback()
			return applied, fmt.Errorf("migrate %s: %w", m.name, err)
		}
		if err := tx.Commit(); err != nil {
			return applied, fmt.Errorf("migrate %s: %w", m.name, err)
		}
		applied = append(applied, m.name)
	}
	return applied, nil
}

func ms2(d *DB) int64 { return ms(d.now()) }

func currentVersion(ctx context.Context, conn *sql.Conn) (int, error) {
	var v sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&v); err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return int(v.Int64), nil
}

// MigrationStatus returns the schema version of the database and the
// latest this build knows.
func (d *DB) MigrationStatus(ctx context.Context) (current, latest int, err error) {
	ms, err := d.migrations()
	if err != nil {
		return 0, 0, err
	}
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	current, err = currentVersion(ctx, conn)
	return current, ms[len(ms)-1].version, err
}
