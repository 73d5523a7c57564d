package faultbin_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr/sim/faultbin"
)

func run(t *testing.T, dir, script string, stdin string) (string, string, error) {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+faultbin.PATH(dir, os.Getenv("PATH")))
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// A shim fails only the calls it matches, with the message given, and
// runs the real command otherwise; Set with no faults removes the shims.
func TestShims(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "faults")
	err := faultbin.Set(dir,
		faultbin.Fault{Command: "mv", Match: "b.crt", Message: "mv: cannot move: No space left on device"},
		faultbin.Fault{Command: "cat", Partial: 4})
	if err != nil {
		t.Fatal(err)
	}
	_, stderr, err := run(t, dir, `echo x > a.crt; mv a.crt b.crt`, "")
	if err == nil || !strings.Contains(stderr, "No space left") {
		t.Errorf("matching mv: %v %q", err, stderr)
	}
	if _, stderr, err := run(t, dir, `echo x > a.crt; mv a.crt c.crt && [ -f c.crt ]`, ""); err != nil {
		t.Errorf("other mv: %v %q", err, stderr)
	}
	out, _, err := run(t, dir, `cat`, "0123456789")
	if err == nil || out != "0123" {
		t.Errorf("partial cat: %q, %v", out, err)
	}
	if err := faultbin.Set(dir); err != nil {
		t.Fatal(err)
	}
	if out, _, err := run(t, dir, `cat`, "0123456789"); err != nil || out != "0123456789" {
		t.Errorf("after clearing: %q, %v", out, err)
	}
	if err := faultbin.Set(dir, faultbin.Fault{Command: "../mv"}); err == nil {
		t.Error("a path as a command name was accepted")
	}
}
