package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"database/sql"
	"fmt"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/store"
)

// BenchmarkWatchPass is the watch pass after a router pass over
// OTTR_BENCH_ASSETS assets (default 100,000; a quarter of the generated
// fleet is unrouted) with devices that answer at once: what the pass
// costs the database. The first pass records a new certificate on every
// unrouted asset (not timed apart: it is one of the b.N passes); the
// others see the same certificates again and move only when they were
// read. The database is a fresh copy in a temporary directory (the
// passes write to it), or a schema of its own on PostgreSQL.
func BenchmarkWatchPass(b *testing.B) {
	n := 100_000
	if os.Getenv("OTTR_BENCH_ASSETS") != "" {
		n = benchSize(b)
	}
	ctx := context.Background()
	c := store.Config{DataDir: b.TempDir()}
	if os.Getenv("OTTR_BENCH_ENGINE") == "postgres" {
		c = store.Config{DSN: postgresBenchSchema(b)}
	}
	db, err := store.Open(ctx, c)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := db.ImportAssets(ctx, generate(n, false), store.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "device"},
		NotBefore: benchNow.Add(-24 * time.Hour), NotAfter: benchNow.Add(364 * 24 * time.Hour)}
	der, _ := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	cert, _ := x509.ParseCertificate(der)
	w := &rotate.Watcher{Assets: db, Now: func() time.Time { return benchNow },
		Observe: func(context.Context, *ottr.Asset) ([]*x509.Certificate, error) { return []*x509.Certificate{cert}, nil }}
	r := &rotate.Router{Assets: db, Routes: routeTable(b), Now: func() time.Time { return benchNow }}
	var st rotate.WatchStats
	b.ResetTimer()
	for b.Loop() {
		if st, err = w.Pass(ctx, r); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if st.Unrouted == 0 || st.Watched != st.Unrouted {
		b.Fatalf("implausible pass over %d assets: %+v", n, st)
	}
	b.ReportMetric(float64(n), "assets")
	b.ReportMetric(float64(st.Watched), "watched")
	b.ReportMetric(float64(st.Watched)/(float64(b.Elapsed())/float64(b.N)/1e9), "watched/s")
	b.ReportMetric(float64(procStatus("VmHWM"))/(1<<20), "maxRSS-MiB")
}

// postgresBenchSchema is a fresh schema on OTTR_TEST_POSTGRES_DSN, dropped
// when b ends.
func postgresBenchSchema(b *testing.B) string {
	dsn := os.Getenv("OTTR_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Fatal("OTTR_BENCH_ENGINE=postgres needs OTTR_TEST_POSTGRES_DSN")
	}
	schema := fmt.Sprintf("ottr_bench_watch_%d", time.Now().UnixNano())
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		raw.Exec("DROP SCHEMA " + schema + " CASCADE")
		raw.Close()
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}
