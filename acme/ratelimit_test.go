package acme_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	acmez "github.com/mholt/acmez/v3/acme"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	"github.com/ottr-dev/ottr/internal/acmetest"
)

// A CA's rate limit is a transient error that carries the CA's detail and
// its Retry-After. A proxy in front of Pebble answers new orders with the
// problem document Let's Encrypt sends.
func TestRateLimitIsTransientWithRetryAfter(t *testing.T) {
	e := newEnv(t, acmetest.Options{})
	e.delegate("rl.example.com")
	up, _ := url.Parse(e.pebble.Directory)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(e.pebble.TLSRootPEM)

	rp := &httputil.ReverseProxy{
		// Keep the Host header: Pebble builds its URLs, and checks the JWS
		// "url", from the host the client used.
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(&url.URL{Scheme: "https", Host: up.Host})
			r.Out.Host = r.In.Host
		},
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/order-plz" {
			w.Header().Set("Content-Type", "application/problem+json")
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"type":"urn:ietf:params:acme:error:rateLimited","detail":"too many new orders (300) from this account in the last 3h0m0s, retry after 2026-11-23 12:00:00 UTC: see https://letsencrypt.org/docs/rate-limits/#new-orders-per-account","status":429}`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	proxy.StartTLS()
	defer proxy.Close()

	ca := e.ca()
	ca.Directory = proxy.URL + up.Path
	ca.DirectoryCA = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: proxy.Certificate().Raw})
	csr, _ := newCSR(t, "rl.example.com", "rl.example.com")
	_, err := e.issuer(map[string]acme.CA{"limited": ca}).Issue(t.Context(), ottr.IssueRequest{CA: "limited", CSR: csr})
	if ottr.ErrorCode(err) != ottr.EUNAVAILABLE || ottr.IsPermanent(err) {
		t.Fatalf("err = %v, want transient EUNAVAILABLE", err)
	}
	// The CA's problem document stays reachable behind the ottr.Error.
	if p := (acmez.Problem{}); !errors.As(err, &p) || p.Type != acmez.ProblemTypeRateLimited {
		t.Errorf("errors.As(%q, acme.Problem) = %v, want the CA's rateLimited problem", err, p.Type)
	}
	if n := strings.Count(err.Error(), "too many new orders"); n != 1 {
		t.Errorf("the CA's detail is in %q %d times, want once", err, n)
	}
	if got := ottr.ErrorRetryAfter(err); got != 120*time.Second {
		t.Errorf("RetryAfter = %v, want 2m0s", got)
	}
	for _, w := range []string{"CA limited", "rateLimited", "too many new orders"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
	if left := e.zone.left(); len(left) != 0 {
		t.Errorf("TXT records left behind: %v", left)
	}
}
