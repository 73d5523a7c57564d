// Package chaos holds Ottr's crash tests; it has no code outside them.
//
// The tests run the real `ottr serve` binary against a fleet of simulated
// PAN-OS firewalls (sim/panos), an in-process Pebble (internal/acmetest)
// and a simulated recursive resolver (sim/resolver) that delegates the
// challenge zone to every replica's built-in DNS server, then kill
// replicas with SIGKILL while they rotate and check afterwards, against the
// database, the devices and the CA, that every rotation ended once and
// well:
//
//   - TestReplicasSurviveKills: three replicas on one PostgreSQL database,
//     one killed at random every few seconds; every asset ends rotated, the
//     killed replicas' rotations are resumed elsewhere within 60 s, no two
//     replicas work on one device at once, and the CA issues no more
//     certificates than assets plus kills.
//   - TestRestartResumesOwnRotations: one server on SQLite killed during
//     its rotations' order and install steps and started again resumes
//     them, from the step each had recorded, within 60 s.
//
// They need PostgreSQL (OTTR_TEST_POSTGRES_DSN) for the first and build
// the binary with the go tool; outside CI a missing PostgreSQL skips the
// first, under CI=true it fails it. `go test -short` skips both.
package chaos
