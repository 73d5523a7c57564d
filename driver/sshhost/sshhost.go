// Package sshhost connects to devices over SSH the same way for every
// driver that does: host keys are checked against a known_hosts file (a
// host seen for the first time is recorded only when trust on first use is
// allowed, a changed key is always refused), a cancelled context
// interrupts the handshake, and failures are classified — refused
// authentication and host keys are permanent, the rest transient.
package sshhost

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyCallback checks host keys against the known_hosts file path;
// with tofu an unknown host's key is appended to it.
func HostKeyCallback(path string, tofu bool) ssh.HostKeyCallback {
	return PinnedHostKeyCallback(path, tofu, nil)
}

// PinnedHostKeyCallback checks host keys against known_hosts and then the
// device's trust record: a key in known_hosts is verified; a host missing
// from it is decided by trust (pinned per device, so a new address is no
// new first use). A key that differs from known_hosts is always refused.
// With a nil trust it is HostKeyCallback.
func PinnedHostKeyCallback(path string, tofu bool, trust ottr.TrustCheck) ssh.HostKeyCallback {
	return func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		check, err := knownhosts.New(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("known_hosts %s: %w", path, err)
		}
		if err == nil {
			err = check(hostname, remote, key)
		} else {
			err = &knownhosts.KeyError{}
		}
		var ke *knownhosts.KeyError
		if err != nil && !errors.As(err, &ke) {
			return err
		}
		if trust != nil && (err == nil || len(ke.Want) == 0) {
			return trust(err == nil, ottr.SSHFingerprint(key.Marshal()))
		}
		if err == nil {
			return nil
		}
		if len(ke.Want) > 0 {
			return fmt.Errorf("host key of %s changed (%s): refusing to connect; remove the old key from %s if the change is expected",
				hostname, ssh.FingerprintSHA256(key), path)
		}
		if !tofu {
			return fmt.Errorf("host %s (%s) is not in %s; add it, or set trust_on_first_use", hostname, ssh.FingerprintSHA256(key), path)
		}
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintln(f, knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key))
		return err
	}
}

// Dial connects to address and completes the SSH handshake.
func Dial(ctx context.Context, address string, cfg *ssh.ClientConfig) (*ssh.Client, error) {
	conn, err := (&net.Dialer{Timeout: 15 * time.Second}).DialContext(ctx, "tcp", address)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "ssh %s: %w", address, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Closing the connection is how a cancelled context interrupts the
	// handshake.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if cfg.Timeout == 0 {
		cfg.Timeout = 15 * time.Second
	}
	sc, chans, reqs, err := ssh.NewClientConn(conn, address, cfg)
	if err != nil {
		conn.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		msg := err.Error()
		// The device's trust record refused the key: keep its code and
		// message (what to accept, and how).
		if c := ottr.ErrorCode(err); c == ottr.EFORBIDDEN {
			return nil, ottr.Errorf(c, "ssh %s: %s", address, ottr.ErrorMessage(err))
		}
		if strings.Contains(msg, "unable to authenticate") {
			return nil, ottr.Errorf(ottr.EUNAUTHORIZED, "ssh %s as %s: authentication refused", address, cfg.User)
		}
		if strings.Contains(msg, "host key") || strings.Contains(msg, "known_hosts") || strings.Contains(msg, "is not in") {
			return nil, ottr.Errorf(ottr.EUNAUTHORIZED, "ssh %s: %w", address, err)
		}
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "ssh %s: %w", address, err)
	}
	conn.SetDeadline(time.Time{})
	return ssh.NewClient(sc, chans, reqs), nil
}
