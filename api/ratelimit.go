package api

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// Login limits. Failed logins count per user and client address — the
// lockout — so a stranger elsewhere cannot lock a user out of the
// addresses they use; and per address over all users, so one address
// cannot spray names. Over all addresses a looser count per user only
// slows guessing: past it, the addresses the user has not logged in from
// lately get one attempt per loginSpraySpacing between them. An attempt
// counts when it starts, before its password is hashed, and is given back
// if it succeeds.
const (
	loginFailuresPerUserAddr = 10
	loginFailuresPerAddr     = 50
	loginFailuresPerUser     = 100
	loginSpraySpacing        = 5 * time.Second
	loginWindow              = 15 * time.Minute
	// knownAddressFor is how long a successful login exempts its address
	// from the per-user slowing.
	knownAddressFor = 30 * 24 * time.Hour
	// maxLimitKeys bounds each map however many names and addresses are
	// tried; past it the oldest-looking entries are dropped (see trim).
	maxLimitKeys = 100000
	// knownPerUser bounds the remembered addresses of one user.
	knownPerUser = 16
)

// loginLimits holds the counts in memory: each replica counts the logins
// it serves, and a restart forgets them.
type loginLimits struct {
	mu                   sync.Mutex
	userAddr, addr, user hits
	next                 map[string]time.Time            // user → earliest attempt from an unfamiliar address
	known                map[string]map[string]time.Time // user → address → last successful login
}

func newLoginLimits() *loginLimits {
	return &loginLimits{userAddr: hits{}, addr: hits{}, user: hits{}, next: map[string]time.Time{}, known: map[string]map[string]time.Time{}}
}

// loginTicket is one counted attempt, given back with release or
// succeeded when it is not a failed guess.
type loginTicket struct {
	user, addr string
	at         time.Time
}

// reserve counts an attempt by user from ip at now, or says how long to
// wait when a limit is reached.
func (l *loginLimits) reserve(user, ip string, now time.Time) (loginTicket, time.Duration, bool) {
	u, a := userKey(user), addrKey(ip)
	ua := u + "\x00" + a
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait := l.userAddr.wait(ua, now, loginFailuresPerUserAddr); wait > 0 {
		return loginTicket{}, wait, false
	}
	if wait := l.addr.wait(a, now, loginFailuresPerAddr); wait > 0 {
		return loginTicket{}, wait, false
	}
	if !l.familiar(u, a, now) && l.user.wait(u, now, loginFailuresPerUser) > 0 {
		if next := l.next[u]; now.Before(next) {
			return loginTicket{}, next.Sub(now), false
		}
		l.next[u] = now.Add(loginSpraySpacing)
		trim(l.next, func(t time.Time) bool { return !now.Before(t) })
	}
	l.userAddr.add(ua, now)
	l.addr.add(a, now)
	l.user.add(u, now)
	return loginTicket{user: u, addr: a, at: now}, 0, true
}

// release gives back an attempt that was not a failed guess: the server
// was busy, or could not check it.
func (l *loginLimits) release(t loginTicket) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.userAddr.remove(t.user+"\x00"+t.addr, t.at)
	l.addr.remove(t.addr, t.at)
	l.user.remove(t.user, t.at)
}

// succeeded gives back a successful attempt and remembers its address as
// one the user logs in from.
func (l *loginLimits) succeeded(t loginTicket, now time.Time) {
	l.release(t)
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.known[t.user]
	if m == nil {
		m = map[string]time.Time{}
		l.known[t.user] = m
		trim(l.known, func(m map[string]time.Time) bool { return len(m) == 0 })
	}
	m[t.addr] = now
	for len(m) > knownPerUser {
		oldest := t.addr
		for a, at := range m {
			if at.Before(m[oldest]) {
				oldest = a
			}
		}
		delete(m, oldest)
	}
}

// unlock forgets user's failures: their lockouts at every address and the
// slowing. Failures counted against an address stay: they are that
// address's, over all users.
func (l *loginLimits) unlock(user string) {
	u := userKey(user)
	l.mu.Lock()
	defer l.mu.Unlock()
	for k := range l.userAddr {
		if strings.HasPrefix(k, u+"\x00") {
			delete(l.userAddr, k)
		}
	}
	delete(l.user, u)
	delete(l.next, u)
}

func (l *loginLimits) familiar(u, a string, now time.Time) bool {
	at, ok := l.known[u][a]
	return ok && now.Sub(at) < knownAddressFor
}

// hits are the attempts counted per key in the last loginWindow.
type hits map[string][]time.Time

// wait returns how long until key has fewer than max hits: 0 if it has.
func (h hits) wait(key string, now time.Time, max int) time.Duration {
	hs := h.live(key, now)
	if len(hs) < max {
		return 0
	}
	return hs[len(hs)-max].Add(loginWindow).Sub(now)
}

func (h hits) add(key string, now time.Time) {
	h[key] = append(h.live(key, now), now)
	if len(h) > maxLimitKeys {
		for k := range h {
			h.live(k, now)
		}
		trim(h, func([]time.Time) bool { return false })
	}
}

// remove takes back one hit of key made at at.
func (h hits) remove(key string, at time.Time) {
	hs := h[key]
	for i, t := range hs {
		if t.Equal(at) {
			hs = append(hs[:i], hs[i+1:]...)
			break
		}
	}
	if len(hs) == 0 {
		delete(h, key)
		return
	}
	h[key] = hs
}

// live returns key's hits in the window, forgetting older ones.
func (h hits) live(key string, now time.Time) []time.Time {
	hs := h[key]
	i := 0
	for i < len(hs) && now.Sub(hs[i]) >= loginWindow {
		i++
	}
	if hs = hs[i:]; len(hs) == 0 {
		delete(h, key)
		return nil
	}
	h[key] = hs
	return hs
}

// trim keeps m within maxLimitKeys: first dropping the entries stale
// reports as dead, then arbitrary ones. Dropping counts lets a flood of
// fresh names or addresses forget older ones; the alternative, refusing
// everyone, would hand the flood a lockout of all users.
func trim[V any](m map[string]V, stale func(V) bool) {
	if len(m) <= maxLimitKeys {
		return
	}
	for k, v := range m {
		if stale(v) {
			delete(m, k)
		}
	}
	for k := range m {
		if len(m) <= maxLimitKeys*9/10 {
			break
		}
		delete(m, k)
	}
}

// userKey is the name limits count under: the user the store would find
// (ottr.NormalizeUsername), so neither case nor padding makes another one.
func userKey(user string) string { return ottr.NormalizeUsername(user) }

// addrKey is the address limits count under: an IPv6 client holds a whole
// /64, so its /64 is one address.
func addrKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.WithZone("").Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
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
