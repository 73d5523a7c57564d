package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// A PostgreSQL database has no data directory to note its server in:
// commands look at the configuration's listen address, and go through
// what answers there as Ottr when they have a token for it.
func TestDiscoverServerAtListen(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	ottrLike := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.URL.Path == "/healthz" && ottrLike {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"status":"ok"}`))
			return
		}
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusNotFound)
		w.Write([]byte(`{"status":404,"title":"Not Found","detail":"asset fw01.example.com not found"}`))
	}))
	defer srv.Close()
	cfg := filepath.Join(t.TempDir(), "ottr.yaml")
	os.WriteFile(cfg, []byte("listen: "+strings.TrimPrefix(srv.URL, "http://")+"\ndatabase: postgres://ottr@127.0.0.1:1/ottr?connect_timeout=2\n"), 0o600)
	env := map[string]string{"OTTR_TOKEN": "tok"}
	cl := func() (string, error) {
		var out, errb bytes.Buffer
		err := run(t.Context(), []string{"--config", cfg, "asset", "get", "fw01.example.com"}, func(k string) string { return env[k] }, nil, &out, &errb)
		return errb.String(), err
	}

	stderr, err := cl()
	if exitCode(err) != exitNotFound || !strings.Contains(stderr, "going through the server running on this database at "+srv.URL) {
		t.Errorf("through the server at listen: exit %d %s", exitCode(err), stderr)
	}
	mu.Lock()
	if len(seen) != 1 || !strings.HasSuffix(seen[0], " Bearer tok") || !strings.Contains(seen[0], "fw01.example.com") {
		t.Errorf("server saw %q", seen)
	}
	seen, ottrLike = nil, false
	mu.Unlock()

	// Something else on that port is no Ottr server: the command stays
	// on the database (unreachable here) and sends nothing there.
	stderr, err = cl()
	if exitCode(err) != exitUnavailable || strings.Contains(stderr, "going through") {
		t.Errorf("not an Ottr server: exit %d %s", exitCode(err), stderr)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || !strings.HasPrefix(seen[0], "GET /healthz") {
		t.Errorf("server saw %q", seen)
	}
}
