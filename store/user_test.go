package store

import (
	"testing"

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
		}
		for _, s := range steps {
			got, err := db.UpdateUser(ctx, "alice", s.fn)
			if err != nil {
				t.Fatalf("%s: %v", s.name, err)
			}
			if got.TokenGeneration != s.want || gen() != s.want {
				t.Errorf("%s: generation returned %d, stored %d, want %d", s.name, got.TokenGeneration, gen(), s.want)
			}
		}
	})
}
