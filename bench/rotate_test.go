package bench

import (
	"context"
	"crypto/x509"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/sim/memdevice"
	"github.com/ottr-dev/ottr/sim/resolver"
	"github.com/ottr-dev/ottr/store"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// BenchmarkRotateFleet rotates OTTR_BENCH_DEVICES (default 1,000) simulated
// devices through the whole pipeline with 50 workers per replica: one
// router pass queues them all (timed on its own: enqueue), then each gets
// a real P-256 key and CSR, an ACME order against an in-process Pebble
// with DNS-01 answered by the built-in DNS server through CNAMEs, install,
// verify and record, as durable River jobs. OTTR_BENCH_ENGINE=postgres
// runs on PostgreSQL with OTTR_BENCH_REPLICAS engines (each its own River
// client and pool, in this process) sharing the work. Targets (issue 13):
// enqueue 10,000 in < 5 s and the fleet in < 3 min.
func BenchmarkRotateFleet(b *testing.B) {
	n := 1000
	if s := os.Getenv("OTTR_BENCH_DEVICES"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v <= 0 {
			b.Fatalf("OTTR_BENCH_DEVICES=%q", s)
		}
		n = v
	}
	for range b.N {
		rotateFleet(b, n)
	}
}

func rotateFleet(b *testing.B, n int) {
	b.StopTimer()
	ctx := context.Background()
	dir := b.TempDir()
	sealer, _ := ottr.NewSealer(make([]byte, 32))
	engine, replicas := os.Getenv("OTTR_BENCH_ENGINE"), 1
	if s := os.Getenv("OTTR_BENCH_REPLICAS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 8 {
			b.Fatalf("OTTR_BENCH_REPLICAS=%q: want 1 to 8", s)
		}
		replicas = v
	}
	sc := store.Config{DataDir: dir, Sealer: sealer}
	var dsn string
	switch engine {
	case "", "sqlite":
		engine = "sqlite"
		if replicas != 1 {
			b.Fatal("replicas share a PostgreSQL database: set OTTR_BENCH_ENGINE=postgres")
		}
	case "postgres":
		dsn = freshSchema(b)
		sc = store.Config{DSN: dsn, Sealer: sealer}
	default:
		b.Fatalf("OTTR_BENCH_ENGINE=%q: want sqlite or postgres", engine)
	}
	db, err := store.Open(ctx, sc)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	const zone = "acme.bench.test"
	srv := &ottrdns.Server{Zones: []string{zone}, Store: db}
	if err := srv.Listen(ctx, "127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	res, err := resolver.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer res.Close()
	res.Delegate(zone, srv.Addr())
	// Pebble keeps its objects in one locked map and scans every
	// authorization for each new order, so one instance slows to a crawl
	// past a few thousand orders; the fleet is spread over several CAs, as
	// a large deployment spreads over accounts and CAs.
	shards := n/1000 + 1
	cas := map[string]acme.CA{}
	roots := map[string]*x509.CertPool{}
	for i := range shards {
		p, err := acmetest.Start(acmetest.Options{Resolver: res.Addr})
		if err != nil {
			b.Fatal(err)
		}
		defer p.Close()
		name := fmt.Sprintf("pebble%d", i)
		cas[name] = acme.CA{Directory: p.Directory, DirectoryCA: p.TLSRootPEM}
		roots[name] = x509.NewCertPool()
		roots[name].AppendCertsFromPEM(p.RootPEM())
	}
	var devMu sync.Mutex
	devices := map[string]*memdevice.Device{}
	// Each replica has its own store (its own connection pool), as
	// separate processes would.
	rotator := func(db *store.DB) *rotate.Rotator {
		ch := &ottrdns.Challenges{Zones: map[string]ottr.DNSZone{zone: &ottrdns.StoreZone{Store: db}},
			Resolvers: []string{res.Addr}, Nameservers: []string{srv.Addr()}, PropagationTimeout: time.Minute}
		return &rotate.Rotator{
			Assets: db, Rotations: db, DNS: ch,
			Issuer: &acme.Issuer{CAs: cas, Secrets: db, DNS: ch},
			Roots:  func(ca string) *x509.CertPool { return roots[ca] },
			Open: func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
				devMu.Lock()
				defer devMu.Unlock()
				return devices[a.SystemName], nil
			},
		}
	}
	var routes strings.Builder
	routes.WriteString(`{"platform": {"mem": {"os": {"1.0": {"certificate_authority": {`)
	for i := range shards {
		if i > 0 {
			routes.WriteString(",")
		}
		fmt.Fprintf(&routes, `"pebble%d": "mem-recipe"`, i)
	}
	routes.WriteString(`}}}}}, "certificate_authorities": [`)
	for i := range shards {
		if i > 0 {
			routes.WriteString(",")
		}
		fmt.Fprintf(&routes, `"pebble%d"`, i)
	}
	routes.WriteString(`]}`)
	rt, err := ottr.ParseRouteTable(strings.NewReader(routes.String()))
	if err != nil {
		b.Fatal(err)
	}
	next := 0
	if _, err := db.ImportAssets(ctx, func() (*ottr.Asset, error) {
		if next == n {
			return nil, io.EOF
		}
		name := fmt.Sprintf("dev%05d.example.com", next)
		devices[name] = &memdevice.Device{}
		res.CNAME("_acme-challenge."+name, "_acme-challenge."+strings.SplitN(name, ".", 2)[0]+"."+zone)
		a := &ottr.Asset{SystemName: name, CommonName: name, SubjectAlternativeName: []string{name},
			CertificateAuthority: fmt.Sprintf("pebble%d", next%shards), HostPlatform: "mem", OSVersion: "1.0"}
		next++
		return a, nil
	}, store.ImportOptions{}); err != nil {
		b.Fatal(err)
	}
	var engines []fleetEngine
	for r := range replicas {
		cfg := rotate.EngineConfig{Concurrency: 50, PollInterval: 100 * time.Millisecond, Owner: fmt.Sprintf("replica%d", r),
			Router: func(context.Context) (*rotate.Router, error) { return &rotate.Router{Assets: db, Routes: rt}, nil },
			// The pass is run by hand below, timed; no periodic one.
			RouterInterval: -1}
		rdb := db
		if r > 0 {
			if rdb, err = store.Open(ctx, sc); err != nil {
				b.Fatal(err)
			}
			defer rdb.Close()
		}
		e := newFleetEngine(b, engine, dir, dsn, rotator(rdb), cfg)
		if r == 0 {
			if err := e.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
		}
		engines = append(engines, e)
	}

	b.StartTimer()
	start := time.Now()
	for _, e := range engines {
		if err := e.Start(ctx); err != nil {
			b.Fatal(err)
		}
	}
	pass, err := engines[0].RouterPass(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if pass.Queued+pass.Joined != n {
		b.Fatalf("router pass queued %d and joined %d of %d devices", pass.Queued, pass.Joined, n)
	}
	enqueued := time.Since(start)
	var durs []time.Duration
	failed := 0
	for {
		rs, _, err := db.FindRotations(ctx, ottr.RotationFilter{Limit: n + 10})
		if err != nil {
			b.Fatal(err)
		}
		live := 0
		durs, failed = durs[:0], 0
		for _, r := range rs {
			switch {
			case r.State.Live():
				live++
			case r.State == ottr.StateSucceeded:
				durs = append(durs, r.FinishedAt.Sub(*r.StartedAt))
			default:
				failed++
			}
		}
		if live == 0 && len(rs) >= n {
			if len(rs) > n {
				b.Errorf("%d rotations for %d devices", len(rs), n)
			}
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	total := time.Since(start)
	b.StopTimer()
	for _, e := range engines {
		stop, cancel := context.WithTimeout(ctx, 10*time.Second)
		e.Stop(stop)
		cancel()
	}
	slices.Sort(durs)
	pct := func(q float64) time.Duration {
		if len(durs) == 0 {
			return 0
		}
		return durs[int(q*float64(len(durs)-1))].Round(time.Millisecond)
	}
	b.ReportMetric(float64(n)/total.Seconds(), "rotations/s")
	b.ReportMetric(enqueued.Seconds(), "enqueue-s")
	b.ReportMetric(total.Seconds(), "fleet-s")
	b.ReportMetric(float64(pct(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(pct(0.99).Milliseconds()), "p99-ms")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	b.Logf("%s, %d replica(s): %d devices over %d CAs: %d succeeded, %d failed in %s (router pass %s, of which enqueue %s); p50 %s p99 %s; peak RSS %.0f MiB",
		engine, replicas, n, shards, len(durs), failed, total.Round(time.Millisecond), enqueued.Round(time.Millisecond), pass.Enqueue.Round(time.Millisecond),
		pct(0.5), pct(0.99), peakRSSMiB())
	if failed > 0 {
		b.Errorf("%d rotations failed", failed)
	}
}

// peakRSSMiB reads the process's peak resident set size (VmHWM).
func peakRSSMiB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// fleetEngine is rotate.Engine on either database.
type fleetEngine interface {
	Migrate(ctx context.Context) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	RouterPass(ctx context.Context) (rotate.PassResult, error)
}

// newFleetEngine builds one replica's engine: River's SQLite driver on its
// own jobs file (one connection, as that driver wants), or River's pgx
// driver with a pool of its own on the shared database.
func newFleetEngine(b *testing.B, engine, dir, dsn string, rot *rotate.Rotator, cfg rotate.EngineConfig) fleetEngine {
	b.Helper()
	if engine == "postgres" {
		pool, err := pgxpool.New(context.Background(), dsn)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		e, err := rotate.NewEngine(riverpgxv5.New(pool), rot, cfg)
		if err != nil {
			b.Fatal(err)
		}
		return e
	}
	jobs, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "jobs.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	jobs.SetMaxOpenConns(1)
	b.Cleanup(func() { jobs.Close() })
	e, err := rotate.NewEngine(riversqlite.New(jobs), rot, cfg)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// freshSchema makes an empty PostgreSQL schema for one run and returns a
// DSN whose search_path is it.
func freshSchema(b *testing.B) string {
	b.Helper()
	dsn := os.Getenv("OTTR_TEST_POSTGRES_DSN")
	if dsn == "" {
		b.Fatal("OTTR_BENCH_ENGINE=postgres needs OTTR_TEST_POSTGRES_DSN")
	}
	schema := fmt.Sprintf("ottr_fleet_%d", time.Now().UnixNano())
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := raw.Exec("CREATE SCHEMA " + schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { raw.Exec("DROP SCHEMA " + schema + " CASCADE"); raw.Close() })
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}
