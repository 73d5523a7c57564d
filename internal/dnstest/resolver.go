// Package dnstest starts the simulated recursive resolver (sim/resolver)
// for tests.
package dnstest

import (
	"testing"

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
