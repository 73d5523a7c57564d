package ottr

import (
	"context"
	"time"
)

// TokenRevocations keeps the API tokens revoked before they expire (a user
// signing out), so every replica refuses them. An entry is needed only
// until its token expires; implementations may forget it then.
type TokenRevocations interface {
	// RevokeToken refuses the token with ID id from now until expires.
	// Revoking a token twice is not an error.
	RevokeToken(ctx context.Context, id string, expires time.Time) error
	// TokenRevoked reports whether the token with ID id was revoked.
	TokenRevoked(ctx context.Context, id string) (bool, error)
}
