package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// serveUnreachableCA runs 'ottr serve' on c's database with the repository's
// route table and a CA and resolver nobody answers (no rotation gets as far
// as ordering), stopped when the test ends, and returns its URL. Its router
// is paused: the tests add assets while it runs, and a pass queueing them
// would race with what they check.
func serveUnreachableCA(t *testing.T, c *cli) string {
	t.Helper()
	cfg := filepath.Join(t.TempDir(), "ottr.yaml")
	os.WriteFile(cfg, []byte("certificate_authorities:\n  lets_encrypt: {directory: \"https://127.0.0.1:1/directory\"}\ndns: {zones: [acme.example.net], resolvers: [\"127.0.0.1:1\"], propagation_timeout: 2s}\nrouter: {paused: true, renew_before: 60d}\n"), 0o600)
	listen := freeDNSPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	serveErr := &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"--config", cfg, "--data-dir", c.dataDir, "--routes", "../../testdata/route.json", "serve", "--listen", listen},
			func(string) string { return "" }, nil, &bytes.Buffer{}, serveErr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	})
	url := "http://" + listen
	for i := 0; ; i++ {
		if resp, err := http.Get(url + "/readyz"); err == nil {
			resp.Body.Close()
			return url
		}
		if i > 100 {
			t.Fatalf("server not up: %s", serveErr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
