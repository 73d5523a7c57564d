package served_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
	"github.com/ottr-dev/ottr/internal/testpki"
)

func TestChain(t *testing.T) {
	ca := testpki.NewCA("served test CA")
	cert := ca.ServerCert("dev1.example.com")
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	chain, err := served.Chain(t.Context(), srv.Listener.Addr().String(), "dev1.example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 2 || !bytes.Equal(chain[0].Raw, cert.Certificate[0]) || !chain[1].Equal(ca.Cert) {
		t.Errorf("chain: %d certificates, not the served leaf and CA", len(chain))
	}

	// Nothing listening: unavailable, retried by the engine.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	if _, err := served.Chain(t.Context(), addr, "dev1.example.com"); ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("closed port: %v, want EUNAVAILABLE", err)
	}
}

func TestAwait(t *testing.T) {
	oldLeaf := &x509.Certificate{Raw: []byte("old"), SerialNumber: nil}
	newLeaf := &x509.Certificate{Raw: []byte("new")}
	t.Run("served after a restart", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			calls := 0
			current := func(context.Context) ([]*x509.Certificate, error) {
				calls++
				if calls < 3 {
					return nil, ottr.Errorf(ottr.EUNAVAILABLE, "restarting")
				}
				return []*x509.Certificate{newLeaf}, nil
			}
			if err := served.Await(t.Context(), current, newLeaf, time.Minute, time.Second); err != nil {
				t.Errorf("Await: %v", err)
			}
			if calls != 3 {
				t.Errorf("%d polls, want 3", calls)
			}
		})
	})
	t.Run("still the old certificate", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			current := func(context.Context) ([]*x509.Certificate, error) { return []*x509.Certificate{oldLeaf}, nil }
			start := time.Now()
			err := served.Await(t.Context(), current, newLeaf, time.Minute, time.Second)
			if !errors.Is(err, served.ErrNotServed) {
				t.Errorf("Await: %v, want ErrNotServed", err)
			}
			if d := time.Since(start); d < time.Minute || d > time.Minute+2*time.Second {
				t.Errorf("gave up after %s, want about 1m", d)
			}
		})
	})
	t.Run("cancelled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			defer cancel()
			current := func(context.Context) ([]*x509.Certificate, error) { return []*x509.Certificate{oldLeaf}, nil }
			if err := served.Await(ctx, current, newLeaf, time.Hour, time.Second); !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Await: %v, want the context's error", err)
			}
		})
	})
}
