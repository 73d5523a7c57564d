//go:build race

package testtool

// underRace is set in race-detector builds. make test (.ci/test) runs the
// concurrent packages under the race detector, then runs without it the
// tests skipped there as the main pass's: a test that drives an outside
// program (Ansible, a Python client, curl), times requests or checks a
// browser adds nothing the detector can see, and is slowed most by it.
const underRace = true
