// Package faultbin makes a host's commands fail on purpose, to test what a
// rotation leaves on a host when one of its steps fails there. A shim
// named after the command, in a directory put first on the PATH of the
// host's shell sessions, fails the calls whose arguments match — as a full
// disk, a read-only file system or a broken binary makes mv, cp, cat or
// openssl fail — and runs the real command for every other call.
//
// sim/linuxhost puts such a directory on the PATH of its sshd sessions and
// sim/ssm on its instances' commands; a test of a driver that runs local
// scripts puts one on the PATH it gives them.
package faultbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Fault is one command failing.
type Fault struct {
	// Command is the program's name (mv, cp, cat, chown, openssl…).
	Command string
	// Match limits the failure to calls with an argument containing it;
	// "" fails every call.
	Match string
	// Message is printed on standard error; default "<command>:
	// Input/output error".
	Message string
	// Partial, for a command that copies its standard input out (cat),
	// passes this many bytes through before failing, as a disk that fills
	// up mid-way does.
	Partial int
}

// Set replaces the shims in dir with one per fault (several faults for
// one command each fail their matching calls). Set(dir) with no faults
// lets every command run.
func Set(dir string, faults ...Fault) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range old {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	byCommand := map[string][]Fault{}
	var order []string
	for _, f := range faults {
		if f.Command == "" || strings.ContainsAny(f.Command, "/ ") {
			return fmt.Errorf("faultbin: %q is not a command name", f.Command)
		}
		if byCommand[f.Command] == nil {
			order = append(order, f.Command)
		}
		byCommand[f.Command] = append(byCommand[f.Command], f)
	}
	for _, name := range order {
		real, err := lookPath(name, dir)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(shim(real, byCommand[name])), 0o755); err != nil {
			return err
		}
	}
	return nil
}

// PATH returns a PATH with dir first, before rest.
func PATH(dir, rest string) string {
	if rest == "" {
		rest = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	}
	return dir + string(os.PathListSeparator) + rest
}

// lookPath finds the real command, never a shim in dir.
func lookPath(name, dir string) (string, error) {
	path := os.Getenv("PATH") + ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, d := range filepath.SplitList(path) {
		if d == "" || filepath.Clean(d) == filepath.Clean(dir) {
			continue
		}
		p := filepath.Join(d, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("faultbin: %s: %w", name, exec.ErrNotFound)
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// shim is a POSIX shell script that fails the calls faults match and runs
// real for the others.
func shim(real string, faults []Fault) string {
	var b strings.Builder
	b.WriteString("#!/bin/sh\n# faultbin: fails matching calls, runs the real command for the others\n")
	for _, f := range faults {
		msg := f.Message
		if msg == "" {
			msg = f.Command + ": Input/output error"
		}
		cond := "true"
		if f.Match != "" {
			cond = fmt.Sprintf(`for a in "$@"; do case "$a" in *%s*) m=1;; esac; done; [ -n "$m" ]`, quote(f.Match))
		}
		fmt.Fprintf(&b, "m=\nif %s; then\n", cond)
		if f.Partial > 0 {
			fmt.Fprintf(&b, "  head -c %d\n", f.Partial)
		}
		fmt.Fprintf(&b, "  echo %s >&2\n  exit 1\nfi\n", quote(msg))
	}
	fmt.Fprintf(&b, "exec %s \"$@\"\n", quote(real))
	return b.String()
}
