package ottr

import (
	"fmt"
	"log/slog"
)

// Secret holds a password, token, API key or private key. It redacts itself
// wherever it could leak: fmt verbs, JSON, YAML-style text marshalling and
// slog. Reveal returns the value for the one place that must use it.
type Secret string

const redacted = "[REDACTED]"

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s == "" }

// String returns a redaction marker, never the value.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// Format makes every fmt verb, including %#v, print the redaction marker.
func (s Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// GoString returns the redaction marker.
func (s Secret) GoString() string { return s.String() }

// LogValue keeps the value out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText writes the redaction marker, so a Secret never leaves the
// process through JSON or YAML by accident.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a secret from configuration.
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }
