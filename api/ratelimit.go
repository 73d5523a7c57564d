package api

import (
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// failures counts failed logins per key in a sliding window.
type failures struct {
	mu     sync.Mutex
	window time.Duration
	max    int
	hits   map[string][]time.Time
}

func newFailures(max int, window time.Duration) *failures {
	return &failures{window: window, max: max, hits: map[string][]time.Time{}}
}

// blocked reports whether key has used up its failures, and for how long.
func (f *failures) blocked(key string, now time.Time) (bool, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	hs := f.prune(key, now)
	if len(hs) < f.max {
		return false, 0
	}
	return true, hs[0].Add(f.window).Sub(now)
}

func (f *failures) add(key string, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hits[key] = append(f.prune(key, now), now)
	if len(f.hits) > 100000 { // bound memory under a spray of names
		for k := range f.hits {
			if len(f.prune(k, now)) == 0 {
				delete(f.hits, k)
			}
		}
	}
}

func (f *failures) prune(key string, now time.Time) []time.Time {
	hs := f.hits[key]
	i := 0
	for i < len(hs) && now.Sub(hs[i]) >= f.window {
		i++
	}
	hs = hs[i:]
	if len(hs) == 0 {
		delete(f.hits, key)
		return nil
	}
	f.hits[key] = hs
	return hs
}

type clientIPKey struct{}

// withClientIP records the peer's address for rate limits. Proxy headers
// are not trusted: behind a proxy every client shares its address.
func withClientIP(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			host = r.RemoteAddr
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientIPKey{}, host)))
	})
}

func clientIP(ctx context.Context) string {
	ip, _ := ctx.Value(clientIPKey{}).(string)
	return ip
}

// tooMany is a 429 with Retry-After.
func tooMany(wait time.Duration) error {
	secs := int(wait/time.Second) + 1
	return huma.ErrorWithHeaders(huma.NewError(http.StatusTooManyRequests, "too many failed logins; try again in "+strconv.Itoa(secs)+"s"),
		http.Header{"Retry-After": {strconv.Itoa(secs)}})
}
