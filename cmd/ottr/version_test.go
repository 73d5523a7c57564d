package main

import (
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionFromBuildInfo(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/ottr-dev/ottr", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-11-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	b := fromBuildInfo(bi, "")
	if b.Version != "v1.4.0" || b.Commit != "0123456789abcdef0123456789abcdef01234567" || !b.Modified || b.GoVersion != "go1.26.8" {
		t.Errorf("build info: %+v", b)
	}
	if s := b.String(); s != "ottr v1.4.0 (commit 0123456789ab, modified, 2026-11-01T10:00:00Z) github.com/ottr-dev/ottr go1.26.8" {
		t.Errorf("--version line: %q", s)
	}
	// -ldflags -X main.version wins over the module version; a build
	// without one says (devel), as the toolchain does.
	if b := fromBuildInfo(bi, "v1.4.1-rc1"); b.Version != "v1.4.1-rc1" {
		t.Errorf("override: %+v", b)
	}
	bi.Main.Version = ""
	if b := fromBuildInfo(bi, ""); b.Version != "(devel)" {
		t.Errorf("no version: %+v", b)
	}
}

// TestVersionCommand: the binary reports this build's Go version and
// module, not a fixed "dev".
func TestVersionCommand(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"--version"}, {"version"}} {
		out := c.ok(args...)
		if !strings.Contains(out, runtime.Version()) || !strings.Contains(out, "github.com/ottr-dev/ottr") || strings.Contains(out, "ottr dev") {
			t.Errorf("ottr %s: %q", args[0], out)
		}
	}
	if n := strings.Count(c.ok("--version"), "\n"); n != 1 {
		t.Errorf("--version prints %d lines", n)
	}
	var b buildInfo
	if err := json.Unmarshal([]byte(c.ok("version", "-o", "json")), &b); err != nil || b.GoVersion != runtime.Version() || b.Version == "" {
		t.Errorf("version -o json: %+v %v", b, err)
	}
}

// TestCompletion: Tab offers the database's asset names and rotation ids
// and the route table's platforms, each filtered by what was typed.
func TestCompletion(t *testing.T) {
	c := newCLI(t)
	fleet(t, c)
	out := c.ok("__complete", "asset", "get", "f")
	if !strings.Contains(out, "failing.example.com\tpanos") || strings.Contains(out, "healthy.example.com") {
		t.Errorf("asset completion:\n%s", out)
	}
	// Names already given are not offered again.
	if out := c.ok("__complete", "asset", "delete", "due.example.com", "d"); strings.Contains(out, "due.example.com") {
		t.Errorf("delete offers a name again:\n%s", out)
	}
	var rots []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(c.ok("rotations", "list", "-o", "json")), &rots); err != nil || len(rots) != 1 {
		t.Fatalf("rotations: %+v %v", rots, err)
	}
	out = c.ok("__complete", "rotations", "show", "")
	if !strings.Contains(out, rots[0].ID+"\trotating.example.com queued") {
		t.Errorf("rotation completion lacks %s:\n%s", rots[0].ID, out)
	}
	out = c.ok("__complete", "asset", "list", "--host-platform", "")
	for _, p := range []string{"panos", "f5", "lighthouse"} {
		if !strings.Contains(out, p+"\n") {
			t.Errorf("platform completion lacks %s:\n%s", p, out)
		}
	}
	if out := c.ok("__complete", "rotations", "list", "--state", ""); !strings.Contains(out, "running\n") || !strings.Contains(out, "canceled\n") {
		t.Errorf("state completion:\n%s", out)
	}
	// cobra's scripts exist for every shell.
	for _, sh := range []string{"bash", "zsh", "fish", "powershell"} {
		if out := c.ok("completion", sh); !strings.Contains(out, "__complete") {
			t.Errorf("completion %s has no dynamic completion:\n%.200s", sh, out)
		}
	}
}
