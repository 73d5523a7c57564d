package web

import (
	"context"

	"github.com/ottr-dev/ottr"
)

// Backend is what the dashboard asks of Ottr. Its methods have the
// signatures of the API client's (api.Client), so the composition root
// passes a client whose transport serves each request with the API's own
// handler (InProcess): every page then gets exactly the API's roles,
// validation and error messages. A Backend acts with one user's token.
type Backend interface {
	FindAssets(ctx context.Context, f ottr.AssetFilter) ([]*ottr.Asset, string, error)
	GetAsset(ctx context.Context, name string) (*ottr.Asset, error)
	UpdateAsset(ctx context.Context, name string, fn func(*ottr.Asset) error) (*ottr.Asset, error)
	DeleteAsset(ctx context.Context, name string) error
	// SetCertificateValidation sets whether Ottr verifies the device's
	// TLS certificate (ADMIN).
	SetCertificateValidation(ctx context.Context, name string, validate bool) error

	Rotate(ctx context.Context, systemName string) (id string, joined bool, err error)
	FindRotations(ctx context.Context, f ottr.RotationFilter) ([]*ottr.Rotation, string, error)
	GetRotation(ctx context.Context, id string) (*ottr.Rotation, error)
	CancelRotation(ctx context.Context, id string) (*ottr.Rotation, error)

	Routes(ctx context.Context) (*ottr.RouteTable, error)
	// Status summarises the fleet, listing at most listMax failing and
	// unrouted assets.
	Status(ctx context.Context, listMax int) (*ottr.FleetStatus, error)

	// Delegation checks each of an asset's names' DNS-01 delegation.
	Delegation(ctx context.Context, systemName string) ([]DelegationResult, error)

	ListUsers(ctx context.Context) ([]*ottr.User, error)
	CreateUser(ctx context.Context, username, password string, role ottr.Role) (*ottr.User, error)
	SetUserRole(ctx context.Context, username string, role ottr.Role) (*ottr.User, error)
	// UnlockUser clears a user's failed sign-ins.
	UnlockUser(ctx context.Context, username string) error
	DeleteUser(ctx context.Context, username string) error
	// ChangePassword changes a user's password given the current one; it
	// revokes the user's tokens.
	ChangePassword(ctx context.Context, username, password, newPassword string) error

	// Discover scans for TLS endpoints (ADMIN); ImportDiscovered makes
	// assets of what a scan found, or says what it would make (ADMIN).
	Discover(ctx context.Context, req ottr.DiscoverRequest) (*ottr.DiscoverResult, error)
	ImportDiscovered(ctx context.Context, eps []ottr.DiscoveredEndpoint, o ottr.DiscoveryImport) (*ottr.DiscoveryImportResult, error)

	// Events returns a page of the audit log, newest first.
	Events(ctx context.Context, f ottr.EventFilter) ([]*ottr.Event, string, error)
	// Credentials describes the credential sets, never their values.
	Credentials(ctx context.Context) ([]CredentialSet, error)

	// Logout revokes the token the Backend acts with.
	Logout(ctx context.Context) error
}

// DelegationResult is one name's DNS-01 delegation: its _acme-challenge
// CNAME chain and whether it lands in a delegate zone (the API's answer,
// field for field).
type DelegationResult struct {
	Name  string
	OK    bool
	Chain []string
	Zone  string
	Error string
}

// CredentialSet is what the dashboard shows of a credential set: its
// name, the names of its keys and who uses it, never a value (the API's
// answer, field for field).
type CredentialSet struct {
	Name       string
	Keys       []string
	UsedBy     []string
	MoreAssets bool
	Missing    bool
	Error      string
}
