// Package testtool finds the outside programs a test drives (vendor
// clients, servers) and decides what happens when one is missing: outside
// CI the test is skipped with the reason, under CI=true it fails, because
// .ci/run installs every component and nothing that matters may be skipped.
package testtool

import (
	"os"
	"os/exec"
	"testing"
)

// DebianPython is the interpreter Debian's python3-* packages serve.
const DebianPython = "/usr/bin/python3"

// Missing skips the test (or fails it under CI=true) with the reason.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// Need returns the path of the named program, or stops the test as
// Missing does, naming the Debian package that provides it.
func Need(t testing.TB, program, debianPackage string) string {
	t.Helper()
	if vendorClients[program] {
		VendorClient(t, program)
	}
	p, err := exec.LookPath(program)
	if err != nil {
		Missing(t, "%s not found (apt-get install %s)", program, debianPackage)
	}
	return p
}

// NeedPython checks that Debian's python3 can import module (from
// debianPackage) and returns that interpreter's path. Debian's interpreter
// comes first: the python3-* packages install for it, not for one a
// version manager put earlier in PATH.
func NeedPython(t testing.TB, module, debianPackage string) string {
	t.Helper()
	VendorClient(t, "python3 "+module)
	py := DebianPython
	if _, err := os.Stat(py); err != nil {
		py = Need(t, "python3", "python3")
	}
	if out, err := exec.Command(py, "-c", "import "+module).CombinedOutput(); err != nil {
		Missing(t, "python3 cannot import %s (apt-get install %s): %s", module, debianPackage, out)
	}
	return py
}

// vendorClients are the outside clients that only check a simulator or
// mint test data; Need skips tests needing them in the race pass. Tools a
// driver's own code runs (bash, openssl) are not among them: there the
// race detector watches the driver.
var vendorClients = map[string]bool{"ansible-playbook": true, "curl": true, "redfishtool": true, DebianPython: true}

// VendorClient marks a test that checks a simulator with a vendor's own
// client: it is skipped in the race pass (Need does this for
// vendorClients; the AWS CLI, at a fixed path, is marked by hand).
func VendorClient(t testing.TB, program string) {
	t.Helper()
	MainPassOnly(t, "it drives "+program+"; the race detector sees nothing in an outside program")
}

// MainPassOnly skips a test in the race pass, saying why: one that times
// sequential requests, or drives a browser, gives the race detector nothing
// the main pass's run and the concurrent tests do not. .ci/test finds such
// skips by their "run by the main pass" and runs them without -race.
func MainPassOnly(t testing.TB, why string) {
	t.Helper()
	if underRace {
		t.Skip("run by the main pass: " + why)
	}
}
