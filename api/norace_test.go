//go:build !race

package api_test

// raceEnabled is set when the tests run under the race detector, which
// slows them several times: time budgets scale with it.
const raceEnabled = false
