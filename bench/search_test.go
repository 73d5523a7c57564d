package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// BenchmarkSearch loads GET /api/v1/search over real HTTP on loopback
// with OTTR_BENCH_CONCURRENCY clients (default 32) for
// OTTR_BENCH_DURATION (default 15s) against OTTR_BENCH_ASSETS assets
// (default 100,000), with the query mix Ottr's users send: one asset by
// name or address, a platform in a data center, what expires this week,
// and the first page of everything. Every request carries a token that the
// server checks against the user store, as in production.
func BenchmarkSearch(b *testing.B) {
	n := benchSize(b)
	db := openDataset(b, n)
	ctx := context.Background()
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	tk, err := api.NewTokens(ctx, api.TokenConfig{KeyPEM: keyPEM, Users: db})
	if err != nil {
		b.Fatal(err)
	}
	u, err := db.GetUser(ctx, "bench")
	if ottr.ErrorCode(err) == ottr.ENOTFOUND {
		hash, _ := api.HashPassword("Bench.Passw0rd")
		u = &ottr.User{Username: "bench", Role: ottr.RoleDeveloper, PasswordHash: hash}
		err = db.CreateUser(ctx, u)
	}
	if err != nil {
		b.Fatal(err)
	}
	token, _ := tk.Issue(u)
	srv := httptest.NewServer((&api.Server{Users: db, Assets: db, Tokens: tk, Version: "bench"}).Handler())
	defer srv.Close()

	clients := envInt(b, "OTTR_BENCH_CONCURRENCY", 32)
	duration := 15 * time.Second
	if s := os.Getenv("OTTR_BENCH_DURATION"); s != "" {
		if duration, err = time.ParseDuration(s); err != nil {
			b.Fatalf("OTTR_BENCH_DURATION=%q: %v", s, err)
		}
	}
	queries := []struct{ kind, path string }{
		{"name", "/api/v1/search?system_name=host%07d.dc%d.example.com"},
		{"ip", "/api/v1/search?ip_address=10.%d.%d.%d"},
		{"platform+dc", "/api/v1/search?host_platform=panos&data_center=DC3&limit=100"},
		{"expiring", "/api/v1/search?days_until_expiration=7&limit=100"},
		{"name", "/api/v1/search?system_name=host%07d.dc%d.example.com"},
		{"ip", "/api/v1/search?ip_address=10.%d.%d.%d"},
		{"all", "/api/v1/search"},
	}
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	client := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	type sample struct {
		kind string
		d    time.Duration
	}
	var mu sync.Mutex
	var samples []sample
	var failures int
	b.ResetTimer()
	for range b.N {
		deadline := time.Now().Add(duration)
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				var mine []sample
				bad := 0
				for i := c; time.Now().Before(deadline); i += clients {
					q := queries[i%len(queries)]
					j := (i * 7919) % n
					path := q.path
					switch q.kind {
					case "name":
						path = fmt.Sprintf(q.path, j, j%7)
					case "ip":
						path = fmt.Sprintf(q.path, j>>16&255, j>>8&255, j&255)
					}
					req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
					req.Header.Set("Authorization", "Bearer "+token)
					start := time.Now()
					resp, err := client.Do(req)
					if err == nil {
						_, err = io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if err == nil && resp.StatusCode != http.StatusOK {
							err = fmt.Errorf("status %d", resp.StatusCode)
						}
					}
					if err != nil {
						bad++
						continue
					}
					mine = append(mine, sample{q.kind, time.Since(start)})
				}
				mu.Lock()
				samples = append(samples, mine...)
				failures += bad
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	b.StopTimer()
	if failures > 0 {
		b.Errorf("%d requests failed", failures)
	}
	all := make([]time.Duration, len(samples))
	byKind := map[string][]time.Duration{}
	for i, s := range samples {
		all[i] = s.d
		byKind[s.kind] = append(byKind[s.kind], s.d)
	}
	p := func(ds []time.Duration, q float64) time.Duration {
		slices.Sort(ds)
		return ds[min(len(ds)-1, int(float64(len(ds))*q))]
	}
	total := time.Duration(b.N) * duration
	b.ReportMetric(float64(len(all))/total.Seconds(), "req/s")
	b.ReportMetric(float64(p(all, 0.50).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(p(all, 0.99).Microseconds())/1000, "p99-ms")
	b.ReportMetric(0, "ns/op")
	for _, k := range []string{"name", "ip", "platform+dc", "expiring", "all"} {
		ds := byKind[k]
		if len(ds) == 0 {
			continue
		}
		b.Logf("%-12s %7d requests  p50 %6.2f ms  p99 %6.2f ms", k, len(ds), float64(p(ds, 0.5).Microseconds())/1000, float64(p(ds, 0.99).Microseconds())/1000)
	}
	b.Logf("%d assets on %s, %d clients, %d requests in %s", n, db.Dialect(), clients, len(all), total)
}

func envInt(b *testing.B, name string, def int) int {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil || v <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, s)
	}
	return v
}
