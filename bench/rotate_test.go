package bench

import (
	"context"
	"crypto/x509"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/sim/memdevice"
	"github.com/ottr-dev/ottr/sim/resolver"
	"github.com/ottr-dev/ottr/store"
	"github.com/riverqueue/river/riverdriver/riversqlite"
)

// BenchmarkRotateFleet rotates OTTR_BENCH_DEVICES (default 1,000) simulated
// devices through the whole pipeline with 50 workers: a real P-256 key and
// CSR per device, an ACME order against an in-process Pebble with DNS-01
// answered by the built-in DNS server through CNAMEs, install, verify and
// record in SQLite, as durable River jobs. SPEC §8: 10,000 in < 10 min.
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
	db, err := store.Open(ctx, store.Config{DataDir: dir, Sealer: sealer})
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
	ch := &ottrdns.Challenges{Zones: map[string]ottr.DNSZone{zone: &ottrdns.StoreZone{Store: db}},
		Resolvers: []string{res.Addr}, Nameservers: []string{srv.Addr()}, PropagationTimeout: time.Minute}
	var devMu sync.Mutex
	devices := map[string]*memdevice.Device{}
	rot := &rotate.Rotator{
		Assets: db, Rotations: db, DNS: ch,
		Issuer: &acme.Issuer{CAs: cas, Secrets: db, DNS: ch},
		Roots:  func(ca string) *x509.CertPool { return roots[ca] },
		Open: func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
			devMu.Lock()
			defer devMu.Unlock()
			return devices[a.SystemName], nil
		},
	}
	var names []string
	for i := range n {
		name := fmt.Sprintf("dev%05d.example.com", i)
		names = append(names, name)
		devices[name] = &memdevice.Device{}
		res.CNAME("_acme-challenge."+name, "_acme-challenge."+strings.SplitN(name, ".", 2)[0]+"."+zone)
		if err := db.CreateAsset(ctx, &ottr.Asset{SystemName: name, CommonName: name, SubjectAlternativeName: []string{name},
			CertificateAuthority: fmt.Sprintf("pebble%d", i%shards), HostPlatform: "mem"}); err != nil {
			b.Fatal(err)
		}
	}
	jobs, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "jobs.db")+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)")
	if err != nil {
		b.Fatal(err)
	}
	jobs.SetMaxOpenConns(1)
	defer jobs.Close()
	eng, err := rotate.NewEngine(riversqlite.New(jobs), rot, rotate.EngineConfig{Concurrency: 50, PollInterval: 100 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	if err := eng.Migrate(ctx); err != nil {
		b.Fatal(err)
	}

	b.StartTimer()
	start := time.Now()
	if err := eng.Start(ctx); err != nil {
		b.Fatal(err)
	}
	for _, name := range names {
		if _, err := eng.Enqueue(ctx, &ottr.Rotation{SystemName: name, Trigger: ottr.TriggerRouter}); err != nil {
			b.Fatal(err)
		}
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
		if live == 0 && len(rs) == n {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	total := time.Since(start)
	b.StopTimer()
	stop, cancel := context.WithTimeout(ctx, 10*time.Second)
	eng.Stop(stop)
	cancel()
	slices.Sort(durs)
	pct := func(q float64) time.Duration {
		if len(durs) == 0 {
			return 0
		}
		return durs[int(q*float64(len(durs)-1))].Round(time.Millisecond)
	}
	b.ReportMetric(float64(n)/total.Seconds(), "rotations/s")
	b.ReportMetric(float64(pct(0.5).Milliseconds()), "p50-ms")
	b.ReportMetric(float64(pct(0.99).Milliseconds()), "p99-ms")
	b.ReportMetric(peakRSSMiB(), "peak-RSS-MiB")
	b.Logf("%d devices over %d CAs: %d succeeded, %d failed in %s (enqueued in %s); p50 %s p99 %s; peak RSS %.0f MiB",
		n, shards, len(durs), failed, total.Round(time.Millisecond), enqueued.Round(time.Millisecond), pct(0.5), pct(0.99), peakRSSMiB())
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
