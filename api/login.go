package api

import (
	"context"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// login checks a user name and password. Both kinds of failure give the
// same error, after the same work. The attempt is counted before the
// password is hashed (see loginLimits), and the hash waits for one of a
// bounded number of slots (see Server.PasswordHashes).
func (s *Server) login(ctx context.Context, username, password string) (*ottr.User, error) {
	s.loginInit()
	t, wait, ok := s.limits.reserve(username, clientIP(ctx), time.Now())
	if !ok {
		return nil, tooMany(wait)
	}
	u, err := s.loginCheck(ctx, username, password)
	switch ottr.ErrorCode(err) {
	case "":
		s.limits.succeeded(t, time.Now())
	case ottr.EUNAUTHORIZED: // a failed guess: it stays counted
	default: // busy, or the store failed: no guess was checked
		s.limits.release(t)
	}
	return u, err
}

// loginCheck looks the user up and verifies the password inside a hash
// slot, so that a login the server has no room for costs no query either.
func (s *Server) loginCheck(ctx context.Context, username, password string) (u *ottr.User, err error) {
	if serr := s.withHashSlot(ctx, func() { u, err = s.verify(ctx, username, password) }); serr != nil {
		return nil, serr
	}
	return u, err
}

func (s *Server) verify(ctx context.Context, username, password string) (*ottr.User, error) {
	u, err := s.Users.GetUser(ctx, username)
	hash := ""
	if err == nil {
		hash = u.PasswordHash
	} else if ottr.ErrorCode(err) != ottr.ENOTFOUND {
		return nil, err
	}
	if !VerifyPassword(hash, password) {
		return nil, ottr.Errorf(ottr.EUNAUTHORIZED, "wrong user name or password")
	}
	if IsOttrHash(hash) {
		s.upgradeHash(ctx, u, password)
	}
	return u, nil
}

// upgradeHash replaces a user's imported Ottr (bcrypt) hash with an
// Argon2id hash of the password just verified. It runs in the login's hash
// slot. It is the same password, so the user's tokens, Ottr's included,
// stay valid. A failure leaves the old hash, which still works, for the
// next login to try again: the login itself succeeds.
func (s *Server) upgradeHash(ctx context.Context, u *ottr.User, password string) {
	h, err := HashPassword(password)
	if err == nil {
		_, err = s.Users.UpdateUser(ctx, u.Username, func(x *ottr.User) error {
			if x.PasswordHash != u.PasswordHash {
				return nil // changed meanwhile: keep the newer one
			}
			x.PasswordHash, x.Rehashed = h, true
			return nil
		})
	}
	if err != nil {
		s.logger().WarnContext(ctx, "could not replace an imported Ottr password hash; the next login tries again", "user", u.Username, "err", err)
		return
	}
	s.logger().InfoContext(ctx, "imported Ottr password hash replaced by Argon2id", "user", u.Username)
}

// hashPassword hashes pw in one of the bounded slots.
func (s *Server) hashPassword(ctx context.Context, pw string) (string, error) {
	var hash string
	var herr error
	if err := s.withHashSlot(ctx, func() { hash, herr = HashPassword(pw) }); err != nil {
		return "", err
	}
	return hash, herr
}

// withHashSlot runs f, which hashes a password, once one of the
// PasswordHashes slots is free; waiting longer than PasswordQueueTimeout
// is a busy error (503, Retry-After) rather than memory the server does
// not have.
func (s *Server) withHashSlot(ctx context.Context, f func()) error {
	s.loginInit()
	select {
	case s.hashSlots <- struct{}{}:
	default:
		timeout := s.PasswordQueueTimeout
		if timeout <= 0 {
			timeout = 2 * time.Second
		}
		timer := time.NewTimer(timeout)
		defer timer.Stop()
		select {
		case s.hashSlots <- struct{}{}:
		case <-timer.C:
			return busy()
		case <-ctx.Done():
			return ottr.Errorf(ottr.EUNAVAILABLE, "request cancelled while waiting to check a password")
		}
	}
	defer func() { <-s.hashSlots }()
	f()
	// Collect the hash's 64 MiB before the slot goes to the next one:
	// left to the pacer, which sets its goal at twice the heap it last
	// found live (other hashes' memory included), garbage from finished
	// hashes would pile up beside the running ones and near double the
	// server's peak. The memory is pointer-free, so this collection only
	// marks the rest of the heap: a few milliseconds.
	runtime.GC()
	return nil
}

func (s *Server) loginInit() {
	s.loginOnce.Do(func() {
		s.limits = newLoginLimits()
		n := s.PasswordHashes
		if n <= 0 {
			n = 2
		}
		s.hashSlots = make(chan struct{}, n)
	})
}

// busy is a 503 with Retry-After: the server is checking as many
// passwords as its memory allows.
func busy() error {
	const retry = 1
	return huma.ErrorWithHeaders(huma.NewError(http.StatusServiceUnavailable,
		"server busy: too many passwords being checked at once; try again in "+strconv.Itoa(retry)+"s"),
		http.Header{"Retry-After": {strconv.Itoa(retry)}})
}
