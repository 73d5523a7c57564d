package store

import (
	"strings"
	"sync"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestSetUserRole: a role change is stored and revokes the user's tokens;
// the same role changes nothing; the last ADMIN keeps ADMIN; an unknown
// role or user is refused.
func TestSetUserRole(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		for _, u := range []*ottr.User{{Username: "root", Role: ottr.RoleAdmin}, {Username: "dev", Role: ottr.RoleDeveloper}} {
			u.PasswordHash = "h"
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		after, before, err := db.SetUserRole(ctx, "DEV", ottr.RolePrivileged)
		if err != nil || after.Role != ottr.RolePrivileged || before.Role != ottr.RoleDeveloper || after.TokenGeneration != 1 {
			t.Fatalf("promote: %+v %+v %v", after, before, err)
		}
		if got, _ := db.GetUser(ctx, "dev"); got.Role != ottr.RolePrivileged || got.TokenGeneration != 1 {
			t.Errorf("stored: %+v", got)
		}
		if after, _, err := db.SetUserRole(ctx, "dev", ottr.RolePrivileged); err != nil || after.TokenGeneration != 1 {
			t.Errorf("same role again: %+v %v; want no revocation", after, err)
		}
		// root is the only ADMIN: it cannot lose the role, to any other.
		for _, r := range []ottr.Role{ottr.RolePrivileged, ottr.RoleDeveloper} {
			_, _, err := db.SetUserRole(ctx, "Root", r)
			if ottr.ErrorCode(err) != ottr.ECONFLICT || !strings.Contains(ottr.ErrorMessage(err), "root is the last ADMIN") {
				t.Errorf("demote the last ADMIN to %s: %v; want ECONFLICT naming it", r, err)
			}
		}
		if got, _ := db.GetUser(ctx, "root"); got.Role != ottr.RoleAdmin || got.TokenGeneration != 0 {
			t.Errorf("the refused demotion changed root: %+v", got)
		}
		if _, _, err := db.SetUserRole(ctx, "root", ottr.RoleAdmin); err != nil {
			t.Errorf("the last ADMIN kept ADMIN: %v", err)
		}
		// With a second ADMIN the first may go.
		if _, _, err := db.SetUserRole(ctx, "dev", ottr.RoleAdmin); err != nil {
			t.Fatal(err)
		}
		if after, _, err := db.SetUserRole(ctx, "root", ottr.RoleDeveloper); err != nil || after.Role != ottr.RoleDeveloper {
			t.Errorf("demote one of two ADMINs: %+v %v", after, err)
		}
		if _, _, err := db.SetUserRole(ctx, "nobody", ottr.RoleAdmin); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("absent user: %v", err)
		}
		if _, _, err := db.SetUserRole(ctx, "nobody", ottr.RoleDeveloper); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("absent user demoted: %v", err)
		}
		_, _, err = db.SetUserRole(ctx, "dev", "ROOT")
		if probs := ottr.ErrorProblems(err); ottr.ErrorCode(err) != ottr.EINVALID || len(probs) != 1 || probs[0].Field != "role" {
			t.Errorf("unknown role: %v %+v", err, probs)
		}
	})
}

// TestSetUserRoleRace: two ADMINs, the only ones, demote each other at
// the same moment; one demotion goes and the other is refused, so an
// ADMIN remains.
func TestSetUserRoleRace(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		for round := range 10 {
			a, b := "a", "b"
			for _, n := range []string{a, b} {
				db.DeleteUser(ctx, n)
				if err := db.CreateUser(ctx, &ottr.User{Username: n, Role: ottr.RoleAdmin, PasswordHash: "h"}); err != nil {
					t.Fatal(err)
				}
			}
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, n := range []string{a, b} {
				wg.Go(func() { _, _, errs[i] = db.SetUserRole(ctx, n, ottr.RoleDeveloper) })
			}
			wg.Wait()
			ok, conflicts := 0, 0
			for _, err := range errs {
				switch {
				case err == nil:
					ok++
				case ottr.ErrorCode(err) == ottr.ECONFLICT:
					conflicts++
				default:
					t.Fatalf("round %d: %v", round, err)
				}
			}
			users, _ := db.ListUsers(ctx)
			admins := 0
			for _, u := range users {
				if u.Role == ottr.RoleAdmin {
					admins++
				}
			}
			if ok != 1 || conflicts != 1 || admins != 1 {
				t.Fatalf("round %d: %d demoted, %d refused, %d ADMINs left; want 1, 1, 1", round, ok, conflicts, admins)
			}
		}
	})
}
