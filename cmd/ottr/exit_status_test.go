package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// startServer runs 'ottr serve' on its own database with an ADMIN and a
// DEVELOPER, and returns its URL.
func startServer(t *testing.T) string {
	t.Helper()
	srv := newCLI(t)
	for _, u := range [][]string{{"admin", "ADMIN", "Adm1n.Passw0rd"}, {"dev", "DEVELOPER", "Dev.Passw0rd1"}} {
		if _, stderr, err := srv.run(u[2]+"\n", "user", "create", "--username", u[0], "--role", u[1], "--password-stdin"); err != nil {
			t.Fatalf("user %s: %v %s", u[0], err, stderr)
		}
	}
	url := serveUnreachableCA(t, srv)
	return url
}

// TestExitStatus has a case for every row of docs/cli.md's exit status
// table, locally and through a server, each with what stderr must say.
func TestExitStatus(t *testing.T) {
	local := newCLI(t)
	local.ok("asset", "add", "fw01.example.com", "--platform", "panos", "--os", "9.1.0", "--model", "PA-XXXX", "--ca", "lets_encrypt")
	badConfig := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(badConfig, []byte("router:\n  intervall: 5m\n"), 0o600)
	emptyFile := filepath.Join(t.TempDir(), "route.json")
	os.WriteFile(emptyFile, nil, 0o600)

	url := startServer(t)
	home := t.TempDir()
	runWith := func(env map[string]string) func(string, ...string) (string, string, error) {
		return func(stdin string, args ...string) (string, string, error) {
			var out, errb bytes.Buffer
			err := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
			return out.String(), errb.String(), err
		}
	}
	remote := runWith(map[string]string{"HOME": home})
	withToken := runWith(map[string]string{"HOME": home, "OTTR_TOKEN": "a.b.c"})
	if _, stderr, err := remote("Adm1n.Passw0rd\n", "login", "--server", url, "-u", "admin", "--password-stdin"); err != nil {
		t.Fatalf("login: %v %s", err, stderr)
	}
	if _, stderr, err := remote("", "asset", "add", "fw02.example.com", "--platform", "panos", "--os", "9.1.0", "--model", "PA-XXXX", "--ca", "lets_encrypt"); err != nil {
		t.Fatalf("asset add as ADMIN: %v %s", err, stderr)
	}
	if _, stderr, err := remote("Dev.Passw0rd1\n", "login", "--server", url, "-u", "dev", "--password-stdin"); err != nil {
		t.Fatalf("login as dev: %v %s", err, stderr)
	}

	type runner func(stdin string, args ...string) (string, string, error)
	for _, tc := range []struct {
		name   string
		run    runner
		args   []string
		status int
		stderr []string // each must appear, and exactly once
		stdout string
	}{
		{"done", local.run, []string{"asset", "list"}, 0, nil, "fw01.example.com"},
		{"done through a server", remote, []string{"asset", "get", "fw02.example.com"}, 0, nil, "fw02.example.com"},

		{"invalid input names the field", local.run, []string{"asset", "add", "sw01.example.com", "--platform", "cisco", "--ca", "lets_encrypt"}, 1, []string{"host_platform"}, ""},
		{"conflict", local.run, []string{"asset", "add", "fw01.example.com", "--platform", "panos", "--os", "9.1.0", "--model", "PA-XXXX", "--ca", "lets_encrypt"}, 1, []string{"fw01.example.com", "Change it with ottr asset update"}, ""},

		{"a file that does not parse", local.run, []string{"route", "check", emptyFile}, 1, []string{"the document is empty"}, ""},
		{"a configuration that does not load", local.run, []string{"--config", badConfig, "asset", "list"}, 1, []string{"router.intervall: unknown key"}, ""},
		// A failed rotation (1) is TestRotateCommand's.

		{"a command group alone shows its help", local.run, []string{"asset"}, 0, nil, "Available Commands:"},
		{"missing argument", local.run, []string{"asset", "get"}, 2, []string{"missing SYSTEM_NAME", "usage: ottr asset get SYSTEM_NAME", "Run 'ottr asset get --help'"}, ""},
		{"missing argument through a server", remote, []string{"asset", "get"}, 2, []string{"missing SYSTEM_NAME"}, ""},
		{"missing argument of delete", local.run, []string{"asset", "delete"}, 2, []string{"missing SYSTEM_NAME"}, ""},
		{"extra argument", local.run, []string{"asset", "get", "a", "b"}, 2, []string{`unexpected argument "b"`}, ""},
		{"argument to a command that takes none", local.run, []string{"asset", "list", "fw01"}, 2, []string{`unexpected argument "fw01"`}, ""},
		{"unknown command", local.run, []string{"rotat"}, 2, []string{`unknown command "rotat" for "ottr"`, "did you mean rotate"}, ""},
		{"unknown subcommand", local.run, []string{"asset", "lst"}, 2, []string{`unknown command "lst" for "ottr asset"`, "did you mean", "Run 'ottr asset --help'"}, ""},
		{"unknown flag", local.run, []string{"asset", "list", "--bogus"}, 2, []string{"unknown flag: --bogus"}, ""},
		{"flag value of the wrong kind", local.run, []string{"asset", "list", "--days-until-expiration", "x"}, 2, []string{`--days-until-expiration "x": want a whole number`}, ""},
		{"duration flag without a unit", local.run, []string{"rotate", "fw01.example.com", "--timeout", "5"}, 2, []string{`--timeout "5": want a duration`}, ""},
		{"configuration problems", local.run, []string{"--config", badConfig, "config", "check"}, 2, []string{"router.intervall"}, ""},

		{"not logged in", remote, []string{"--server", "http://127.0.0.1:9", "asset", "list"}, 3, []string{"ottr login --server http://127.0.0.1:9"}, ""},
		{"role too low to add", remote, []string{"asset", "add", "fw03.example.com", "--platform", "panos", "--os", "9.1.0", "--model", "PA-XXXX", "--ca", "lets_encrypt"}, 3, []string{"PRIVILEGED", "Ask an ADMIN"}, ""},
		{"role too low to delete", remote, []string{"asset", "delete", "fw02.example.com"}, 3, []string{"PRIVILEGED"}, ""},
		// Said once, not once per name.
		{"role too low to delete several", remote, []string{"asset", "delete", "fw02.example.com", "fw02.example.com"}, 3, []string{"PRIVILEGED", "Ask an ADMIN"}, ""},

		{"no such asset", local.run, []string{"asset", "get", "nope.example.com"}, 4, []string{`"nope.example.com" not found`, "ottr asset list shows"}, ""},
		{"no such asset through a server", remote, []string{"asset", "get", "nope.example.com"}, 4, []string{"not found"}, ""},
		{"none of the assets to delete exist", local.run, []string{"asset", "delete", "nope1.example.com", "nope2.example.com"}, 4, []string{"nope1.example.com", "nope2.example.com"}, ""},

		{"server unreachable", withToken, []string{"--server", "http://127.0.0.1:1", "asset", "list"}, 5, []string{"connection refused", "try again"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			out, stderr, err := tc.run("", args...)
			if got := exitCode(err); got != tc.status {
				t.Errorf("ottr %s: exit status %d, want %d\n%s", strings.Join(args, " "), got, tc.status, stderr)
			}
			for _, w := range tc.stderr {
				if n := strings.Count(stderr, w); n != 1 {
					t.Errorf("ottr %s: stderr says %q %d times, want once:\n%s", strings.Join(args, " "), w, n, stderr)
				}
			}
			for _, leak := range []string{"strconv", "Go value", "main.", "arg(s)"} {
				if strings.Contains(stderr, leak) {
					t.Errorf("ottr %s: stderr shows %q:\n%s", strings.Join(args, " "), leak, stderr)
				}
			}
			if tc.status != 0 && !strings.HasPrefix(stderr, "ottr: ") {
				t.Errorf("ottr %s: stderr does not start with the error:\n%s", strings.Join(args, " "), stderr)
			}
			if !strings.Contains(out, tc.stdout) {
				t.Errorf("ottr %s: stdout lacks %q:\n%s", strings.Join(args, " "), tc.stdout, out)
			}
		})
	}
}
