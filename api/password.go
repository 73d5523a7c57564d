package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"

	"github.com/ottr-dev/ottr"
	"golang.org/x/crypto/argon2"
)

// Argon2id parameters: 3 passes over 64 MiB in 2 lanes (RFC 9106's second
// recommended option, with 2 lanes where it has 4). Each hash and each
// check allocates and fills the whole argonMemory for its duration, about
// 0.1-0.5 s of two cores: 64 MiB per login in flight, which is why
// Server.PasswordHashes bounds how many run at once. The parameters are
// stored with each hash, so raising them later leaves old hashes valid.
const (
	argonTime    = 3
	argonMemory  = 64 * 1024
	argonThreads = 2
	argonKeyLen  = 32
	argonSaltLen = 16
)

// specials are the characters Ottr's password rule asks for one of.
const specials = "@$!%*#?&."

// CheckPassword applies Ottr's password rule: at least 8 characters with
// an upper-case and a lower-case letter, a digit and one of @$!%*#?&. —
// and at most 128, so hashing cannot be used to burn CPU. The error lists
// what is missing, never the password.
func CheckPassword(field, pw string) error {
	var probs []string
	if len(pw) < 8 {
		probs = append(probs, "at least 8 characters")
	}
	if len(pw) > 128 {
		probs = append(probs, "at most 128 characters")
	}
	has := func(f func(rune) bool) bool { return strings.IndexFunc(pw, f) >= 0 }
	if !has(unicode.IsUpper) {
		probs = append(probs, "an upper-case letter")
	}
	if !has(unicode.IsLower) {
		probs = append(probs, "a lower-case letter")
	}
	if !has(unicode.IsDigit) {
		probs = append(probs, "a digit")
	}
	if !strings.ContainsAny(pw, specials) {
		probs = append(probs, "one of "+specials)
	}
	if len(probs) > 0 {
		return ottr.Invalid("password is too weak", ottr.Problem{Field: field, Message: "needs " + strings.Join(probs, ", ")})
	}
	return nil
}

// HashPassword returns an Argon2id hash in the PHC string format
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash).
func HashPassword(pw string) (string, error) {
	salt := make([]byte, argonSaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// dummyHash is verified against when a user does not exist, so a wrong
// user name takes as long as a wrong password. It has the current
// parameters, a fixed salt and a key no password gives; it is written out
// rather than hashed so that starting a program costs no 64 MiB hash.
var dummyHash = fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
	base64.RawStdEncoding.EncodeToString([]byte("ottr-no-such-usr")), base64.RawStdEncoding.EncodeToString(make([]byte, argonKeyLen)))

// VerifyPassword reports whether pw matches hash, in constant time. An
// empty hash (no such user) is checked against a dummy so the time taken
// does not reveal which user names exist.
func VerifyPassword(hash, pw string) bool {
	if hash == "" {
		verify(dummyHash, pw)
		return false
	}
	return verify(hash, pw)
}

func verify(hash, pw string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}
