package acme

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"

	"github.com/mholt/acmez/v3/acme"
	"github.com/ottr-dev/ottr"
)

// storedAccount is what Ottr keeps (sealed) per CA: the account key and the
// directory it was registered with.
type storedAccount struct {
	Directory string `json:"directory"`
	KeyPEM    string `json:"key_pem"`
}

func accountSecretName(ca string) string { return "acme/" + ca + "/account" }

// accountKey loads the CA's account key, or makes and stores one. Storing
// before registering means two replicas racing here end up with one key,
// and registering that key twice returns the same account.
func (is *Issuer) accountKey(ctx context.Context, caName, directory string) (crypto.Signer, error) {
	name := accountSecretName(caName)
	for range 2 {
		raw, err := is.Secrets.GetSecret(ctx, name)
		switch {
		case err == nil:
			var sa storedAccount
			if err := json.Unmarshal(raw, &sa); err != nil {
				return nil, fmt.Errorf("account %s: %w", name, err)
			}
			if sa.Directory == directory {
				return parseKey(sa.KeyPEM)
			}
			// The CA's directory changed: that is another CA as far as
			// accounts go; replace the key.
			key, blob, err := newAccountKey(directory)
			if err != nil {
				return nil, err
			}
			if err := is.Secrets.PutSecret(ctx, name, blob); err != nil {
				return nil, err
			}
			return key, nil
		case ottr.ErrorCode(err) == ottr.ENOTFOUND:
			key, blob, err := newAccountKey(directory)
			if err != nil {
				return nil, err
			}
			err = is.Secrets.CreateSecret(ctx, name, blob)
			if err == nil {
				return key, nil
			}
			if ottr.ErrorCode(err) != ottr.ECONFLICT {
				return nil, err
			}
			// Another process stored one first: use theirs.
		default:
			return nil, err
		}
	}
	return nil, errors.New("account key: lost a race twice")
}

func newAccountKey(directory string) (crypto.Signer, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	blob, err := json.Marshal(storedAccount{Directory: directory, KeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))})
	return key, blob, err
}

func parseKey(p string) (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("account key: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("account key: %w", err)
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("account key: %T cannot sign", k)
	}
	return s, nil
}

// account returns the registered account for a CA, registering it (with
// EAB where configured, agreeing to the terms of service) the first time.
func (is *Issuer) account(ctx context.Context, c *caState) (acme.Account, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.account.Status == acme.StatusValid {
		return c.account, nil
	}
	key, err := is.accountKey(ctx, c.name, c.client.Directory)
	if err != nil {
		return acme.Account{}, err
	}
	acct := acme.Account{TermsOfServiceAgreed: true, PrivateKey: key}
	if c.conf.Email != "" {
		acct.Contact = []string{"mailto:" + c.conf.Email}
	}
	existing, err := c.client.GetAccount(ctx, acct)
	var p acme.Problem
	switch {
	case err == nil && existing.Status == acme.StatusValid:
		c.account = existing
		return existing, nil
	case err == nil:
		return acme.Account{}, ottr.Errorf(ottr.EUNAUTHORIZED, "CA %s: account %s is %s", c.name, existing.Location, existing.Status)
	case errors.As(err, &p) && p.Type == acme.ProblemTypeAccountDoesNotExist:
	default:
		return acme.Account{}, classify(c.name, fmt.Errorf("look up account: %w", err), 0)
	}
	if c.conf.EAB.KID != "" {
		mac, _ := decodeHMAC(c.conf.EAB.HMACKey.Reveal())
		eab := acme.EAB{KeyID: c.conf.EAB.KID, MACKey: encodeRawURL(mac)}
		if err := acct.SetExternalAccountBinding(ctx, c.client.Client, eab); err != nil {
			return acme.Account{}, classify(c.name, fmt.Errorf("external account binding: %w", err), 0)
		}
	}
	created, err := c.client.NewAccount(ctx, acct)
	if err != nil {
		return acme.Account{}, classify(c.name, fmt.Errorf("register account: %w", err), 0)
	}
	is.logger().Info("acme account registered", "ca", c.name, "account", created.Location)
	c.account = created
	return created, nil
}
