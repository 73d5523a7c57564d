package main

import (
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// version overrides the module version when set at build time with
// -ldflags "-X main.version=…" (release builds from a tarball have no VCS
// stamp to read it from).
var version = ""

// buildInfo is what 'ottr version' reports.
type buildInfo struct {
	Module    string `json:"module"`
	Version   string `json:"version"`
	Commit    string `json:"commit,omitempty"`
	CommitAt  string `json:"commit_time,omitempty"`
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"go_version"`
}

// readBuildInfo reads the version the Go toolchain stamped into the
// binary, so a build says which source it came from without a release
// process having to pass it in.
func readBuildInfo() buildInfo {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return buildInfo{Module: "github.com/ottr-dev/ottr", Version: orDevel(version), GoVersion: "unknown"}
	}
	return fromBuildInfo(bi, version)
}

func fromBuildInfo(bi *debug.BuildInfo, override string) buildInfo {
	b := buildInfo{Module: bi.Main.Path, Version: bi.Main.Version, GoVersion: bi.GoVersion}
	if b.Module == "" {
		b.Module = "github.com/ottr-dev/ottr"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Commit = s.Value
		case "vcs.time":
			b.CommitAt = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	if override != "" {
		b.Version = override
	}
	b.Version = orDevel(b.Version)
	return b
}

// orDevel names a build without a version as the toolchain does.
func orDevel(v string) string {
	if v == "" {
		return "(devel)"
	}
	return v
}

// String is the one line of 'ottr --version'.
func (b buildInfo) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "ottr %s", b.Version)
	if b.Commit != "" {
		c := b.Commit
		if len(c) > 12 {
			c = c[:12]
		}
		fmt.Fprintf(&sb, " (commit %s", c)
		if b.Modified {
			sb.WriteString(", modified")
		}
		if b.CommitAt != "" {
			fmt.Fprintf(&sb, ", %s", b.CommitAt)
		}
		sb.WriteString(")")
	}
	fmt.Fprintf(&sb, " %s %s", b.Module, b.GoVersion)
	return sb.String()
}

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, VCS commit and Go version of this build",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			b := readBuildInfo()
			if a.json() {
				return writeJSON(a.stdout, b)
			}
			tw := a.table()
			fmt.Fprintf(tw, "version\t%s\n", b.Version)
			fmt.Fprintf(tw, "module\t%s\n", b.Module)
			if b.Commit != "" {
				fmt.Fprintf(tw, "commit\t%s\n", b.Commit)
				fmt.Fprintf(tw, "commit_time\t%s\n", b.CommitAt)
				fmt.Fprintf(tw, "modified\t%t\n", b.Modified)
			} else {
				fmt.Fprintf(tw, "commit\tunknown (built without VCS information)\n")
			}
			fmt.Fprintf(tw, "go\t%s\n", b.GoVersion)
			return tw.Flush()
		},
	}
}
