package api

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/ottr-dev/ottr"
)

// tokenKeyName is where the generated signing key is kept, sealed.
const tokenKeyName = "api/jwt-signing-key"

// Claims are Ottr's token claims (username, role, iat, exp) and the
// user's token generation.
type Claims struct {
	Username string    `json:"username"`
	Role     ottr.Role `json:"role"`
	// Generation is the user's ottr.User.TokenGeneration at issue. Ottr's
	// own tokens have no "gen": they read as 0, the generation every user
	// has until their password or role first changes.
	Generation int64 `json:"gen"`
	jwt.RegisteredClaims
}

// Tokens issues and checks RS256 JWTs with Ottr's claims. The role in a
// token is a hint only: every request is checked against the user store,
// so a token stops working at once when its user is deleted, or their
// password or role changes (the store then raises the user's token
// generation, and a token of an older one is refused).
type Tokens struct {
	key      *rsa.PrivateKey
	users    ottr.UserStore
	revoked  ottr.TokenRevocations
	lifetime time.Duration
	now      func() time.Time
}

// TokenConfig configures Tokens.
type TokenConfig struct {
	// Lifetime of a token; default 30 minutes, as Ottr.
	Lifetime time.Duration
	// KeyPEM is an existing Ottr deployment's RSA private key (PKCS#1 or
	// PKCS#8 PEM), so its tokens and scripts keep working. Empty: a key is
	// generated once and kept sealed in Secrets.
	KeyPEM  []byte
	Secrets ottr.SecretStore
	Users   ottr.UserStore
	// Revocations keeps the tokens revoked by signing out; nil: a token
	// cannot be revoked alone (a password or role change still revokes
	// all of a user's).
	Revocations ottr.TokenRevocations
	Now         func() time.Time
}

// NewTokens loads or makes the signing key.
func NewTokens(ctx context.Context, c TokenConfig) (*Tokens, error) {
	t := &Tokens{users: c.Users, revoked: c.Revocations, lifetime: c.Lifetime, now: c.Now}
	if t.lifetime <= 0 {
		t.lifetime = 30 * time.Minute
	}
	if t.now == nil {
		t.now = time.Now
	}
	var err error
	switch {
	case len(c.KeyPEM) > 0:
		t.key, err = parseRSAKey(c.KeyPEM)
	case c.Secrets == nil:
		return nil, errors.New("tokens: no signing key and no secret store")
	default:
		t.key, err = storedKey(ctx, c.Secrets)
	}
	if err != nil {
		return nil, err
	}
	return t, nil
}

// CheckSigningKey reports why b cannot sign tokens: it must be a PEM RSA
// private key (PKCS#1 or PKCS#8, unencrypted), as Ottr's was.
func CheckSigningKey(b []byte) error {
	_, err := parseRSAKey(b)
	return err
}

func parseRSAKey(b []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "token signing key: no PEM block")
	}
	if strings.Contains(blk.Type, "PUBLIC") || strings.Contains(blk.Type, "CERTIFICATE") {
		return nil, ottr.Errorf(ottr.EINVALID, "token signing key: a %s, want the RSA private key (Ottr's {PREFIX}/otter/private_key)", blk.Type)
	}
	if blk.Headers["Proc-Type"] != "" || strings.Contains(blk.Type, "ENCRYPTED") {
		return nil, ottr.Errorf(ottr.EINVALID, "token signing key: encrypted; give it unencrypted")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "token signing key: not an RSA private key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, ottr.Errorf(ottr.EINVALID, "token signing key: not an RSA key (tokens are RS256)")
	}
	return rk, nil
}

// storedKey loads the sealed signing key, generating it the first time;
// replicas racing to create it end up with the first one stored.
func storedKey(ctx context.Context, s ottr.SecretStore) (*rsa.PrivateKey, error) {
	for range 2 {
		b, err := s.GetSecret(ctx, tokenKeyName)
		if err == nil {
			return parseRSAKey(b)
		}
		if ottr.ErrorCode(err) != ottr.ENOTFOUND {
			return nil, err
		}
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		p := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
		if err := s.CreateSecret(ctx, tokenKeyName, p); err == nil {
			return k, nil
		} else if ottr.ErrorCode(err) != ottr.ECONFLICT {
			return nil, err
		}
	}
	return nil, errors.New("token signing key: lost a race twice")
}

// Issue returns a signed token for u, without the "Bearer " prefix. Each
// token has its own ID (jti), by which Revoke refuses it alone.
func (t *Tokens) Issue(u *ottr.User) (string, error) {
	now := t.now()
	id := make([]byte, 16)
	rand.Read(id)
	c := Claims{Username: u.Username, Role: u.Role, Generation: u.TokenGeneration, RegisteredClaims: jwt.RegisteredClaims{
		ID: base64.RawURLEncoding.EncodeToString(id), IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(t.lifetime)),
	}}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(t.key)
}

// Check verifies an Authorization header value, "Bearer <token>", and
// returns the user it names as the store has it now. Only RS256 is
// accepted; "none" and every other algorithm are refused. A token of
// another generation than its user's, issued before its user was
// created, or revoked, is refused.
func (t *Tokens) Check(ctx context.Context, token string) (*ottr.User, error) {
	u, _, err := t.check(ctx, token)
	return u, err
}

// Revoke refuses the token of an Authorization header value from now on,
// on every replica sharing the database. The token must be valid (Check):
// revoking is the token's holder signing out.
func (t *Tokens) Revoke(ctx context.Context, token string) (*ottr.User, error) {
	u, c, err := t.check(ctx, token)
	if err != nil {
		return nil, err
	}
	if t.revoked == nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "this server cannot revoke a single token")
	}
	if c.ID == "" {
		// Airbnb Ottr's tokens carry no ID; they end at their expiry.
		return nil, ottr.Errorf(ottr.EINVALID, "the token has no ID (jti) to revoke it by; it ends at its expiry")
	}
	if err := t.revoked.RevokeToken(ctx, c.ID, c.ExpiresAt.Time); err != nil {
		return nil, fmt.Errorf("revoke token: %w", err)
	}
	return u, nil
}

func (t *Tokens) check(ctx context.Context, token string) (*ottr.User, *Claims, error) {
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, nil, ottr.Errorf(ottr.EUNAUTHORIZED, "missing token: send Authorization: Bearer <token>")
	}
	// Ottr read the header with parse('Bearer {}', header), which folds
	// case, and refused one without the scheme (its tests assert 401).
	if len(token) <= 7 || !strings.EqualFold(token[:7], "bearer ") {
		return nil, nil, ottr.Errorf(ottr.EUNAUTHORIZED, "the Authorization header must be \"Bearer <token>\"")
	}
	token = strings.TrimSpace(token[7:])
	if token == "" {
		return nil, nil, ottr.Errorf(ottr.EUNAUTHORIZED, "missing token: send Authorization: Bearer <token>")
	}
	var c Claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return &t.key.PublicKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithTimeFunc(t.now))
	if err != nil {
		if errors.Is(err, jwt.ErrTokenExpired) {
			return nil, nil, ottr.Errorf(ottr.EUNAUTHORIZED, "token expired")
		}
		return nil, nil, ottr.Errorf(ottr.EUNAUTHORIZED, "invalid token")
	}
	u, err := t.users.GetUser(ctx, c.Username)
	if ottr.ErrorCode(err) == ottr.ENOTFOUND {
		return nil, nil, ottr.Errorf(ottr.EUNAUTHORIZED, "the token's user no longer exists")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("check token: %w", err)
	}
	// A user deleted and made again under the same name starts again at
	// generation 0: a token issued before the new user existed was the old
	// user's. iat has whole seconds, so the comparison does too.
	if c.IssuedAt != nil && c.IssuedAt.Before(u.Created.Truncate(time.Second)) {
		return nil, nil, ottr.Errorf(ottr.EUNAUTHORIZED, "the token's user no longer exists")
	}
	if c.Generation != u.TokenGeneration {
		return nil, nil, ottr.Errorf(ottr.EUNAUTHORIZED, "token revoked: the password or role changed after it was issued")
	}
	if t.revoked != nil && c.ID != "" {
		gone, err := t.revoked.TokenRevoked(ctx, c.ID)
		if err != nil {
			return nil, nil, fmt.Errorf("check token: %w", err)
		}
		if gone {
			return nil, nil, ottr.Errorf(ottr.EUNAUTHORIZED, "token revoked: signed out")
		}
	}
	return u, &c, nil
}
