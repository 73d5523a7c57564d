package acme

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mholt/acmez/v3/acme"
	"github.com/ottr-dev/ottr"
)

func decodeHMAC(s string) ([]byte, error) {
	s = strings.TrimRight(strings.TrimSpace(s), "=")
	if b, err := base64.RawURLEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// retryAfterBox collects the longest Retry-After a CA sent during one
// Issue call, and the last error status; acmez does not expose them on
// every error (a 404 without problem details is only text).
type retryAfterBox struct {
	mu     sync.Mutex
	d      time.Duration
	status int
}

func (b *retryAfterBox) lastStatus() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.status
}

type retryAfterKey struct{}

func withRetryAfterBox(ctx context.Context) (context.Context, *retryAfterBox) {
	b := &retryAfterBox{}
	return context.WithValue(ctx, retryAfterKey{}, b), b
}

func (b *retryAfterBox) get() time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.d
}

type retryAfterTransport struct{ base http.RoundTripper }

func (t retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if err == nil && resp.StatusCode == http.StatusCreated && req.Method == http.MethodPost {
		if h, ok := req.Context().Value(orderHookKey{}).(orderHook); ok && req.URL.String() == h.newOrder {
			if loc := resp.Header.Get("Location"); loc != "" {
				h.fn(loc)
			}
		}
	}
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	if b, ok := req.Context().Value(retryAfterKey{}).(*retryAfterBox); ok {
		b.mu.Lock()
		b.status = resp.StatusCode
		if d := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); d > 0 {
			b.d = max(b.d, d)
		}
		b.mu.Unlock()
	}
	return resp, err
}

// orderHook tells the caller the URL of an order the moment the CA creates
// it (RFC 8555 §7.4: 201 Created with Location), before it is finalized.
type orderHook struct {
	newOrder string
	fn       func(string)
}

type orderHookKey struct{}

func parseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

// permanentProblems are ACME problem types that retrying the same request
// cannot fix.
var permanentProblems = map[string]bool{
	acme.ProblemTypeBadCSR:                  true,
	acme.ProblemTypeBadPublicKey:            true,
	acme.ProblemTypeBadSignatureAlgorithm:   true,
	acme.ProblemTypeCAA:                     true,
	acme.ProblemTypeExternalAccountRequired: true,
	acme.ProblemTypeInvalidContact:          true,
	acme.ProblemTypeMalformed:               true,
	acme.ProblemTypeRejectedIdentifier:      true,
	acme.ProblemTypeUnsupportedContact:      true,
	acme.ProblemTypeUnsupportedIdentifier:   true,
	acme.ProblemTypeUserActionRequired:      true,
	acme.ProblemTypeAccountDoesNotExist:     true,
}

// classify turns an error from the ACME exchange into an ottr.Error that
// says whether to retry, keeping the CA's problem detail.
func classify(caName string, err error, retryAfter time.Duration) error {
	if err == nil {
		return nil
	}
	var oe *ottr.Error
	if errors.As(err, &oe) {
		return err // already classified (delegation, DNS propagation)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	code := ottr.EUNAVAILABLE
	var p acme.Problem
	if errors.As(err, &p) {
		switch {
		case permanentProblems[p.Type]:
			code = ottr.EINVALID
		case p.Type == acme.ProblemTypeUnauthorized && p.Status == http.StatusForbidden && strings.Contains(strings.ToLower(p.Detail), "account"):
			code = ottr.EUNAUTHORIZED
		}
		for _, sp := range p.Subproblems {
			if permanentProblems[sp.Type] {
				code = ottr.EINVALID
			}
		}
	}
	msg := strings.TrimSpace(err.Error())
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "CA did not answer in time: " + msg
	}
	// err stays the cause: errors.As finds the CA's problem document.
	return &ottr.Error{Code: code, Message: fmt.Sprintf("CA %s: %s", caName, msg), RetryAfter: retryAfter, Err: err}
}
