package ottr

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Role is a user's authority. Roles are ordered ADMIN ⊃ PRIVILEGED ⊃
// DEVELOPER: each may do everything the roles below it may.
type Role string

// Ottr's roles.
const (
	RoleAdmin      Role = "ADMIN"
	RolePrivileged Role = "PRIVILEGED"
	RoleDeveloper  Role = "DEVELOPER"
)

// Roles lists the roles from most to least powerful, as Ottr lists them.
var Roles = []Role{RoleAdmin, RolePrivileged, RoleDeveloper}

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 3
	case RolePrivileged:
		return 2
	case RoleDeveloper:
		return 1
	}
	return 0
}

// Valid reports whether r is one of Ottr's roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// Includes reports whether a user with role r may do what role need may.
func (r Role) Includes(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// ParseRole parses a role name (case-insensitive).
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToUpper(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", Invalid("invalid role", Problem{Field: "role", Message: fmt.Sprintf("%q is not a role; valid roles: ['ADMIN', 'PRIVILEGED', 'DEVELOPER']", s)})
	}
	return r, nil
}

// User is an account of the API. PasswordHash never leaves the process: it
// is excluded from JSON.
type User struct {
	// Username is stored as NormalizeUsername gives it.
	Username     string    `json:"username"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"`
	Created      time.Time `json:"timestamp"`
	Updated      time.Time `json:"-"`
	// TokenGeneration is written into every token issued for the user; a
	// token of another generation is refused. The store raises it whenever
	// the password or the role changes, so those changes revoke every token
	// issued before them. It starts at 0, the generation of tokens that
	// carry none (those of Airbnb Ottr's signing key).
	TokenGeneration int64 `json:"-"`
	// Rehashed is set by an UpdateUser function that stores the same
	// password under a new hash (an imported Ottr bcrypt hash upgraded at
	// login): the password has not changed, so the user's tokens are not
	// revoked. It is never stored.
	Rehashed bool `json:"-"`
}

// NormalizeUsername gives a user name its one stored form: without
// surrounding blanks, ASCII letters lower-cased, so that "Admin" and
// "admin" are the same user. Only ASCII is folded, as the unique index's
// lower() folds on both engines, so the index and Ottr never disagree.
func NormalizeUsername(s string) string {
	s = strings.Trim(s, usernameBlanks)
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

// usernameBlanks are the characters NormalizeUsername trims.
const usernameBlanks = " \t\r\n\v\f"

// MarshalJSON writes Ottr's user shape: username, role, timestamp.
func (u User) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Username  string `json:"username"`
		Role      Role   `json:"role"`
		Timestamp string `json:"timestamp"`
	}{u.Username, u.Role, u.Created.UTC().Format(time.RFC3339)})
}

// UserStore keeps API users. User names are case-insensitive: every
// method takes a name in any case and with surrounding blanks, and stores
// and returns it as NormalizeUsername gives it.
type UserStore interface {
	// CreateUser stores u with its name normalised (u.Username is updated);
	// ECONFLICT if a user of that name exists in any case.
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns a user; ENOTFOUND if absent.
	GetUser(ctx context.Context, username string) (*User, error)
	// ListUsers returns every user sorted by username.
	ListUsers(ctx context.Context) ([]*User, error)
	// UpdateUser applies fn to the stored user in one transaction;
	// ENOTFOUND if absent. When fn changes the password hash or the role
	// (or changes TokenGeneration), the stored generation is raised by one,
	// revoking the user's tokens, unless fn changed only the hash and set
	// Rehashed; fn cannot lower it.
	UpdateUser(ctx context.Context, username string, fn func(*User) error) (*User, error)
	// SetUserRole gives a user a role, revoking its tokens when the role
	// changes (as UpdateUser), and returns the user as stored and as it
	// was. It refuses with ECONFLICT to take ADMIN from the last ADMIN,
	// also when two ADMINs demote each other at once; ENOTFOUND if absent.
	SetUserRole(ctx context.Context, username string, role Role) (after, before *User, err error)
	// DeleteUser removes a user; ENOTFOUND if absent.
	DeleteUser(ctx context.Context, username string) error
}
