package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"

	"github.com/ottr-dev/ottr"
)

// preflight holds the Go steps that run, in the migration's transaction,
// before the SQL of the migration of that version.
var preflight = map[int]func(ctx context.Context, d *DB, tx *sql.Tx) error{
	5: normalizeUsernames,
}

// normalizeUsernames prepares migration 0005 (user names become
// case-insensitive): it gives every user name the form
// ottr.NormalizeUsername gives it, done in Go so that exactly the same
// folding applies to old names as to new ones on both engines. Names that
// would become one (admin and ADMIN) are two people's accounts, or one
// person's twice, and only an operator can say which to keep: the
// migration stops, naming them, rather than pick one or fail on the
// unique index with a database's message.
func normalizeUsernames(ctx context.Context, d *DB, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT username FROM users ORDER BY username`)
	if err != nil {
		return fmt.Errorf("read user names: %w", err)
	}
	groups := map[string][]string{}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
		k := ottr.NormalizeUsername(n)
		groups[k] = append(groups[k], n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	var clashes, deletes []string
	for k, g := range groups {
		if len(g) < 2 {
			continue
		}
		// Suggest keeping the name already in its normal form, if any.
		sort.SliceStable(g, func(i, j int) bool { return g[i] == k && g[j] != k })
		quoted := make([]string, len(g))
		for i, n := range g {
			quoted[i] = fmt.Sprintf("%q", n)
		}
		clashes = append(clashes, strings.Join(quoted, " and "))
		for _, n := range g[1:] {
			deletes = append(deletes, "'"+strings.ReplaceAll(n, "'", "''")+"'")
		}
	}
	if len(clashes) > 0 {
		sort.Strings(clashes)
		sort.Strings(deletes)
		return ottr.Errorf(ottr.ECONFLICT, "user names are now case-insensitive, and these users differ only in case: %s. "+
			"Keep one of each: delete the others in the database, e.g. DELETE FROM users WHERE username IN (%s); then start ottr again",
			strings.Join(clashes, "; "), strings.Join(deletes, ", "))
	}
	for _, n := range names {
		if k := ottr.NormalizeUsername(n); k != n {
			if _, err := tx.ExecContext(ctx, d.q(`UPDATE users SET username = ? WHERE username = ?`), k, n); err != nil {
				return fmt.Errorf("normalise user name: %w", err)
			}
		}
	}
	return nil
}
