package dns

import (
	"context"
	"time"

	"github.com/ottr-dev/ottr"
)

// StoreZone is a delegate zone served by the built-in Server: its records
// live in the shared TXTStore.
type StoreZone struct {
	Store ottr.TXTStore
	// Lifetime bounds how long a record outlives a process that crashed
	// before cleaning up; default 1h.
	Lifetime time.Duration
	Now      func() time.Time
}

var _ ottr.DNSZone = (*StoreZone)(nil)

// AddTXT adds value at name.
func (z *StoreZone) AddTXT(ctx context.Context, name, value string) error {
	life := z.Lifetime
	if life <= 0 {
		life = time.Hour
	}
	now := time.Now
	if z.Now != nil {
		now = z.Now
	}
	return z.Store.PutTXT(ctx, Canonical(name), value, now().Add(life))
}

// RemoveTXT deletes value at name.
func (z *StoreZone) RemoveTXT(ctx context.Context, name, value string) error {
	return z.Store.DeleteTXT(ctx, Canonical(name), value)
}
