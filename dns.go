package ottr

import (
	"context"
	"time"
)

// Delegation is where the DNS-01 challenge for one name is answered: the
// CNAME chain from _acme-challenge.<Name> to Target, and the delegate zone
// holding Target. Names are lower case without the trailing dot.
type Delegation struct {
	Name   string   `json:"name"`
	Chain  []string `json:"chain"`  // _acme-challenge.<Name> first, Target last
	Target string   `json:"target"` // where the TXT record is written
	Zone   string   `json:"zone"`   // the delegate zone holding Target
}

// ChallengeDNS is what the ACME DNS-01 solver needs from DNS. It is met by
// the dns package over the built-in server or a provider-backed zone.
type ChallengeDNS interface {
	// Delegate follows the CNAME chain of _acme-challenge.<name> and
	// returns its target. The target must lie in a configured delegate
	// zone; otherwise the error is EINVALID and names the name, the chain
	// found and the zones allowed. Resolver failures are EUNAVAILABLE.
	Delegate(ctx context.Context, name string) (Delegation, error)
	// AddTXT adds value to the TXT records at d.Target, keeping values that
	// are already there (several names may share one target).
	AddTXT(ctx context.Context, d Delegation, value string) error
	// RemoveTXT deletes value from d.Target; a missing value is not an error.
	RemoveTXT(ctx context.Context, d Delegation, value string) error
	// WaitTXT returns once every one of values is visible at d.Target on
	// every authoritative server of d.Zone, or an EUNAVAILABLE error when
	// ctx or the configured propagation timeout ends first.
	WaitTXT(ctx context.Context, d Delegation, values []string) error
}

// DNSZone is a delegate zone whose TXT records Ottr can write: the built-in
// server's store or a DNS provider's API. Names are absolute, lower case,
// without the trailing dot.
type DNSZone interface {
	// AddTXT adds value to the TXT RRset at name, keeping other values.
	AddTXT(ctx context.Context, name, value string) error
	// RemoveTXT deletes value from the TXT RRset at name; absence is not an
	// error.
	RemoveTXT(ctx context.Context, name, value string) error
}

// TXTStore keeps the built-in DNS server's TXT records in the database so
// every replica answers the same.
type TXTStore interface {
	// PutTXT adds value at name until expires (records left behind by a
	// crashed process stop being served then). Adding an existing value
	// extends its expiry.
	PutTXT(ctx context.Context, name, value string, expires time.Time) error
	// DeleteTXT removes value at name; absence is not an error.
	DeleteTXT(ctx context.Context, name, value string) error
	// LookupTXT returns the unexpired values at name, and whether name
	// exists at all: it has values or is an ancestor of a name that has.
	LookupTXT(ctx context.Context, name string, now time.Time) (values []string, exists bool, err error)
}

// SecretStore keeps named secrets sealed at rest. Names are paths such as
// "acme/lets_encrypt/account-key" or "credential/panos".
type SecretStore interface {
	// PutSecret stores value under name, replacing any previous value.
	PutSecret(ctx context.Context, name string, value []byte) error
	// CreateSecret stores value under name unless name exists; then it
	// returns an ECONFLICT error.
	CreateSecret(ctx context.Context, name string, value []byte) error
	// GetSecret returns the value under name, or an ENOTFOUND error.
	GetSecret(ctx context.Context, name string) ([]byte, error)
	// DeleteSecret removes name; absence is an ENOTFOUND error.
	DeleteSecret(ctx context.Context, name string) error
	// ListSecrets returns the names starting with prefix, sorted.
	ListSecrets(ctx context.Context, prefix string) ([]string, error)
}
