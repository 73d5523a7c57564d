package chaos

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/miekg/dns"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/store"
)

const (
	// devices is the fleet size of the replica test (the issue: ≥ 300).
	devices = 300
	// chaosDeadline bounds the whole run, kills included: rotations still
	// live then are reported as stuck.
	chaosDeadline = 150 * time.Second
)

// Three `ottr serve` replicas share one PostgreSQL database and rotate 300
// simulated firewalls while one of them, picked at random every 2–6 s, is
// killed with SIGKILL and started again (at once or after a pause). Then:
// every asset ends rotated (recorded, and served by its device); no
// rotation failed, none is left live and none was started twice; no two
// replicas worked on one device at once; the CA issued at most assets +
// kills certificates; a resumed rotation never ordered again once it had
// its certificate; the killed replicas' rotations ran again elsewhere
// within a minute; no rotation job is left running except in a killed
// process; and the CA's validations were answered by every replica's DNS
// server, whichever replica wrote the record.
//
// OTTR_CHAOS_SEED replays a run's choices; OTTR_CHAOS_KILLS sets how many
// kills at most (default 8: after them the run only waits for the end).
func TestReplicasSurviveKills(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three ottr servers and 300 devices")
	}
	t.Parallel()
	started := time.Now()
	dsn := freshDatabase(t)
	bin := ottrBinary(t)
	seed, maxKills := chaosKnobs(t)
	rng := rand.New(rand.NewPCG(seed, seed))
	t.Logf("seed %d (OTTR_CHAOS_SEED=%d replays it), at most %d kills", seed, seed, maxKills)

	const replicas = 3
	users := map[string]string{}
	for i := range replicas {
		users[fmt.Sprintf("ottr-r%d", i)] = fmt.Sprintf("Replica%d.Passw0rd", i)
	}
	f := startFleet(t, devices, users)
	dir := t.TempDir()
	data := filepath.Join(dir, "data") // shared: the one master key file
	cfg := f.config(t, settings{dataDir: data, database: dsn, credential: "env:OTTR_CHAOS_PANOS", concurrency: 20, commitPoll: 50 * time.Millisecond})
	c := newCluster(t, bin, cfg, []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")})
	dnsAddrs := freeDNSAddrs(t, replicas)
	for i := range replicas {
		// Each replica logs in to the devices as its own administrator, so
		// a device's sessions say which replica worked on it.
		user := fmt.Sprintf("ottr-r%d", i)
		c.add("r"+strconv.Itoa(i), "OTTR_DNS_LISTEN="+dnsAddrs[i],
			fmt.Sprintf(`OTTR_CHAOS_PANOS={"username":%q,"password":%q}`, user, users[user]))
	}
	// Like a zone with one NS record per replica: Pebble's validation may
	// be answered by any replica that is up.
	f.res.Delegate(zone, dnsAddrs...)
	c.command("", "asset", "import", filepath.Join(f.dir, "assets.json"))
	c.command(adminPassword+"\n", "user", "add", "admin", "--role", "ADMIN", "--password-stdin")
	db := openStore(t, store.Config{DSN: dsn})
	raw := openRaw(t, dsn, "")

	for i := range replicas {
		c.Start(i) // one after another: each run's start is told apart from the others'
	}
	token := login(t, c.URL(0))
	t.Logf("setup took %v", time.Since(started).Round(time.Millisecond))

	// The rotations are requested while the kills go on: a request that
	// meets a dead replica is sent to another.
	chaosStart := time.Now()
	requested := requestRotations(t, c, token, f.names)
	var kills []kill
	for {
		if waitEnded(t, db, 2*time.Second+time.Duration(rng.Int64N(int64(4*time.Second))), requested) {
			break
		}
		if time.Since(chaosStart) > chaosDeadline {
			t.Fatalf("rotations still live %v after the chaos began (%d kills):\n%s\n%s", chaosDeadline, len(kills),
				stuckReport(t.Context(), db, raw), c.Tails(30))
		}
		if len(kills) >= maxKills {
			continue
		}
		k := kill{slot: rng.IntN(replicas)}
		if rng.IntN(2) == 1 {
			k.pause = time.Duration(rng.IntN(3000)) * time.Millisecond
		}
		n, _ := live(t.Context(), db)
		k.at = c.Restart(k.slot, k.pause)
		kills = append(kills, k)
		t.Logf("kill %d at +%v: r%d (%d rotations live), down %v", len(kills), k.at.Sub(chaosStart).Round(time.Millisecond), k.slot, n, k.pause)
	}
	t.Logf("every rotation ended %v after the chaos began, with %d kills", time.Since(chaosStart).Round(time.Millisecond), len(kills))

	hs := histories(t, db, f.names)
	checkRotated(t, db, f, hs)
	checkIssued(t, f, hs, len(kills), fmt.Sprintf("%d kills", len(kills)))
	checkOneWorker(t, f)
	checkLogs(t, c)
	resumed := checkResumedFromStep(t, hs)
	attempts := 0
	for _, h := range hs {
		attempts += len(h.attempts)
	}
	t.Logf("%d attempts for %d rotations; %d resumed with the certificate already issued", attempts, len(hs), resumed)

	var worst time.Duration
	runStart := func(k kill) time.Time {
		for _, r := range c.Runs(k.slot) {
			if r.ended.Equal(k.at) {
				return r.started
			}
		}
		t.Fatalf("no run of r%d ended at kill %s", k.slot, k.at)
		return time.Time{}
	}
	for i, r := range recoveries(t, f, hs, kills, slotFromUser, runStart) {
		worst = max(worst, r.worst)
		t.Logf("kill %d (r%d at +%v, down %v): %d rotations in flight there, all running again after %v",
			i+1, r.slot, r.at.Sub(chaosStart).Round(time.Millisecond), r.pause, len(r.inFlight), r.worst.Round(time.Millisecond))
	}
	t.Logf("worst recovery after a kill: %v", worst.Round(time.Millisecond))
	if worst > maxRecovery {
		t.Errorf("a killed replica's rotations waited %v to run again, want at most %v", worst.Round(time.Millisecond), maxRecovery)
	}
	checkJobs(t, raw, c)
	checkDNS(t, db, f, hs, dnsAddrs)
	t.Logf("whole test: %v", time.Since(started).Round(time.Millisecond))
}

// chaosKnobs reads OTTR_CHAOS_SEED (default: from the clock) and
// OTTR_CHAOS_KILLS (default 8).
func chaosKnobs(t testing.TB) (seed uint64, kills int) {
	t.Helper()
	seed, kills = uint64(time.Now().UnixNano()), 8
	if s := os.Getenv("OTTR_CHAOS_SEED"); s != "" {
		v, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("OTTR_CHAOS_SEED=%q is not a number", s)
		}
		seed = v
	}
	if s := os.Getenv("OTTR_CHAOS_KILLS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			t.Fatalf("OTTR_CHAOS_KILLS=%q is not a count", s)
		}
		kills = v
	}
	return seed, kills
}

// checkDNS checks a replica's DNS server answers what another replica
// wrote: of the rotations that ran in one attempt on one replica (which
// wrote the challenge records), some were validated by the CA through
// another replica's server (the resolver takes turns over them); every
// replica's server answered some validations; and a record written to the
// database now is answered by every replica.
func checkDNS(t testing.TB, db *store.DB, f *fleet, hs map[string]*history, addrs []string) {
	t.Helper()
	by := f.res.AnsweredBy()
	t.Logf("TXT queries answered per replica: %v", by)
	for i, a := range addrs {
		if by[a] == 0 {
			t.Errorf("replica r%d's DNS server (%s) answered none of the CA's TXT queries", i, a)
		}
	}
	single, across := 0, 0
	for _, n := range f.names {
		ss := f.devices[n].Sessions()
		if h := hs[n]; h == nil || len(h.attempts) != 1 || len(ss) != 1 {
			continue
		}
		single++
		writer := slotFromUser(ss[0].User)
		for a, k := range f.res.AnsweredFor(ottrdns.SuggestTarget(n, n, zone)) {
			if k > 0 && writer >= 0 && a != addrs[writer] {
				across++
				break
			}
		}
	}
	t.Logf("%d of %d rotations that ran on one replica were validated through another replica's DNS server", across, single)
	if single > 0 && across == 0 {
		t.Errorf("no rotation was validated through a DNS server other than its own replica's")
	}
	name, value := "_acme-challenge.probe."+zone, "written-once-read-everywhere"
	if err := db.PutTXT(t.Context(), name, value, time.Now().Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for i, a := range addrs {
		q := new(dns.Msg)
		q.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
		in, _, err := (&dns.Client{Timeout: 5 * time.Second}).Exchange(q, a)
		if err != nil {
			t.Errorf("r%d's DNS server: %v", i, err)
			continue
		}
		var got []string
		for _, rr := range in.Answer {
			if txt, ok := rr.(*dns.TXT); ok {
				got = append(got, txt.Txt...)
			}
		}
		if !slices.Contains(got, value) {
			t.Errorf("r%d's DNS server answers %v (%s) for %s, want the value in the database", i, got, dns.RcodeToString[in.Rcode], name)
		}
	}
}

// requireCI skips a test that lacks what (outside CI) or fails it (under
// CI=true, where every component must be there).
func requireCI(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

// freshDatabase creates a database of its own on the PostgreSQL server of
// OTTR_TEST_POSTGRES_DSN and returns its DSN; it is dropped when the test
// ends. Without a reachable server the test is skipped (failed in CI).
func freshDatabase(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("OTTR_TEST_POSTGRES_DSN")
	if dsn == "" {
		requireCI(t, "OTTR_TEST_POSTGRES_DSN is not set: the chaos test needs PostgreSQL (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		requireCI(t, "PostgreSQL at OTTR_TEST_POSTGRES_DSN is unreachable: %v", err)
	}
	name := fmt.Sprintf("chaos_%012x", rand.Uint64()>>16)
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// FORCE: connections of killed replicas may linger a moment.
		if _, err := admin.Exec("DROP DATABASE " + name + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	return u.String()
}
