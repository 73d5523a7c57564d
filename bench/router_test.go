package bench

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/store"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// The dataset is fixed by its size and this clock, so runs compare.
var benchNow = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func benchSize(b *testing.B) int {
	n := 100_000
	if s := os.Getenv("OTTR_BENCH_ASSETS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("OTTR_BENCH_ASSETS=%q: want a positive integer", s)
		}
		n = v
	}
	return n
}

// generate yields n assets spread like a real fleet: several platforms and
// versions (some unrouted), 1 % never rotated, expiries spread over the
// next 90 days of 90-day certificates, so about a third are due. With ari,
// every certificate also has its CA's renewal window where Let's Encrypt
// puts it (days 60 to 62 of 90), so about a third of the windows are open.
func generate(n int, ari bool) func() (*ottr.Asset, error) {
	kinds := []struct{ platform, os, model string }{
		{"panos", "9.1.0", "PA-XXXX"}, {"panos", "8.1.0", "PA-YYYY"}, {"f5", "14.1.0", ""},
		{"lighthouse", "21.Q2.0", ""}, {"Ubuntu", "20.04", ""}, {"Ubuntu", "18.04", ""},
		{"panos", "10.2.0", "PA-XXXX"}, {"Windows", "2019", ""},
	}
	i := 0
	return func() (*ottr.Asset, error) {
		if i == n {
			return nil, io.EOF
		}
		k := kinds[i%len(kinds)]
		name := fmt.Sprintf("host%07d.dc%d.example.com", i, i%7)
		a := &ottr.Asset{SystemName: name, CommonName: name, SubjectAlternativeName: []string{name},
			CertificateAuthority: "lets_encrypt", HostPlatform: k.platform, OSVersion: k.os, DeviceModel: k.model,
			IPAddress: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), DataCenter: fmt.Sprintf("DC%d", i%7),
			Origin: ottr.OriginImport, CertificateValidation: true}
		if i%100 != 0 {
			exp := benchNow.Add(time.Duration(i*7919%(90*24)) * time.Hour)
			a.CertificateExpiration = ottr.NewTime(exp)
			a.CertificateNotBefore = ottr.NewTime(exp.Add(-90 * 24 * time.Hour))
			if ari {
				a.RenewalWindow = &ottr.RenewalWindow{Start: *ottr.NewTime(exp.Add(-30 * 24 * time.Hour)), End: *ottr.NewTime(exp.Add(-28 * 24 * time.Hour)),
					CertID: "x.y", CheckAfter: *ottr.NewTime(benchNow.Add(6 * time.Hour))}
			}
		}
		i++
		return a, nil
	}
}

// openDataset opens (and fills, the first time) a database of n assets.
func openDataset(b *testing.B, n int) *store.DB { return openDatasetOf(b, n, false) }

// openDatasetOf is openDataset for the fleet with renewal windows (ari)
// or without, each in a database of its own.
func openDatasetOf(b *testing.B, n int, ari bool) *store.DB {
	b.Helper()
	kind := ""
	if ari {
		kind = "ari-"
	}
	ctx := context.Background()
	var c store.Config
	switch os.Getenv("OTTR_BENCH_ENGINE") {
	case "", "sqlite":
		dir := filepath.Join("data", fmt.Sprintf("sqlite-%s%d", kind, n))
		if err := os.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
		c.DataDir = dir
	case "postgres":
		dsn := os.Getenv("OTTR_TEST_POSTGRES_DSN")
		if dsn == "" {
			b.Fatal("OTTR_BENCH_ENGINE=postgres needs OTTR_TEST_POSTGRES_DSN")
		}
		schema := fmt.Sprintf("ottr_bench_%s%d", strings.ReplaceAll(kind, "-", "_"), n)
		raw, err := sql.Open("pgx", dsn)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := raw.Exec("CREATE SCHEMA IF NOT EXISTS " + schema); err != nil {
			b.Fatal(err)
		}
		raw.Close()
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		c.DSN = dsn + sep + "search_path=" + schema
	default:
		b.Fatalf("OTTR_BENCH_ENGINE=%q: want sqlite or postgres", os.Getenv("OTTR_BENCH_ENGINE"))
	}
	db, err := store.Open(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	have := 0
	if err := db.ScanAssets(ctx, ottr.AssetScan{Brief: true}, func(*ottr.Asset) error { have++; return nil }); err != nil {
		b.Fatal(err)
	}
	if have != n {
		if have != 0 {
			b.Fatalf("dataset has %d assets, want %d: remove bench/data or the schema", have, n)
		}
		start := time.Now()
		if _, err := db.ImportAssets(ctx, generate(n, ari), store.ImportOptions{}); err != nil {
			b.Fatal(err)
		}
		b.Logf("generated %d assets on %s in %s", n, db.Dialect(), time.Since(start).Round(time.Millisecond))
	}
	return db
}

func routeTable(b *testing.B) *ottr.RouteTable {
	f, err := os.Open("../testdata/route.json")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rt, err := ottr.ParseRouteTable(f)
	if err != nil {
		b.Fatal(err)
	}
	return rt
}

// BenchmarkRouterPass is one full router pass: the store streams every asset
// that can be due, the policy decides, the route table routes.
func BenchmarkRouterPass(b *testing.B) { benchRouterPass(b, false) }

// BenchmarkARIPass is the same pass over a fleet whose CA gives every
// certificate a renewal window (ARI): the store streams the assets whose
// window has opened, with the window, and the policy decides by it.
func BenchmarkARIPass(b *testing.B) { benchRouterPass(b, true) }

func benchRouterPass(b *testing.B, ari bool) {
	n := benchSize(b)
	db := openDatasetOf(b, n, ari)
	r := &rotate.Router{Assets: db, Routes: routeTable(b), Policy: ottr.RenewalPolicy{Jitter: 0.1}, Now: func() time.Time { return benchNow }}
	var st rotate.PassStats
	b.ResetTimer()
	for b.Loop() {
		var err error
		st, err = r.Pass(context.Background(), func(rotate.Candidate) error { return nil })
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if st.Due == 0 || st.Unrouted == 0 || st.Examined > n {
		b.Fatalf("implausible pass over %d assets: %+v", n, st)
	}
	b.ReportMetric(float64(n), "assets")
	b.ReportMetric(float64(st.Examined), "examined")
	b.ReportMetric(float64(st.Due), "due")
	b.ReportMetric(float64(n)/(float64(b.Elapsed())/float64(b.N)/1e9), "assets/s")
	b.ReportMetric(float64(procStatus("VmHWM"))/(1<<20), "maxRSS-MiB")
	// RssFile is the database file mapped by SQLite (mmap_size), shared
	// with the page cache; RssAnon is the process's own memory.
	b.ReportMetric(float64(procStatus("RssAnon"))/(1<<20), "rssAnon-MiB")
	b.ReportMetric(float64(procStatus("RssFile"))/(1<<20), "rssFile-MiB")
}

// BenchmarkFullScan streams every asset with every field, the worst case a
// pass could face if every certificate were due.
func BenchmarkFullScan(b *testing.B) {
	n := benchSize(b)
	db := openDataset(b, n)
	b.ResetTimer()
	for b.Loop() {
		seen := 0
		if err := db.ScanAssets(context.Background(), ottr.AssetScan{Brief: true}, func(*ottr.Asset) error { seen++; return nil }); err != nil {
			b.Fatal(err)
		}
		if seen != n {
			b.Fatalf("scanned %d of %d", seen, n)
		}
	}
	b.ReportMetric(float64(n)/(float64(b.Elapsed())/float64(b.N)/1e9), "assets/s")
}

// procStatus reads a memory figure of this process in bytes (Linux).
func procStatus(field string) int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
