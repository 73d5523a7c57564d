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

	ListUsers(ctx context.Context) ([]*ottr.User, error)
	CreateUser(ctx context.Context, username, password string, role ottr.Role) (*ottr.User, error)
	DeleteUser(ctx context.Context, username string) error

	// Logout revokes the token the Backend acts with.
	Logout(ctx context.Context) error
}
