package store

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

// TestTokenGeneration checks that a user's token generation moves exactly
// when their tokens must stop working: a new password or a new role (or an
// explicit bump), never on an update that changes neither.
func TestTokenGeneration(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		if err := db.CreateUser(ctx, &ottr.User{Username: "alice", Role: ottr.RoleDeveloper, PasswordHash: "h1"}); err != nil {
			t.Fatal(err)
		}
		gen := func() int64 {
			t.Helper()
			u, err := db.GetUser(ctx, "alice")
			if err != nil {
				t.Fatal(err)
			}
			return u.TokenGeneration
		}
		if g := gen(); g != 0 {
			t.Fatalf("new user's generation = %d, want 0 (tokens without the claim are generation 0)", g)
		}
		steps := []struct {
			name string
			fn   func(*ottr.User) error
			want int64
		}{
			{"no change", func(*ottr.User) error { return nil }, 0},
			{"same role", func(u *ottr.User) error { u.Role = ottr.RoleDeveloper; return nil }, 0},
			{"role change", func(u *ottr.User) error { u.Role = ottr.RoleAdmin; return nil }, 1},
			{"password change", func(u *ottr.User) error { u.PasswordHash = "h2"; return nil }, 2},
			{"same password hash", func(u *ottr.User) error { u.PasswordHash = "h2"; return nil }, 2},
			{"both at once", func(u *ottr.User) error { u.PasswordHash, u.Role = "h3", ottr.RoleDeveloper; return nil }, 3},
			{"explicit revocation", func(u *ottr.User) error { u.TokenGeneration++; return nil }, 4},
			// A caller cannot move the generation back to revive old tokens.
			{"set back", func(u *ottr.User) error { u.TokenGeneration = 0; return nil }, 5},
			// The same password under a new hash (an Ottr bcrypt hash
			// upgraded at login) is no password change.
			{"rehash", func(u *ottr.User) error { u.PasswordHash, u.Rehashed = "h4", true; return nil }, 5},
			{"rehash with a role change", func(u *ottr.User) error { u.PasswordHash, u.Rehashed, u.Role = "h5", true, ottr.RoleAdmin; return nil }, 6},
		}
		for _, s := range steps {
			got, err := db.UpdateUser(ctx, "alice", s.fn)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got.TokenGeneration != s.want || gen() != s.want {
				t.Errorf("%s: generation returned %d, stored %d, want %d", s.name, got.TokenGeneration, gen(), s.want)
			}
			if got.Rehashed {
				t.Errorf("%s: Rehashed came back set; it is never stored", s.name)
			}
		}
	})
}

// TestUsernamesCaseInsensitive checks that user names are one name
// whatever their case or surrounding blanks: stored lower-case, found and
// changed in any case, and never twice.
func TestUsernamesCaseInsensitive(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		u := &ottr.User{Username: " Admin ", Role: ottr.RoleAdmin, PasswordHash: "h"}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		if u.Username != "admin" {
			t.Errorf("created user's name = %q, want it stored as %q", u.Username, "admin")
		}
		for _, dup := range []string{"admin", "ADMIN", "aDmIn", "admin\t"} {
			if err := db.CreateUser(ctx, &ottr.User{Username: dup, Role: ottr.RoleDeveloper, PasswordHash: "h"}); ottr.ErrorCode(err) != ottr.ECONFLICT {
				t.Errorf("create %q beside admin: %v, want ECONFLICT", dup, err)
			}
		}
		got, err := db.GetUser(ctx, "ADMIN")
		if err != nil || got.Username != "admin" {
			t.Errorf("get ADMIN: %+v %v", got, err)
		}
		if _, err := db.UpdateUser(ctx, "Admin", func(u *ottr.User) error { u.PasswordHash = "h2"; return nil }); err != nil {
			t.Errorf("update Admin: %v", err)
		}
		users, _ := db.ListUsers(ctx)
		var names []string
		for _, u := range users {
			names = append(names, u.Username)
		}
		if diff := cmp.Diff([]string{"admin"}, names); diff != "" {
			t.Errorf("users (-want +got):\n%s", diff)
		}
		if err := db.DeleteUser(ctx, "ADMIN"); err != nil {
			t.Errorf("delete ADMIN: %v", err)
		}
		if _, err := db.GetUser(ctx, "admin"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("after delete: %v", err)
		}
	})
}

// TestMigrateUserNames checks migration 0005 on databases made before user
// names were case-insensitive: names are lower-cased when that merges no
// two users; when it would, the migration stops, names the users and says
// what to do, and changes nothing until they are fixed.
func TestMigrateUserNames(t *testing.T) {
	forEachEngineConfig(t, func(t *testing.T, c Config) {
		ctx := t.Context()
		db, err := Open(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.migrate(ctx, 4); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"Alice", "bob", "admin", "ADMIN"} {
			if _, err := db.db.ExecContext(ctx, db.q(`INSERT INTO users (username, password_hash, role, created_at, updated_at) VALUES (?, 'h', 'ADMIN', 0, 0)`), n); err != nil {
				t.Fatal(err)
			}
		}
		_, err = db.Migrate(ctx)
		if ottr.ErrorCode(err) != ottr.ECONFLICT || !strings.Contains(err.Error(), `"ADMIN"`) || !strings.Contains(err.Error(), `"admin"`) ||
			!strings.Contains(err.Error(), "DELETE FROM users") || strings.Contains(err.Error(), "Alice") {
			t.Fatalf("migrate with admin and ADMIN: %v; want ECONFLICT naming both and how to fix it", err)
		}
		if cur, _, _ := db.MigrationStatus(ctx); cur != 4 {
			t.Errorf("schema version after a refused migration = %d, want 4", cur)
		}
		if _, err := db.db.ExecContext(ctx, `DELETE FROM users WHERE username = 'ADMIN'`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatalf("migrate once the clash is gone: %v", err)
		}
		for _, n := range []string{"alice", "ALICE", "Bob", "admin"} {
			if u, err := db.GetUser(ctx, n); err != nil || u.Username != strings.ToLower(n) || u.TokenGeneration != 0 {
				t.Errorf("get %q after migration: %+v %v", n, u, err)
			}
		}
		// The unique index holds even for a row written without Ottr's
		// normalisation.
		if _, err := db.db.ExecContext(ctx, db.q(`INSERT INTO users (username, password_hash, role, created_at, updated_at) VALUES (?, 'h', 'ADMIN', 0, 0)`), "BOB"); !isUnique(err) {
			t.Errorf("raw insert of BOB beside bob: %v, want a unique violation", err)
		}
	})
}
