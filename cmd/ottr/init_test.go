package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// tree lists every path under dir, so a test can assert that nothing was
// created.
func tree(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		if err == nil {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// runEnv runs ottr with only the given environment.
func runEnv(t *testing.T, env map[string]string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), err
}

// startServe runs ottr serve until the test ends and returns its API's
// base URL and its log.
func startServe(t *testing.T, env map[string]string, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, func(k string) string { return env[k] }, nil, io.Discard, logs)
	}()
	re := regexp.MustCompile(`msg="api listening" url=(\S+)`)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(logs.String()); m != nil {
			stop := func() error {
				cancel()
				select {
				case err := <-done:
					return err
				case <-time.After(40 * time.Second):
					t.Fatal("serve did not stop")
					return nil
				}
			}
			t.Cleanup(func() { cancel() })
			return m[1], logs, stop
		}
		select {
		case err := <-done:
			cancel()
			t.Fatalf("serve ended: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve never listened:\n%s", logs.String())
		}
	}
}

type readyBody struct {
	Status    string   `json:"status"`
	Rotations string   `json:"rotations"`
	Missing   []string `json:"missing"`
}

func getReady(t *testing.T, base string) readyBody {
	t.Helper()
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r readyBody
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/readyz: %d %v", resp.StatusCode, err)
	}
	return r
}

// TestInitCheckServe follows what 'ottr init' prints on a fresh machine:
// its config passes config check as written, and serve starts with it,
// paused, serving the API and docs, saying that rotations wait for a CA
// and a delegate zone.
func TestInitCheckServe(t *testing.T) {
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	dir := filepath.Join(home, "site")
	out, errs, err := runEnv(t, env, "", "init", dir)
	if err != nil {
		t.Fatalf("init: %v %s", err, errs)
	}
	cfg := filepath.Join(dir, "ottr.yaml")
	for _, want := range []string{
		"ottr config check --config " + cfg,
		"ottr user add admin --role ADMIN --password-stdin --config " + cfg,
		"ottr serve --config " + cfg,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("init does not print %q:\n%s", want, out)
		}
	}
	if got := tree(t, home); strings.Join(got, " ") != ". site site/ottr.yaml site/route.json" {
		t.Errorf("init created %v, want only ottr.yaml and route.json", got)
	}
	// A second init keeps the operator's file.
	if _, errs, err := runEnv(t, env, "", "init", dir); err == nil || !strings.Contains(errs, cfg+" exists") {
		t.Errorf("second init: %v %s", err, errs)
	}

	out, errs, err = runEnv(t, env, "", "config", "check", "--config", cfg)
	if err != nil || !strings.HasPrefix(out, "config OK") || strings.Contains(out, "not shown") {
		t.Fatalf("config check of init's file: %v\n%s%s", err, out, errs)
	}
	// What is left to fill in, and nothing else, is noted.
	var notes []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "note:") {
			notes = append(notes, l)
		}
	}
	if len(notes) != 2 || !strings.HasPrefix(notes[0], "note: ottr serve runs no rotation until this is set: certificate_authorities:") ||
		!strings.HasPrefix(notes[1], "note: ottr serve runs no rotation until this is set: dns.zones:") {
		t.Errorf("config check notes: %q", notes)
	}
	if got := tree(t, home); len(got) != 4 {
		t.Errorf("config check created files: %v", got)
	}

	// The three printed commands, the password from stdin.
	if _, errs, err := runEnv(t, env, "Adm1n.Passw0rd\n", "user", "add", "admin", "--role", "ADMIN", "--password-stdin", "--config", cfg); err != nil {
		t.Fatalf("user add: %v %s", err, errs)
	}
	base, logs, stop := startServe(t, env, "serve", "--config", cfg, "--paused", "--listen", freeDNSPort(t))
	r := getReady(t, base)
	if r.Status != "ready" || r.Rotations != "off" || len(r.Missing) != 2 ||
		!strings.HasPrefix(r.Missing[0], "certificate_authorities: ") || !strings.HasPrefix(r.Missing[1], "dns.zones: ") {
		t.Errorf("/readyz: %+v", r)
	}
	resp, err := http.Get(base + "/docs")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("/docs: %d", resp.StatusCode)
	}
	// The admin made on the command line logs in to the API.
	resp, err = http.Post(base+"/user/v1/authenticate", "application/json", strings.NewReader(`{"username":"admin","password":"Adm1n.Passw0rd"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("login: %d", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Errorf("serve: %v", err)
	}
	if l := logs.String(); !strings.Contains(l, "rotations are off") || !strings.Contains(l, "certificate_authorities: no CA configured") || !strings.Contains(l, "dns.zones: no delegate zone") {
		t.Errorf("serve's log does not say what is missing:\n%s", l)
	}
}

// TestServePaused: with --paused the router queues nothing and says what it
// would have queued; /readyz says paused.
func TestServePaused(t *testing.T) {
	e := newRotateEnv(t)
	env := e.c.env
	base, logs, stop := startServe(t, env, append([]string{"--data-dir", e.c.dataDir}, e.args("serve", "--paused", "--listen", freeDNSPort(t))...)...)
	if r := getReady(t, base); r.Rotations != "paused" || len(r.Missing) != 0 {
		t.Errorf("/readyz: %+v", r)
	}
	checkDashboard(t, base, logs)
	// Long enough for a router pass that runs on start.
	time.Sleep(2 * time.Second)
	if err := stop(); err != nil {
		t.Errorf("serve: %v", err)
	}
	var list []ottr.Rotation
	if err := json.Unmarshal([]byte(e.c.ok(e.args("rotations", "list", "-o", "json")...)), &list); err != nil || len(list) != 0 {
		t.Errorf("paused serve queued %+v (%v)", list, err)
	}
	if l := logs.String(); !strings.Contains(l, "router paused") || !strings.Contains(l, "would_queue=1") || !strings.Contains(l, "web01.example.com") {
		t.Errorf("paused serve does not say what it would queue:\n%s", l)
	}
}

// checkDashboard: serve logs the dashboard's URL and serves it beside the
// API: "/" is the sign-in page for a browser and Ottr's health check for
// everyone else.
func checkDashboard(t *testing.T, base string, logs *syncBuffer) {
	t.Helper()
	if !strings.Contains(logs.String(), `msg=dashboard url=`+base+"/") {
		t.Errorf("serve does not log the dashboard's URL:\n%s", logs.String())
	}
	req, _ := http.NewRequest("GET", base+"/", nil)
	req.Header.Set("Accept", "text/html")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/login" || !strings.Contains(string(page), "Sign in to Ottr") {
		t.Errorf("GET / from a browser: %d at %s", resp.StatusCode, resp.Request.URL)
	}
	resp, err = http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	health, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(health), `"status":"ok"`) {
		t.Errorf("GET / for API clients: %s", health)
	}
}

// TestReadOnlyCommandsCreateNothing: on a fresh machine, commands that only
// read make no data directory, master key or database: they show an empty
// inventory and say which database they looked for.
func TestReadOnlyCommandsCreateNothing(t *testing.T) {
	defer func(f func() int) { geteuid = f }(geteuid)
	geteuid = func() int { return 1000 }
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	def := filepath.Join(home, ".config", "ottr")
	cfg := filepath.Join(t.TempDir(), "ottr.yaml")
	os.WriteFile(cfg, []byte("dns: {zones: [acme.example.net], resolvers: [\"127.0.0.1:9\"]}\n"), 0o644)
	named := filepath.Join(home, "named")
	for _, args := range [][]string{
		{"asset", "list"},
		{"asset", "get", "fw01.example.com"},
		{"asset", "export"},
		{"rotations", "list"},
		{"user", "list"},
		{"credential", "list"},
		{"router", "run", "--dry-run"},
		{"asset", "list", "--data-dir", named},
		{"asset", "list", "--config", cfg},
	} {
		out, errs, err := runEnv(t, env, "", args...)
		where := "the default data directory " + def
		if args[len(args)-2] == "--data-dir" {
			where = "data directory " + named
		}
		want := 0
		if args[1] == "get" {
			want = exitNotFound
		}
		if exitCode(err) != want || !strings.Contains(errs, "note: no Ottr database in "+where) || !strings.Contains(errs, "nothing was created") {
			t.Errorf("ottr %s: exit %d, stderr:\n%s", strings.Join(args, " "), exitCode(err), errs)
		}
		if strings.Contains(out, ".example.") {
			t.Errorf("ottr %s shows something:\n%s", strings.Join(args, " "), out)
		}
	}
	// These need no database at all.
	for _, args := range [][]string{
		{"config", "check", "--config", cfg},
		{"dns", "check", "--config", cfg, "fw01.example.com"},
		{"platforms"}, {"version"}, {"status"}, {"__complete", "asset", "get", ""},
	} {
		runEnv(t, env, "", args...)
	}
	if got := tree(t, home); len(got) != 1 {
		t.Errorf("read-only commands created %v", got)
	}

	// After logout the CLI says where asset commands now look.
	session := filepath.Join(home, ".config", "ottr", "session.json")
	os.MkdirAll(filepath.Dir(session), 0o700)
	os.WriteFile(session, []byte(`{"server":"http://127.0.0.1:9","username":"admin","token":"x"}`), 0o600)
	_, errs, err := runEnv(t, env, "", "logout")
	if err != nil || !strings.Contains(errs, "now use the default data directory "+def) {
		t.Errorf("logout: %v\n%s", err, errs)
	}
	if _, err := os.Stat(filepath.Join(def, "ottr.db")); err == nil {
		t.Error("logout created a database")
	}

	// A command that writes says where it creates the database.
	_, errs, err = runEnv(t, env, "Adm1n.Passw0rd\n", "user", "add", "admin", "--role", "ADMIN", "--password-stdin")
	if err != nil || !strings.Contains(errs, "using the default data directory "+def) {
		t.Errorf("user add: %v\n%s", err, errs)
	}
	// Now the database exists: a read opens it as it is.
	if out, errs, err := runEnv(t, env, "", "user", "list"); err != nil || !strings.Contains(out, "admin") {
		t.Errorf("user list: %v\n%s%s", err, out, errs)
	}
}

// syncBuffer is a log the server writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
