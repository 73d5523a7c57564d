package api

import (
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// fail makes n failed attempts for user from addr at now.
func fail(t *testing.T, l *loginLimits, user, addr string, n int, now time.Time) {
	t.Helper()
	for i := range n {
		if _, wait, ok := l.reserve(user, addr, now); !ok {
			t.Fatalf("%s from %s, attempt %d: refused (wait %v)", user, addr, i+1, wait)
		}
	}
}

func allowed(l *loginLimits, user, addr string, now time.Time) (time.Duration, bool) {
	tk, wait, ok := l.reserve(user, addr, now)
	if ok {
		l.release(tk) // a probe, not a guess
	}
	return wait, ok
}

func TestLoginLimitKeys(t *testing.T) {
	l := newLoginLimits()
	fail(t, l, "alice", "192.0.2.1", loginFailuresPerUserAddr, t0)
	if wait, ok := allowed(l, "alice", "192.0.2.1", t0); ok || wait <= 0 || wait > loginWindow {
		t.Errorf("alice from the failing address: allowed %v, wait %v", ok, wait)
	}
	// Case does not make another user of alice.
	if _, ok := allowed(l, "ALICE", "192.0.2.1", t0); ok {
		t.Error("ALICE is not held up with alice")
	}
	// Nor do the blanks the store trims: " alice\t" logs in as alice.
	if _, ok := allowed(l, " alice\t", "192.0.2.1", t0); ok {
		t.Error("a padded alice is not held up with alice")
	}
	for _, c := range []struct{ user, addr string }{{"alice", "192.0.2.2"}, {"bob", "192.0.2.1"}} {
		if _, ok := allowed(l, c.user, c.addr, t0); !ok {
			t.Errorf("%s from %s is held up by alice's failures from 192.0.2.1", c.user, c.addr)
		}
	}
	// The window passes.
	if _, ok := allowed(l, "alice", "192.0.2.1", t0.Add(loginWindow)); !ok {
		t.Error("still locked after the window")
	}
	// An IPv6 client holds a /64: its addresses count as one.
	fail(t, l, "carol", "2001:db8:1:2::1", loginFailuresPerUserAddr-1, t0)
	fail(t, l, "carol", "2001:db8:1:2::ffff", 1, t0)
	if _, ok := allowed(l, "carol", "2001:db8:1:2:aaaa::9", t0); ok {
		t.Error("another address in the same /64 is not held up")
	}
	if _, ok := allowed(l, "carol", "2001:db8:1:3::1", t0); !ok {
		t.Error("another /64 is held up")
	}
	if _, ok := allowed(l, "carol", "::ffff:192.0.2.77", t0); !ok {
		t.Error("an IPv4 client is held up by an IPv6 /64")
	}
}

// One address may fail loginFailuresPerAddr times over all users.
func TestLoginLimitPerAddress(t *testing.T) {
	l := newLoginLimits()
	for i := range loginFailuresPerAddr {
		fail(t, l, fmt.Sprintf("user%d", i), "198.51.100.1", 1, t0)
	}
	if _, ok := allowed(l, "someone-else", "198.51.100.1", t0); ok {
		t.Error("the spraying address is not held up")
	}
	if _, ok := allowed(l, "someone-else", "198.51.100.2", t0); !ok {
		t.Error("another address is held up")
	}
}

// Attempts count when they start: while 10 are being checked, the 11th
// waits for them. One that succeeds, or fails for the server's sake, gives
// its place back.
func TestLoginLimitReserves(t *testing.T) {
	l := newLoginLimits()
	var tickets []loginTicket
	for range loginFailuresPerUserAddr {
		tk, _, ok := l.reserve("alice", "192.0.2.1", t0)
		if !ok {
			t.Fatal("refused before the limit")
		}
		tickets = append(tickets, tk)
	}
	if _, ok := allowed(l, "alice", "192.0.2.1", t0); ok {
		t.Fatal("an 11th attempt while 10 are in flight")
	}
	l.succeeded(tickets[0], t0)
	l.release(tickets[1])
	for range 2 {
		if _, _, ok := l.reserve("alice", "192.0.2.1", t0); !ok {
			t.Fatal("places given back were not reusable")
		}
	}
	if _, ok := allowed(l, "alice", "192.0.2.1", t0); ok {
		t.Fatal("more than 10 counted attempts")
	}
}

// Past loginFailuresPerUser failures from everywhere, a user's logins from
// addresses they have not logged in from are spaced out; from the
// addresses they use, nothing changes.
func TestLoginLimitSlowsSpraying(t *testing.T) {
	l := newLoginLimits()
	tk, _, _ := l.reserve("alice", "192.0.2.1", t0)
	l.succeeded(tk, t0) // alice's usual address
	for i := range loginFailuresPerUser {
		fail(t, l, "alice", fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), 1, t0)
	}
	now := t0.Add(time.Second)
	fail(t, l, "alice", "10.9.9.9", 1, now) // the next stranger gets through...
	wait, ok := allowed(l, "alice", "10.9.9.10", now)
	if ok || wait <= 0 || wait > loginSpraySpacing {
		t.Errorf("a second stranger at once: allowed %v, wait %v; want a wait up to %v", ok, wait, loginSpraySpacing)
	}
	if _, ok := allowed(l, "alice", "10.9.9.10", now.Add(loginSpraySpacing)); !ok {
		t.Error("slowed is not locked: after the spacing a stranger may try again")
	}
	if _, ok := allowed(l, "alice", "192.0.2.1", now); !ok {
		t.Error("alice's usual address is slowed")
	}
	if _, ok := allowed(l, "bob", "10.9.9.10", now); !ok {
		t.Error("another user is slowed")
	}
}

func TestLoginLimitUnlock(t *testing.T) {
	l := newLoginLimits()
	fail(t, l, "alice", "192.0.2.1", loginFailuresPerUserAddr, t0)
	fail(t, l, "alice", "192.0.2.2", loginFailuresPerUserAddr, t0)
	fail(t, l, "bob", "192.0.2.1", loginFailuresPerUserAddr, t0)
	l.unlock("Alice")
	for _, addr := range []string{"192.0.2.1", "192.0.2.2"} {
		if _, ok := allowed(l, "alice", addr, t0); !ok {
			t.Errorf("alice from %s still locked after unlock", addr)
		}
	}
	if _, ok := allowed(l, "bob", "192.0.2.1", t0); ok {
		t.Error("unlocking alice unlocked bob")
	}
}

// The maps stay bounded however many names and addresses are tried.
func TestLoginLimitBounded(t *testing.T) {
	l := newLoginLimits()
	for i := range maxLimitKeys + 10 {
		tk, _, ok := l.reserve(fmt.Sprintf("u%d", i), fmt.Sprintf("2001:db8:%x:%x::1", i>>16, i&0xffff), t0)
		if ok && i%2 == 0 {
			l.succeeded(tk, t0) // half succeed (remembered addresses), half fail (counted)
		}
	}
	for name, n := range map[string]int{"userAddr": len(l.userAddr), "addr": len(l.addr), "user": len(l.user), "known": len(l.known)} {
		if n > maxLimitKeys {
			t.Errorf("%s holds %d keys, over %d", name, n, maxLimitKeys)
		}
	}
}
