package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

func TestLoopbackHost(t *testing.T) {
	for host, want := range map[string]bool{
		"localhost": true, "LocalHost": true, "localhost.": true, "127.0.0.1": true, "127.8.9.10": true, "::1": true, "::ffff:127.0.0.1": true,
		"ottr.example.com": false, "localhost.example.com": false, "10.0.0.1": false, "192.168.1.1": false, "0.0.0.0": false, "::": false, "fe80::1%eth0": false, "": false,
	} {
		if got := loopbackHost(host); got != want {
			t.Errorf("loopbackHost(%q) = %v, want %v", host, got, want)
		}
	}
}

// TestPlainHTTPNeedsInsecure: the password (ottr login) and the token
// (every command through a server) go over plain http:// only to this
// machine, unless --insecure says the network is trusted; the refusal
// happens before anything is sent. A session made with --insecure
// remembers that consent for its server.
func TestPlainHTTPNeedsInsecure(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/user/v1/authenticate":
			w.Write([]byte(`{"token":"Bearer a.b.c"}`))
		case "/api/v1/search":
			w.Write([]byte(`[]`))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	// 0.0.0.0 reaches the test server on 127.0.0.1 (Linux connects to the
	// local host), but is not a loopback address: it stands for a remote
	// host here, without leaving this machine.
	remote := strings.Replace(srv.URL, "127.0.0.1", "0.0.0.0", 1)
	home := t.TempDir()
	env := map[string]string{"HOME": home}
	cl := func(stdin string, args ...string) (string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
		return errb.String(), err
	}
	session := filepath.Join(home, ".config", "ottr", "session.json")

	stderr, err := cl("Passw0rd!\n", "login", "--server", remote, "-u", "admin", "--password-stdin")
	if exitCode(err) != exitUsage || !strings.Contains(stderr, "--insecure") || !strings.Contains(stderr, "password") {
		t.Errorf("login over plain HTTP to a remote host: exit %d, %s; want exit 2 naming --insecure", exitCode(err), stderr)
	}
	if hits.Load() != 0 {
		t.Errorf("the refused login reached the server (%d requests)", hits.Load())
	}
	if _, err := os.Stat(session); err == nil {
		t.Errorf("a refused login wrote a session")
	}

	env["OTTR_TOKEN"] = "Bearer a.b.c"
	stderr, err = cl("", "--server", remote, "asset", "list")
	if exitCode(err) != exitUsage || !strings.Contains(stderr, "--insecure") || !strings.Contains(stderr, "token") || hits.Load() != 0 {
		t.Errorf("a command with a token over plain HTTP to a remote host: exit %d, %d requests, %s; want exit 2 naming --insecure, nothing sent", exitCode(err), hits.Load(), stderr)
	}
	if stderr, err := cl("", "--server", remote, "--insecure", "asset", "list"); err != nil || hits.Load() != 1 {
		t.Errorf("the same with --insecure: %v %s", err, stderr)
	}
	delete(env, "OTTR_TOKEN")

	if stderr, err := cl("Passw0rd!\n", "login", "--insecure", "--server", remote, "-u", "admin", "--password-stdin"); err != nil {
		t.Fatalf("login with --insecure: %v %s", err, stderr)
	}
	// The session remembers the consent given for its server.
	if stderr, err := cl("", "asset", "list"); err != nil {
		t.Errorf("asset list through a session logged in with --insecure: %v %s", err, stderr)
	}

	// Loopback needs no flag.
	if stderr, err := cl("Passw0rd!\n", "login", "--server", srv.URL, "-u", "admin", "--password-stdin"); err != nil {
		t.Errorf("login over plain HTTP to 127.0.0.1: %v %s", err, stderr)
	}
}
