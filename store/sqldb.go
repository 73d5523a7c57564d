package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
	"github.com/ottr-dev/ottr"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Config says which database to open.
type Config struct {
	// DataDir holds the SQLite file ottr.db when DSN is empty.
	DataDir string
	// DSN is a postgres:// or postgresql:// URL; empty means SQLite.
	DSN    string
	Logger *slog.Logger     // nil = discard
	Now    func() time.Time // nil = time.Now
	// Sealer encrypts secrets at rest; without one the secret methods
	// return an error.
	Sealer *ottr.Sealer
	// MaxConns caps the PostgreSQL connections this process opens for
	// the store (0: DefaultMaxConns). SQLite is not capped.
	MaxConns int
	// Memory opens an empty SQLite database that lives in memory only
	// (DataDir and DSN unused): what a command that only reads sees where
	// no database exists yet, without creating one on disk.
	Memory bool
}

// DefaultMaxConns is the store's PostgreSQL pool size: several replicas
// with dozens of workers each must fit in the server's max_connections
// (100 by default) beside the job queue's own pools.
const DefaultMaxConns = 25

// MinMaxConns is the smallest pool the store runs with: two scans whose
// callbacks write (a periodic router pass and one asked for) each hold
// two connections.
const MinMaxConns = 4

// DB is Ottr's database. It implements ottr.AssetStore, ottr.RotationStore,
// ottr.UserStore, ottr.AuditLog, ottr.SecretStore and ottr.TXTStore.
type DB struct {
	db       *sql.DB
	postgres bool
	now      func() time.Time
	log      *slog.Logger
	sealer   *ottr.Sealer
}

var (
	_ ottr.AssetStore    = (*DB)(nil)
	_ ottr.RotationStore = (*DB)(nil)
	_ ottr.UserStore     = (*DB)(nil)
	_ ottr.AuditLog      = (*DB)(nil)
	_ ottr.SecretStore   = (*DB)(nil)
	_ ottr.TXTStore      = (*DB)(nil)

	_ ottr.RenewalWindowFinder = (*DB)(nil)
	_ ottr.DigestCounter       = (*DB)(nil)
	_ ottr.KV                  = (*DB)(nil)
)

// Open opens and pings the database; it does not migrate.
func Open(ctx context.Context, c Config) (*DB, error) {
	d := &DB{now: c.Now, log: c.Logger, sealer: c.Sealer}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	var err error
	switch {
	case c.Memory:
		d.db, err = sql.Open("sqlite", "file:ottr?mode=memory&_pragma=foreign_keys(1)")
		if err == nil {
			// Each connection to a memory database is a database of its
			// own: keep one.
			d.db.SetMaxOpenConns(1)
		}
	case c.DSN == "":
		if c.DataDir == "" {
			return nil, ottr.Errorf(ottr.EINVALID, "data_dir: empty, and no database DSN given")
		}
		if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
			return nil, ottr.Errorf(ottr.EINVALID, "data_dir: %v", err)
		}
		path := filepath.Join(c.DataDir, "ottr.db")
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600); err == nil {
			f.Close()
		}
		// WAL lets the router read while rotations write; immediate
		// transactions avoid lock upgrades that fail under contention.
		dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)" +
			"&_pragma=foreign_keys(1)&_pragma=cache_size(-65536)&_pragma=mmap_size(1073741824)&_txlock=immediate"
		d.db, err = sql.Open("sqlite", dsn)
	case strings.HasPrefix(c.DSN, "postgres://") || strings.HasPrefix(c.DSN, "postgresql://"):
		d.postgres = true
		d.db, err = sql.Open("pgx", c.DSN)
	default:
		return nil, ottr.Errorf(ottr.EINVALID, "database: want a postgres:// DSN, or none for SQLite in data_dir")
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %s", redactDSN(err.Error(), c.DSN))
	}
	// database/sql keeps only two idle connections by default: under
	// concurrent API requests it opened and closed connections all the
	// time, and each new SQLite connection starts with a cold page cache
	// (a third of the search benchmark's CPU).
	d.db.SetMaxIdleConns(16)
	if d.postgres {
		// Capped: uncapped, every busy worker held a server connection
		// and three replicas ran PostgreSQL out of them ("too many
		// clients"). No store method asks for a second connection while
		// it holds one in a transaction, but a scan holds its rows while
		// its callback writes (a router pass creating rotations, labels
		// loaded per asset): two at once need four connections, hence
		// the floor of MinMaxConns.
		n := c.MaxConns
		if n <= 0 {
			n = DefaultMaxConns
		}
		n = max(n, MinMaxConns)
		d.db.SetMaxOpenConns(n)
		d.db.SetMaxIdleConns(min(16, n))
	}
	d.db.SetConnMaxIdleTime(5 * time.Minute)
	if err := d.db.PingContext(ctx); err != nil {
		d.db.Close()
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "connect to %s: %s", d.Dialect(), redactDSN(err.Error(), c.DSN))
	}
	return d, nil
}

// redactDSN removes the DSN's password from a driver message.
func redactDSN(msg, dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return msg
	}
	if pw, ok := u.User.Password(); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return msg
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Dialect returns "sqlite" or "postgres".
func (d *DB) Dialect() string {
	if d.postgres {
		return "postgres"
	}
	return "sqlite"
}

// q rebinds '?' placeholders to $n for PostgreSQL.
func (d *DB) q(query string) string {
	if !d.postgres {
		return query
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}

// tx runs fn in a transaction, committing when it returns nil.
func (d *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// forUpdate locks the selected row on PostgreSQL; SQLite's immediate
// transactions already hold the write lock.
func (d *DB) forUpdate() string {
	if d.postgres {
		return " FOR UPDATE"
	}
	return ""
}

func isUnique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t *ottr.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func toTime(v sql.NullInt64) *ottr.Time {
	if !v.Valid {
		return nil
	}
	return &ottr.Time{Time: fromMS(v.Int64)}
}

func nullStd(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func toStd(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

const (
	defaultLimit = 100
	maxLimit     = 10000
)

// pageQuery completes a listing: the AND of where, the order, and the page
// size (default 100, at most 10,000), which it returns.
func pageQuery(base string, where []string, order string, limit int) (string, int) {
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	if len(where) > 0 {
		base += " WHERE " + strings.Join(where, " AND ")
	}
	return fmt.Sprintf("%s ORDER BY %s LIMIT %d", base, order, limit), limit
}
