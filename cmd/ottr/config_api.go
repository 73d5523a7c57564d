package main

import (
	"errors"
	"io/fs"
	"os"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// APIConfig configures the HTTP API's tokens.
type APIConfig struct {
	// TokenSigningKey is the path of a PEM RSA private key that signs and
	// checks the API's tokens: Airbnb Ottr's {PREFIX}/otter/private_key,
	// so that the tokens Ottr issued, and scripts that mint them with
	// Ottr's api/setup/credentials.py, keep working after the move. Empty:
	// a key is generated once and kept sealed in the database.
	TokenSigningKey string `yaml:"token_signing_key"`
}

// validate reads and parses the signing key, so that 'ottr config check'
// and startup refuse a wrong file; problems name the key and the path,
// never the file's content. Every command loads the configuration, and an
// operator's commands may run as a user the key (mode 0600, the server's)
// is not readable by: that is left for 'ottr serve' to report, rather than
// stopping every command.
func (c APIConfig) validate(bad func(field, format string, args ...any)) {
	if c.TokenSigningKey == "" {
		return
	}
	if _, err := c.signingKey(); err != nil && !errors.Is(err, fs.ErrPermission) {
		bad("api.token_signing_key", "%s", ottr.ErrorMessage(err))
	}
}

// signingKey returns the configured key's PEM, checked; nil when none is
// configured.
func (c APIConfig) signingKey() ([]byte, error) {
	if c.TokenSigningKey == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.TokenSigningKey)
	if err != nil {
		return nil, &keyReadError{ottr.Errorf(ottr.EINVALID, "%s: cannot read it: %v", c.TokenSigningKey, pathErr(err)), err}
	}
	if err := api.CheckSigningKey(b); err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "%s: %s", c.TokenSigningKey, ottr.ErrorMessage(err))
	}
	return b, nil
}

// tokenConfig is the API's token setup: the configured signing key, else
// the generated one sealed in secrets.
func (c APIConfig) tokenConfig(secrets ottr.SecretStore, users ottr.UserStore) (api.TokenConfig, error) {
	key, err := c.signingKey()
	if err != nil {
		return api.TokenConfig{}, ottr.Errorf(ottr.EINVALID, "api.token_signing_key: %s", ottr.ErrorMessage(err))
	}
	return api.TokenConfig{KeyPEM: key, Secrets: secrets, Users: users, Lifetime: 30 * time.Minute}, nil
}

// keyReadError is a key file that could not be read: the message names
// the path, and errors.Is sees the cause (fs.ErrPermission).
type keyReadError struct {
	msg   error
	cause error
}

func (e *keyReadError) Error() string   { return e.msg.Error() }
func (e *keyReadError) Unwrap() []error { return []error{e.msg, e.cause} }

// pathErr drops the path from an *os.PathError: the message names it once.
func pathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
