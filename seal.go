package ottr

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
)

// MasterKeySize is the length of the key every sealed secret is encrypted
// under: 32 bytes, for AES-256.
const MasterKeySize = 32

// sealVersion prefixes every sealed value so the format can change later
// without guessing.
const sealVersion = 1

// Sealer encrypts the secrets Ottr keeps at rest (ACME account keys, device
// credentials, token signing keys) with AES-256-GCM under one master key.
// Every sealed value is bound to a label (its name in the store) as
// associated data, so a sealed value copied to another row does not open.
// A Sealer is safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer returns a Sealer for a MasterKeySize-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != MasterKeySize {
		return nil, Errorf(EINVALID, "master key is %d bytes; want %d", len(key), MasterKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// NewMasterKey returns a fresh random master key.
func NewMasterKey() []byte {
	k := make([]byte, MasterKeySize)
	_, _ = rand.Read(k) // crypto/rand.Read never fails on supported platforms
	return k
}

// ParseMasterKey decodes a master key written as base64 (standard or URL
// alphabet, padded or not) or as 64 hex digits.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 2*MasterKeySize {
		if k, err := hex.DecodeString(s); err == nil {
			return k, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil {
			if len(k) != MasterKeySize {
				return nil, Errorf(EINVALID, "master key decodes to %d bytes; want %d", len(k), MasterKeySize)
			}
			return k, nil
		}
	}
	return nil, Errorf(EINVALID, "master key is neither base64 nor 64 hex digits")
}

// EncodeMasterKey writes a key as ParseMasterKey reads it.
func EncodeMasterKey(k []byte) string { return base64.StdEncoding.EncodeToString(k) }

// Seal encrypts plaintext bound to label.
func (s *Sealer) Seal(label string, plaintext []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	out := make([]byte, 0, 1+len(nonce)+len(plaintext)+s.aead.Overhead())
	out = append(out, sealVersion)
	out = append(out, nonce...)
	return s.aead.Seal(out, nonce, plaintext, []byte(label))
}

// ErrSealBroken is returned by Open when a sealed value does not decrypt:
// the master key is not the one it was sealed with, the value was altered,
// or it belongs to another label.
var ErrSealBroken = errors.New("sealed value does not open with this master key (wrong key, or the value was altered)")

// Open decrypts a value made by Seal with the same label.
func (s *Sealer) Open(label string, sealed []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrSealBroken
	}
	pt, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], []byte(label))
	if err != nil {
		return nil, ErrSealBroken
	}
	return pt, nil
}
