package api

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ottr-dev/ottr"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
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

// CheckPassword applies Ottr's password rule exactly (Ottr's
// api/backend/app/shared/client.py validate_password:
// ^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)(?=.*[@$!%*#?&.])[A-Za-z\d@$!#%*?&.]{8,}$):
// at least 8 characters, each an ASCII letter, a digit or one of
// @$!%*#?&., with a lower-case and an upper-case ASCII letter, a digit and
// one of @$!%*#?&. Python's \d is any Unicode decimal digit, and so is
// unicode.IsDigit. Two differences, both refusals: at most 128 characters,
// so hashing cannot be used to burn CPU, and no trailing newline (Python's
// $ matches before one, so Ottr took "Passw0rd!\n", a password no login
// form reproduces). The error lists what is missing, never the password.
func CheckPassword(field, pw string) error {
	var probs []string
	n := utf8.RuneCountInString(pw)
	if n < 8 {
		probs = append(probs, "at least 8 characters")
	}
	if n > 128 {
		probs = append(probs, "at most 128 characters")
	}
	has := func(f func(rune) bool) bool { return strings.IndexFunc(pw, f) >= 0 }
	if !has(func(r rune) bool { return 'A' <= r && r <= 'Z' }) {
		probs = append(probs, "an upper-case letter A-Z")
	}
	if !has(func(r rune) bool { return 'a' <= r && r <= 'z' }) {
		probs = append(probs, "a lower-case letter a-z")
	}
	if !has(unicode.IsDigit) {
		probs = append(probs, "a digit")
	}
	if !strings.ContainsAny(pw, specials) {
		probs = append(probs, "one of "+specials)
	}
	if has(func(r rune) bool { return !passwordRune(r) }) {
		probs = append(probs, "only letters A-Z and a-z, digits and "+specials+" (no spaces or other characters)")
	}
	if len(probs) > 0 {
		return ottr.Invalid("password is too weak", ottr.Problem{Field: field, Message: "needs " + strings.Join(probs, ", ")})
	}
	return nil
}

// passwordRune reports whether Ottr's rule allows r in a password.
func passwordRune(r rune) bool {
	return 'A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || unicode.IsDigit(r) || strings.ContainsRune(specials, r)
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
	if IsOttrHash(hash) {
		return verifyBcrypt(hash, pw)
	}
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

// IsOttrHash reports whether hash is a bcrypt hash as Airbnb Ottr stored
// them (api/backend/app/models.py: bcrypt.hashpw(pw.encode('utf8'),
// bcrypt.gensalt(14)), "$2b$14$…"). Such hashes are verified so that
// imported users keep their passwords, and replaced by an Argon2id hash at
// the user's next successful login.
func IsOttrHash(hash string) bool {
	return len(hash) == 60 && (strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2y$"))
}

// verifyBcrypt checks pw as Python's bcrypt 3.x did for Ottr: the UTF-8
// bytes, of which bcrypt reads only the first 72.
func verifyBcrypt(hash, pw string) bool {
	b := []byte(pw)
	if len(b) > 72 {
		b = b[:72]
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), b) == nil
}
