// Package served reads the certificate a device presents over TLS, and
// waits for a newly installed one to be presented: what every driver does
// after an install, kept out of the drivers so none imports another.
package served

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/ottr-dev/ottr"
)

// ErrNotServed is Await's answer when the time ran out.
var ErrNotServed = errors.New("the new certificate is not served")

// Await polls current every `every` until it presents leaf. It returns
// ctx's error when ctx ends, and ErrNotServed, with what was seen last,
// when timeout passes first: a device's web server restarts after a
// change, so the first handshakes may still see the old certificate.
func Await(ctx context.Context, current func(context.Context) ([]*x509.Certificate, error), leaf *x509.Certificate, timeout, every time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		cur, err := current(ctx)
		if err == nil && len(cur) > 0 && cur[0].Equal(leaf) {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			seen := "nothing"
			if len(cur) > 0 {
				seen = fmt.Sprintf("serial %x", cur[0].SerialNumber)
			} else if err != nil {
				seen = ottr.ErrorMessage(err)
			}
			return fmt.Errorf("%w after %s (seen: %s)", ErrNotServed, timeout, seen)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(every):
		}
	}
}

// Chain returns the chain a TLS server at addr presents for serverName.
// It does not verify the chain: the rotation's verify step does that.
func Chain(ctx context.Context, addr, serverName string) ([]*x509.Certificate, error) {
	dialer := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 10 * time.Second},
		Config: &tls.Config{ServerName: serverName, InsecureSkipVerify: true}} //nolint:gosec // verification happens in the verify step, against the CA's roots
	conn, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "TLS handshake with %s: %w", addr, err)
	}
	defer conn.Close()
	return conn.(*tls.Conn).ConnectionState().PeerCertificates, nil
}
