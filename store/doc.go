// Package store keeps Ottr's inventory, rotations, users and audit events on
// database/sql: SQLite (modernc.org/sqlite, pure Go) by default, PostgreSQL
// (pgx) by DSN. Queries are written once with '?' placeholders and rebound
// for PostgreSQL. Times are stored as unix milliseconds on both engines.
package store
