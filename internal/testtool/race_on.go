//go:build race

package testtool

// underRace is set in race-detector builds. The race pass of make test
// runs after the main pass has run every test: a test that drives an
// outside program (Ansible, a Python client, curl) adds nothing the race
// detector can see in that program, and costs the race pass its slowest
// minutes, so there it is skipped with the reason.
const underRace = true
