package ottr

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"time"
)

// DeviceTrust is what Ottr trusts of one device's management endpoint
// beyond the usual checks (a TLS chain to known roots for the device's
// name, an SSH host key in known_hosts). It exists so that
// certificate_validation "False" means "trust on first use, then pin", not
// "send the login to whoever answers".
//
// A device without a record is trusted on first contact: the key it
// presents is pinned. A device whose record says NeedsApproval (added or
// re-addressed by someone who may not steer credentials) is sent nothing
// until an ADMIN accepts the key it presented, whatever its certificate.
type DeviceTrust struct {
	SystemName string `json:"system_name"`
	// Fingerprint is the pinned key: "tls SHA256:…" (the certificate's
	// public key) or "ssh SHA256:…" (the host key); "" before first contact.
	Fingerprint string `json:"fingerprint,omitempty"`
	// Pending is the key last presented and refused, waiting for an ADMIN.
	Pending string `json:"pending,omitempty"`
	// NeedsApproval holds every contact until an ADMIN accepts Pending.
	NeedsApproval bool      `json:"needs_approval"`
	Updated       time.Time `json:"updated"`
}

// TrustStore keeps device trust records. Implementations are safe for
// concurrent use by several replicas.
type TrustStore interface {
	// GetTrust returns the record of a device; ENOTFOUND if it has none.
	GetTrust(ctx context.Context, systemName string) (*DeviceTrust, error)
	// CreateTrust stores a new record; ECONFLICT if the device has one.
	CreateTrust(ctx context.Context, t *DeviceTrust) error
	// PutTrust stores t, replacing the device's record.
	PutTrust(ctx context.Context, t *DeviceTrust) error
	// DeleteTrust forgets a device's record (no error when it has none):
	// its next contact is a first contact again.
	DeleteTrust(ctx context.Context, systemName string) error
}

// TLSFingerprint names a certificate's public key as a pin.
func TLSFingerprint(c *x509.Certificate) string {
	sum := sha256.Sum256(c.RawSubjectPublicKeyInfo)
	return "tls SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// SSHFingerprint names an SSH host key (its wire form) as a pin, in the
// form ssh-keygen -l prints.
func SSHFingerprint(wireKey []byte) string {
	sum := sha256.Sum256(wireKey)
	return "ssh SHA256:" + base64.RawStdEncoding.EncodeToString(sum[:])
}

// TrustCheck decides whether a device that presented the key fp may be
// sent credentials. verified says the usual checks passed (a chain to
// known roots for the device's name, a key in known_hosts). Drivers call
// it during the handshake, before any credential leaves Ottr; an error
// aborts the connection and is permanent (EFORBIDDEN).
type TrustCheck func(verified bool, fp string) error

// CheckTrust applies a device's trust record: it is the TrustCheck of
// system name, bound to store (required). tofu says the asset allows a key that the
// usual checks cannot verify (certificate_validation "False").
func CheckTrust(ctx context.Context, store TrustStore, name string, tofu bool, now func() time.Time) TrustCheck {
	return func(verified bool, fp string) error {
		for range 2 {
			t, err := store.GetTrust(ctx, name)
			if ErrorCode(err) == ENOTFOUND {
				if verified {
					return nil
				}
				if !tofu {
					return Errorf(EFORBIDDEN, "%s presented %s, which cannot be verified (certificate_validation is True)", name, fp)
				}
				// First contact: pin what the device presents. A replica
				// that pinned at the same moment wins; compare with it.
				err = store.CreateTrust(ctx, &DeviceTrust{SystemName: name, Fingerprint: fp, Updated: now()})
				if ErrorCode(err) == ECONFLICT {
					continue
				}
				if err == nil {
					Logf(ctx, "trusted %s on first use: pinned %s", name, fp)
				}
				return err
			}
			if err != nil {
				return err
			}
			return t.check(ctx, store, verified, tofu, fp, now)
		}
		return Errorf(EUNAVAILABLE, "%s: trust record changed twice while checking it", name)
	}
}

func (t *DeviceTrust) check(ctx context.Context, store TrustStore, verified, tofu bool, fp string, now func() time.Time) error {
	refuse := func(format string, args ...any) error {
		if t.Pending != fp {
			t.Pending, t.Updated = fp, now()
			if err := store.PutTrust(ctx, t); err != nil {
				return err
			}
		}
		return Errorf(EFORBIDDEN, format+"; an ADMIN must accept it: ottr trust accept %s (PATCH /admin/v1/management/trust/accept/%s)",
			append(args, t.SystemName, t.SystemName)...)
	}
	switch {
	case t.NeedsApproval:
		return refuse("%s is new or was re-addressed by a non-ADMIN and presented %s", t.SystemName, fp)
	case verified:
		return nil
	case !tofu:
		return Errorf(EFORBIDDEN, "%s presented %s, which cannot be verified (certificate_validation is True)", t.SystemName, fp)
	case t.Fingerprint == "":
		t.Fingerprint, t.Pending, t.Updated = fp, "", now()
		return store.PutTrust(ctx, t)
	case t.Fingerprint == fp:
		return nil
	}
	return refuse("%s presented %s instead of the pinned %s", t.SystemName, fp, t.Fingerprint)
}

// AcceptTrust pins the key a device last presented and lifts a hold for
// approval: the ADMIN's answer to a refused contact. ECONFLICT when no
// refused key is waiting.
func AcceptTrust(ctx context.Context, store TrustStore, name string, now time.Time) (*DeviceTrust, error) {
	t, err := store.GetTrust(ctx, name)
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ECONFLICT, "%s has no key waiting for approval: no trust record (its next contact pins the key it presents)", name)
	}
	if err != nil {
		return nil, err
	}
	if t.Pending == "" {
		return nil, Errorf(ECONFLICT, "%s has no key waiting for approval: a rotation must contact it first", name)
	}
	t.Fingerprint, t.Pending, t.NeedsApproval, t.Updated = t.Pending, "", false, now
	if err := store.PutTrust(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}
