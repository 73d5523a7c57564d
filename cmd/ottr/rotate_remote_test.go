package main

import (
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// With 'ottr serve' running on the database, 'ottr rotate --wait' given
// the same configuration goes through the server (which holds the DNS
// port) instead of running a second engine; without a token it refuses,
// naming the server. A failed attempt that will be retried says when.
func TestRotateWaitThroughServer(t *testing.T) {
	e := newRotateEnv(t)
	e.c.env["OTTR_WORKERS_MAX_ATTEMPTS"] = "2"
	e.c.env["OTTR_WORKERS_BACKOFF"] = "1s"
	e.c.env["OTTR_SESSION_FILE"] = filepath.Join(t.TempDir(), "session.json")
	if _, stderr, err := e.c.run("Adm1n.Passw0rd\n", e.args("user", "add", "admin", "--role", "ADMIN")...); err != nil {
		t.Fatalf("user add: %v %s", err, stderr)
	}
	url, serveLog, stop := startServe(t, e.c.env, append([]string{"--data-dir", e.c.dataDir}, e.args("serve", "--paused", "--listen", freeDNSPort(t))...)...)
	note := filepath.Join(e.c.dataDir, serverFileName)
	defer func() {
		if err := stop(); err != nil {
			t.Errorf("serve: %v", err)
		}
		if _, err := os.Stat(note); !os.IsNotExist(err) {
			t.Errorf("serve left %s: %v", note, err)
		}
	}()
	if b, err := os.ReadFile(note); err != nil || !strings.Contains(string(b), `"url":"`+url+`"`) {
		t.Errorf("serve's note: %s %v", b, err)
	}

	// No token for the server: refused, nothing queued, no port taken.
	_, stderr, err := e.c.run("", e.args("rotate", "web01.example.com", "--wait")...)
	if exitCode(err) != exitFailed || !strings.Contains(stderr, "ottr serve runs rotations on this database at "+url) ||
		!strings.Contains(stderr, "ottr login --server "+url) {
		t.Fatalf("rotate --wait beside a server without a token: exit %d\n%s", exitCode(err), stderr)
	}
	if out := e.c.ok(e.args("rotations", "list", "-o", "json")...); strings.TrimSpace(out) != "[]" {
		t.Errorf("refused rotate queued something: %s", out)
	}

	if _, stderr, err := e.c.run("Adm1n.Passw0rd\n", "login", "--server", url, "-u", "admin", "--password-stdin"); err != nil {
		t.Fatalf("login: %v %s", err, stderr)
	}
	// The same command line as before: the configuration names the
	// database, whose server the login is for.
	out, stderr, err := e.c.run("", e.args("rotate", "web01.example.com", "--wait")...)
	if err != nil {
		t.Fatalf("rotate --wait through the server: %v\n%s\n%s", err, out, stderr)
	}
	for _, w := range []string{"going through the server running on this database at " + url, "queued on " + url, "attempt 1 started", "issued serial"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("progress lacks %q:\n%s", w, stderr)
		}
	}
	if !strings.Contains(out, "state      succeeded") {
		t.Errorf("summary:\n%s", out)
	}
	var list []ottr.Rotation
	json.Unmarshal([]byte(e.c.ok(e.args("rotations", "list", "-o", "json")...)), &list)
	if len(list) != 1 || list[0].Trigger != ottr.TriggerAPI || list[0].RequestedBy != "admin" || list[0].State != ottr.StateSucceeded {
		t.Fatalf("the server's rotations: %+v", list)
	}
	// The server's audit log records who asked for it.
	var sess session
	b, _ := os.ReadFile(e.c.env["OTTR_SESSION_FILE"])
	json.Unmarshal(b, &sess)
	req, _ := http.NewRequest("GET", url+"/admin/v1/events?action=rotation.create", nil)
	req.Header.Set("Authorization", sess.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var events []ottr.Event
	json.NewDecoder(resp.Body).Decode(&events)
	resp.Body.Close()
	if len(events) != 1 || events[0].Actor != "admin" || events[0].Resource != "rotation/"+list[0].ID {
		t.Errorf("audit: %d %+v", resp.StatusCode, events)
	}
	// The server ran it: its log has the rotation, and only it listened
	// on dns.listen (a second listener would have failed to bind).
	if l := serveLog.String(); !strings.Contains(l, list[0].ID) {
		t.Errorf("serve log lacks rotation %s:\n%s", list[0].ID, l)
	}

	// The device goes away: attempt 1 fails and the CLI says when
	// attempt 2 runs; attempt 2 fails for good.
	e.dev.Close()
	out, stderr, err = e.c.run("", e.args("rotate", "web01.example.com", "--wait")...)
	if exitCode(err) != exitFailed || !strings.Contains(out, "state      failed") {
		t.Errorf("unreachable device: exit %d\n%s\n%s", exitCode(err), out, stderr)
	}
	retry := regexp.MustCompile(`attempt 1 failed: [^\n]*unreachable[^\n]*; retrying in [0-9]+s \(at [0-9]{2}:[0-9]{2}:[0-9]{2}\)\n`)
	if !retry.MatchString(stderr) || !strings.Contains(stderr, "attempt 2 started") ||
		strings.Index(stderr, "attempt 2 started") < retry.FindStringIndex(stderr)[0] {
		t.Errorf("no retry line before attempt 2:\n%s", stderr)
	}
}

// Without a server the local path runs the rotation itself, DNS server
// included; a DNS port someone else holds is named in the refusal.
func TestRotateWaitLocalDNSPortBusy(t *testing.T) {
	e := newRotateEnv(t)
	c, err := loadConfig(e.args()[1], func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", c.DNS.Listen)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	_, stderr, err := e.c.run("", e.args("rotate", "web01.example.com", "--wait")...)
	if exitCode(err) != exitUnavailable || !strings.Contains(stderr, "dns.listen "+c.DNS.Listen+" is in use") {
		t.Errorf("busy DNS port: exit %d\n%s", exitCode(err), stderr)
	}
}

// Without a server (a stale server.json left by one that died does not
// count) rotate --wait runs the rotation here and, too, says when a
// failed attempt is retried.
func TestRotateWaitLocalRetry(t *testing.T) {
	e := newRotateEnv(t)
	e.c.env["OTTR_WORKERS_MAX_ATTEMPTS"] = "2"
	e.c.env["OTTR_WORKERS_BACKOFF"] = "1s"
	dead := freeDNSPort(t)
	if err := os.WriteFile(filepath.Join(e.c.dataDir, serverFileName), []byte(`{"url":"http://`+dead+`","pid":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	e.dev.Close()
	out, stderr, err := e.c.run("", e.args("rotate", "web01.example.com", "--wait")...)
	if exitCode(err) != exitFailed || !strings.Contains(out, "state      failed") || strings.Contains(stderr, "going through") {
		t.Errorf("local rotate: exit %d\n%s\n%s", exitCode(err), out, stderr)
	}
	retry := regexp.MustCompile(`attempt 1 failed: [^\n]*unreachable[^\n]*; retrying in [0-9]+s \(at [0-9]{2}:[0-9]{2}:[0-9]{2}\)\n`)
	if loc := retry.FindStringIndex(stderr); loc == nil || !strings.Contains(stderr[loc[1]:], "attempt 2 started") {
		t.Errorf("no retry line before attempt 2:\n%s", stderr)
	}
}
