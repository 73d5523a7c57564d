package chaos

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/sim/panos"
	"github.com/ottr-dev/ottr/store"
)

// One `ottr serve` on SQLite (the default) is killed with SIGKILL while
// its rotations order certificates and install them, and started again at
// once. It must resume its own interrupted rotations within a minute, each
// from the step it had recorded (one that had its certificate installs it
// without ordering another), and finish them: every device serves its new
// certificate, and the CA issued at most one more than there are assets
// for each order that was under way at the kill.
func TestRestartResumesOwnRotations(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an ottr server and devices")
	}
	t.Parallel()
	started := time.Now()
	bin := ottrBinary(t)
	const n = 12
	f := startFleet(t, n, map[string]string{"ottr": "Single.Server.Passw0rd"})
	for _, d := range f.devices {
		// A commit stays active for 30 polls (3 s at commit_poll 100ms),
		// so the server is killed while devices install.
		d.SetFaults(panos.Faults{CommitPolls: 30})
	}
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := f.config(t, settings{dataDir: data, credential: "panos-chaos", concurrency: 20, commitPoll: 100 * time.Millisecond})
	c := newCluster(t, bin, cfg, []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")})
	dnsAddr := freeDNSAddrs(t, 1)[0]
	c.add("single", "OTTR_DNS_LISTEN="+dnsAddr)
	f.res.Delegate(zone, dnsAddr)
	c.command("", "asset", "import", filepath.Join(f.dir, "assets.json"))
	c.command(`{"username":"ottr","password":"Single.Server.Passw0rd"}`, "credential", "set", "panos-chaos")
	c.command(adminPassword+"\n", "user", "add", "admin", "--role", "ADMIN", "--password-stdin")
	db := openStore(t, store.Config{DataDir: data})
	raw := openRaw(t, "", data)

	c.Start(0)
	requested := requestRotations(t, c, login(t, c.URL(0)), f.names)
	<-requested

	// Kill once a rotation installs; others are still ordering or queued.
	var atKill map[string]*ottr.Rotation
	deadline := time.Now().Add(time.Minute)
	for {
		rs, err := allRotations(t.Context(), db, ottr.StateRunning)
		if err != nil {
			t.Fatal(err)
		}
		atKill = map[string]*ottr.Rotation{}
		installing := 0
		for _, r := range rs {
			atKill[r.SystemName] = r
			if r.Step == ottr.StepInstall {
				installing++
			}
		}
		if installing > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rotation reached the install step within a minute:\n%s\n%s", stuckReport(t.Context(), db, raw), c.Tails(30))
		}
		time.Sleep(20 * time.Millisecond)
	}
	killed := c.Restart(0, 0)
	var steps []string
	for name, r := range atKill {
		steps = append(steps, fmt.Sprintf("%s at %s (certificate recorded: %v)", name, r.Step, r.Chain != ""))
	}
	t.Logf("killed %v after start with %d rotations running: %s", killed.Sub(started).Round(time.Millisecond), len(atKill), strings.Join(steps, "; "))

	if !waitEnded(t, db, maxRecovery+40*time.Second, requested) {
		t.Fatalf("rotations still live %v after the restart:\n%s\n%s", maxRecovery+40*time.Second, stuckReport(t.Context(), db, raw), c.Tails(30))
	}
	t.Logf("every rotation ended %v after the kill", time.Since(killed).Round(time.Millisecond))

	hs := histories(t, db, f.names)
	checkRotated(t, db, f, hs)
	// Only an order under way at the kill can have been signed and lost;
	// a rotation past it had its certificate recorded.
	ordering := 0
	for _, r := range atKill {
		if r.Step == ottr.StepOrder {
			ordering++
		}
	}
	checkIssued(t, f, hs, ordering, fmt.Sprintf("%d orders under way at the kill", ordering))
	checkOneWorker(t, f)
	checkLogs(t, c)
	checkResumedFromStep(t, hs)
	var worst time.Duration
	for name, was := range atKill {
		h := hs[name]
		if h == nil || (h.rot.FinishedAt != nil && h.rot.FinishedAt.Before(killed)) {
			continue // it finished between the look and the kill
		}
		next := -1
		for i, a := range h.attempts {
			if a.After(killed) {
				next = i
				break
			}
		}
		if next < 0 {
			t.Errorf("%s: running at the kill (step %s), never attempted again", name, was.Step)
			continue
		}
		wait := h.attempts[next].Sub(killed)
		worst = max(worst, wait)
		if was.Chain != "" && !resumedWithChain(h, next) {
			t.Errorf("%s: had its certificate recorded at the kill (step %s), but attempt %d did not resume with it", name, was.Step, next+1)
		}
	}
	t.Logf("the restarted server resumed its %d interrupted rotations within %v", len(atKill), worst.Round(time.Millisecond))
	if worst > maxRecovery {
		t.Errorf("an interrupted rotation waited %v to run again, want at most %v", worst.Round(time.Millisecond), maxRecovery)
	}
}

// resumedWithChain reports whether attempt i (0-based) of h installed the
// certificate recorded before it instead of ordering one.
func resumedWithChain(h *history, i int) bool {
	from := h.attempts[i]
	for _, l := range h.rot.Log {
		if l.Time.Before(from) {
			continue
		}
		if strings.HasPrefix(l.Message, "resuming with the certificate already issued") {
			return true
		}
		if strings.Contains(l.Message, " issued serial ") {
			return false
		}
	}
	return false
}
