// Package dnstest starts the simulated recursive resolver (sim/resolver)
// for tests, and a Recorder that relays to any resolver and records what
// it was asked.
package dnstest

import (
	"testing"

	"github.com/ottr-dev/ottr"
	ottrdns "github.com/ottr-dev/ottr/dns"

	"github.com/ottr-dev/ottr/sim/resolver"
)

// Resolver is the simulated recursive resolver.
type Resolver = resolver.Resolver

// Start starts a Resolver and stops it when the test ends.
func Start(tb testing.TB) *Resolver {
	tb.Helper()
	r, err := resolver.Start()
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(r.Close)
	return r
}

// StartDetached starts a Resolver that runs until the process exits, for
// benchmarks that share one across sub-benchmarks.
func StartDetached() *Resolver {
	r, err := resolver.Start()
	if err != nil {
		panic(err)
	}
	return r
}

// StartZone starts the built-in DNS server for zone on store and a
// Resolver that delegates zone to it, both stopped when the test ends.
func StartZone(tb testing.TB, store ottr.TXTStore, zone string) (*ottrdns.Server, *Resolver) {
	tb.Helper()
	srv := &ottrdns.Server{Zones: []string{zone}, Store: store}
	if err := srv.Listen(tb.Context(), "127.0.0.1:0"); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(srv.Close)
	res := Start(tb)
	res.Delegate(zone, srv.Addr())
	return srv, res
}
