package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/ottr-dev/ottr"
)

const userCols = `username, password_hash, role, created_at, updated_at, token_generation`

func scanUser(r rowScanner) (*ottr.User, error) {
	var u ottr.User
	var c, up int64
	if err := r.Scan(&u.Username, &u.PasswordHash, &u.Role, &c, &up, &u.TokenGeneration); err != nil {
		return nil, err
	}
	u.Created, u.Updated = fromMS(c), fromMS(up)
	return &u, nil
}

// CreateUser stores u with its name normalised; ECONFLICT if a user of
// that name exists in any case.
func (d *DB) CreateUser(ctx context.Context, u *ottr.User) error {
	u.Username = ottr.NormalizeUsername(u.Username)
	if u.Username == "" {
		return ottr.Invalid("invalid user", ottr.Problem{Field: "username", Message: "empty"})
	}
	now := d.now().UTC()
	if u.Created.IsZero() {
		u.Created = now
	}
	u.Updated = now
	_, err := d.db.ExecContext(ctx, d.q(`INSERT INTO users (`+userCols+`) VALUES (?,?,?,?,?,?)`),
		u.Username, u.PasswordHash, string(u.Role), ms(u.Created), ms(u.Updated), u.TokenGeneration)
	if isUnique(err) {
		return ottr.Errorf(ottr.ECONFLICT, "user %q already exists", u.Username)
	}
	if err != nil {
		return fmt.Errorf("insert user: %w", err)
	}
	return nil
}

// GetUser returns a user, named in any case; ENOTFOUND if absent.
func (d *DB) GetUser(ctx context.Context, name string) (*ottr.User, error) {
	name = ottr.NormalizeUsername(name)
	u, err := scanUser(d.db.QueryRowContext(ctx, d.q(`SELECT `+userCols+` FROM users WHERE username = ?`), name))
	if err == sql.ErrNoRows {
		return nil, ottr.Errorf(ottr.ENOTFOUND, "user %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	return u, nil
}

// ListUsers returns every user sorted by username.
func (d *DB) ListUsers(ctx context.Context) ([]*ottr.User, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	var out []*ottr.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser applies fn to the stored user in one transaction. A new
// password hash or role (or a changed TokenGeneration) raises the stored
// generation by one, which revokes the user's tokens.
func (d *DB) UpdateUser(ctx context.Context, name string, fn func(*ottr.User) error) (*ottr.User, error) {
	var out *ottr.User
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = d.updateUser(ctx, tx, name, fn)
		return err
	})
	return out, err
}

func (d *DB) updateUser(ctx context.Context, tx *sql.Tx, name string, fn func(*ottr.User) error) (*ottr.User, error) {
	name = ottr.NormalizeUsername(name)
	u, err := scanUser(tx.QueryRowContext(ctx, d.q(`SELECT `+userCols+` FROM users WHERE username = ?`+d.forUpdate()), name))
	if err == sql.ErrNoRows {
		return nil, ottr.Errorf(ottr.ENOTFOUND, "user %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get user: %w", err)
	}
	before := *u
	if err := fn(u); err != nil {
		return nil, err
	}
	if u.Username != name {
		return nil, ottr.Errorf(ottr.EINVALID, "username cannot be changed")
	}
	// The generation only ever rises: setting it back must not revive
	// revoked tokens.
	// A rehash of the same password (Rehashed) is no password change.
	revoke := (u.PasswordHash != before.PasswordHash && !u.Rehashed) || u.Role != before.Role || u.TokenGeneration != before.TokenGeneration
	u.Rehashed = false
	u.TokenGeneration, u.Updated = before.TokenGeneration, d.now().UTC()
	if revoke {
		u.TokenGeneration++
	}
	if _, err := tx.ExecContext(ctx, d.q(`UPDATE users SET password_hash = ?, role = ?, updated_at = ?, token_generation = ? WHERE username = ?`),
		u.PasswordHash, string(u.Role), ms(u.Updated), u.TokenGeneration, name); err != nil {
		return nil, fmt.Errorf("update user: %w", err)
	}
	return u, nil
}

// SetUserRole gives a user, named in any case, a role, revoking its tokens
// when the role changes (as UpdateUser). It refuses, ECONFLICT, to take
// ADMIN from the last ADMIN: nobody could manage users after. It returns
// the user as stored and as it was.
func (d *DB) SetUserRole(ctx context.Context, name string, role ottr.Role) (after, before *ottr.User, err error) {
	if !role.Valid() {
		_, err := ottr.ParseRole(string(role))
		return nil, nil, err
	}
	err = d.tx(ctx, func(tx *sql.Tx) error {
		if role != ottr.RoleAdmin {
			// Every ADMIN row is locked, so two ADMINs demoting each
			// other at once cannot both go: the second sees the first's
			// change. SQLite's transaction holds the write lock already.
			rows, err := tx.QueryContext(ctx, d.q(`SELECT username FROM users WHERE role = ?`+d.forUpdate()), string(ottr.RoleAdmin))
			if err != nil {
				return fmt.Errorf("set role: %w", err)
			}
			var admins []string
			for rows.Next() {
				var n string
				if err := rows.Scan(&n); err != nil {
					rows.Close()
					return fmt.Errorf("set role: %w", err)
				}
				admins = append(admins, n)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("set role: %w", err)
			}
			if n := ottr.NormalizeUsername(name); len(admins) == 1 && admins[0] == n {
				return ottr.Errorf(ottr.ECONFLICT, "%s is the last ADMIN: make another user ADMIN first, so that someone can still manage users", n)
			}
		}
		var err error
		after, err = d.updateUser(ctx, tx, name, func(u *ottr.User) error {
			b := *u
			before = &b
			u.Role = role
			return nil
		})
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	return after, before, nil
}

// DeleteUser removes a user, named in any case; ENOTFOUND if absent.
func (d *DB) DeleteUser(ctx context.Context, name string) error {
	name = ottr.NormalizeUsername(name)
	res, err := d.db.ExecContext(ctx, d.q(`DELETE FROM users WHERE username = ?`), name)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ottr.Errorf(ottr.ENOTFOUND, "user %q not found", name)
	}
	return nil
}
