package chaos

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/sim/panos"
)

// kill is one SIGKILL the test sent.
type kill struct {
	slot  int
	at    time.Time
	pause time.Duration // down for this long before the restart
}

// recovery is how long one kill's in-flight rotations waited to run again.
type recovery struct {
	kill
	inFlight []string      // assets whose attempt the kill cut off
	worst    time.Duration // until the last of them started its next attempt
}

// recoveries finds, for each kill, the rotations whose attempt ran in the
// killed process and when each started its next attempt. An attempt is
// the killed process's when the last device session opened since the
// attempt started, before the kill, is that replica's login (slotOf maps
// a login to its replica) and was opened after the process started
// (runStart). Attempts killed before they reached the device cannot be
// told apart and are not counted.
func recoveries(t testing.TB, f *fleet, hs map[string]*history, kills []kill, slotOf func(user string) int, runStart func(kill) time.Time) []recovery {
	t.Helper()
	sessions := map[string][]panos.Session{}
	for _, n := range f.names {
		sessions[n] = f.devices[n].Sessions()
	}
	var out []recovery
	for _, k := range kills {
		rec := recovery{kill: k}
		since := runStart(k)
		for _, n := range f.names {
			h := hs[n]
			if h == nil {
				continue
			}
			i := -1 // the attempt running at the kill
			for j, a := range h.attempts {
				if a.Before(k.at) {
					i = j
				}
			}
			if i < 0 || (h.rot.FinishedAt != nil && h.rot.FinishedAt.Before(k.at)) {
				continue
			}
			var last *panos.Session
			for _, s := range sessions[n] {
				if s.First.Before(k.at) && !s.First.Before(h.attempts[i]) {
					last = &s
				}
			}
			if last == nil || slotOf(last.User) != k.slot || last.First.Before(since) {
				continue
			}
			if i+1 >= len(h.attempts) {
				t.Errorf("%s: its attempt %d ran on replica %d, killed at %s, but no attempt followed (rotation %s)", n, i+1, k.slot,
					k.at.Format("15:04:05.000"), h.rot.State)
				continue
			}
			rec.inFlight = append(rec.inFlight, n)
			rec.worst = max(rec.worst, h.attempts[i+1].Sub(k.at))
		}
		out = append(out, rec)
	}
	return out
}

// slotFromUser is the replica index of a login "ottr-r<i>".
func slotFromUser(user string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(user, "ottr-r"))
	if err != nil {
		return -1
	}
	return i
}

// checkJobs checks River's table once every rotation ended: no rotation
// job is left waiting (available, scheduled, retryable, pending), and a job
// still marked running belongs to a process the test killed — River's
// rescuer hands it out again later, and it ends as a no-op because its
// rotation has ended. Jobs of live processes get a few seconds to finish.
//
// A job's process is told by its attempted_by, River's client ID, which
// carries the time the client was made: inside exactly one run's start
// (the test starts one process at a time). Should the ID not carry it,
// the job must at least have been taken before a kill, by a process that
// then ran.
func checkJobs(t testing.TB, raw *rawDB, c *cluster) {
	t.Helper()
	var runs []run
	for i := range c.replicas {
		runs = append(runs, c.Runs(i)...)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		js, err := raw.rotationJobs(t.Context(), "AND state NOT IN ('completed', 'cancelled', 'discarded')")
		if err != nil {
			t.Fatal(err)
		}
		var bad []string
		dead := 0
		for _, j := range js {
			if j.state != "running" {
				bad = append(bad, j.String()+" for rotation "+j.rotationID+": waiting after every rotation ended")
				continue
			}
			if why := killedRun(j, runs); why != "" {
				bad = append(bad, j.String()+" for rotation "+j.rotationID+": "+why)
				continue
			}
			dead++
		}
		if len(bad) == 0 {
			t.Logf("rotation jobs: none waiting, %d still marked running in killed processes (River's rescuer ends them as no-ops)", dead)
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("rotation jobs left after every rotation ended:\n%s", strings.Join(bad, "\n"))
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// killedRun says why job j is not known to belong to a killed run ("" when
// it does).
func killedRun(j job, runs []run) string {
	if len(j.attemptedBy) == 0 || j.attemptedAt == nil {
		return "running, but never attempted"
	}
	id := j.attemptedBy[len(j.attemptedBy)-1]
	// An engine names its client after its lease owner, host-pid-random.
	if m := ownerPID.FindStringSubmatch(id); m != nil {
		pid, _ := strconv.Atoi(m[1])
		for _, r := range runs {
			if r.pid == pid {
				if r.ended.IsZero() {
					return fmt.Sprintf("taken by process %d, which is alive", r.pid)
				}
				return ""
			}
		}
		return "taken by client " + id + ", of no process the test started"
	}
	// River names a client host_2006_01_02T15_04_05_000000, in UTC; the
	// clock is this machine's, read inside the process.
	const layout, slack = "2006_01_02T15_04_05_000000", 100 * time.Millisecond
	if len(id) > len(layout) {
		s := id[len(id)-len(layout):]
		if made, err := time.Parse("2006_01_02T15_04_05.000000", s[:len(s)-7]+"."+s[len(s)-6:]); err == nil {
			for _, r := range runs {
				if !made.Before(r.started.Add(-slack)) && !made.After(r.ready.Add(slack)) {
					if r.ended.IsZero() {
						return fmt.Sprintf("taken by process %d, which is alive", r.pid)
					}
					return ""
				}
			}
			return "taken by client " + id + ", made when no process the test started was starting"
		}
	}
	for _, r := range runs {
		if !r.ended.IsZero() && !j.attemptedAt.Before(r.started) && j.attemptedAt.Before(r.ended) {
			return ""
		}
	}
	return "taken by client " + id + " after the last kill"
}

var ownerPID = regexp.MustCompile(`-(\d+)-[0-9a-f]{8}$`)

func TestKilledRun(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.TimeOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return time.Date(2026, 11, 28, v.Hour(), v.Minute(), v.Second(), v.Nanosecond(), time.UTC)
	}
	runs := []run{
		{pid: 10, started: at("10:00:00"), ready: at("10:00:01"), ended: at("10:00:05")},
		{pid: 11, started: at("10:00:05"), ready: at("10:00:06")},
	}
	taken := at("10:00:03")
	for _, c := range []struct {
		by     string
		at     time.Time
		killed bool
	}{
		{"vm_2026_11_28T10_00_00_500000", taken, true},  // made by the killed run
		{"vm_2026_11_28T10_00_05_500000", taken, false}, // by the live one
		{"vm_2026_11_28T09_00_00_000000", taken, false}, // by no run the test started
		{"replica-a", at("10:00:03"), true},             // no time in the ID: taken while a killed run ran
		{"replica-a", at("10:00:07"), false},            // taken after every kill
		{"vm-10-5f6be424", at("10:00:03"), true},        // an engine's owner name: by pid
		{"vm-11-5f6be424", at("10:00:07"), false},
		{"vm-12-5f6be424", at("10:00:03"), false},
	} {
		why := killedRun(job{state: "running", attemptedAt: &c.at, attemptedBy: []string{c.by}}, runs)
		if (why == "") != c.killed {
			t.Errorf("job by %s at %s: %q, want killed %v", c.by, c.at.Format(time.TimeOnly), why, c.killed)
		}
	}
	if why := killedRun(job{state: "running"}, runs); why == "" {
		t.Error("a job never attempted is not a killed process's")
	}
}
