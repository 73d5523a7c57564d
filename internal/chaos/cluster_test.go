package chaos

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	ottrdns "github.com/ottr-dev/ottr/dns"
)

// The ottr binary is built once per test run, into binDir.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// ottrBinary builds cmd/ottr (once) and returns its path.
func ottrBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "ottr-chaos-bin-")
		if buildErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "ottr")
		start := time.Now()
		out, err := exec.Command("go", "build", "-o", binPath, "../../cmd/ottr").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		t.Logf("built ottr in %v", time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// cluster runs `ottr serve` replicas of one configuration. Each replica
// has a fixed slot (its DNS address and environment stay the same across
// restarts) and one log spanning all its runs.
type cluster struct {
	t        testing.TB
	bin, cfg string
	env      []string // shared by every process
	replicas []*replica
}

// replica is one slot of the cluster.
type replica struct {
	name string
	env  []string // the slot's own variables, over the cluster's
	log  *lineLog

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	runs   []run
	url    string // the API of the current run
}

// run is one process of a replica: when it was started, when it said it
// listens, and when it was killed (zero while it runs).
type run struct {
	pid                   int
	started, ready, ended time.Time
}

func newCluster(t testing.TB, bin, cfg string, env []string) *cluster {
	c := &cluster{t: t, bin: bin, cfg: cfg, env: env}
	t.Cleanup(func() {
		for i := range c.replicas {
			c.stop(i)
		}
	})
	return c
}

// add adds a replica slot (not started) with its own environment.
func (c *cluster) add(name string, env ...string) int {
	c.replicas = append(c.replicas, &replica{name: name, env: env, log: &lineLog{}})
	return len(c.replicas) - 1
}

// command runs a one-off ottr command (asset import, user add…) with the
// cluster's configuration and environment, and fails the test if it fails.
func (c *cluster) command(stdin string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(c.bin, append([]string{"--config", c.cfg}, args...)...)
	cmd.Env = c.env
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		c.t.Fatalf("ottr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

var listening = regexp.MustCompile(`msg="api listening" url=(\S+)`)

// Start starts replica i and returns once its API listens (its rotation
// workers start right after). The test fails if it does not within a
// minute.
func (c *cluster) Start(i int) {
	c.t.Helper()
	r := c.replicas[i]
	r.mu.Lock()
	if r.cmd != nil {
		r.mu.Unlock()
		c.t.Fatalf("%s is already running", r.name)
	}
	cmd := exec.Command(c.bin, "--config", c.cfg, "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append(append([]string(nil), c.env...), r.env...)
	n := len(r.runs) + 1
	r.log.mark(fmt.Sprintf("=== %s run %d", r.name, n))
	url := r.log.watch(listening)
	cmd.Stdout, cmd.Stderr = r.log, r.log
	cmd.WaitDelay = 5 * time.Second
	dieWithTest(cmd)
	if err := cmd.Start(); err != nil {
		r.mu.Unlock()
		c.t.Fatalf("start %s: %v", r.name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	r.cmd, r.exited = cmd, exited
	r.runs = append(r.runs, run{pid: cmd.Process.Pid, started: time.Now()})
	r.mu.Unlock()
	select {
	case u := <-url:
		r.mu.Lock()
		r.url = u
		r.runs[len(r.runs)-1].ready = time.Now()
		r.mu.Unlock()
	case <-exited:
		c.t.Fatalf("%s run %d exited before listening:\n%s", r.name, n, r.log.tail(40))
	case <-time.After(time.Minute):
		c.t.Fatalf("%s run %d did not listen within a minute:\n%s", r.name, n, r.log.tail(40))
	}
}

// Kill kills replica i with SIGKILL, as a crash or the OOM killer would,
// and waits until it is gone. It returns when the signal was sent.
func (c *cluster) Kill(i int) time.Time {
	c.t.Helper()
	r := c.replicas[i]
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		c.t.Fatalf("%s is not running", r.name)
	}
	at := time.Now()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatalf("kill %s: %v", r.name, err)
	}
	<-r.exited
	r.runs[len(r.runs)-1].ended = at
	r.log.mark(fmt.Sprintf("=== %s killed (SIGKILL)", r.name))
	r.cmd, r.url = nil, ""
	return at
}

// Restart kills replica i, waits pause and starts it again; it returns
// the time of the kill.
func (c *cluster) Restart(i int, pause time.Duration) time.Time {
	c.t.Helper()
	at := c.Kill(i)
	time.Sleep(pause) // the replica is down for this long, on purpose
	c.Start(i)
	return at
}

// stop kills replica i if it runs (at the end of the test).
func (c *cluster) stop(i int) {
	r := c.replicas[i]
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	_ = r.cmd.Process.Signal(syscall.SIGKILL)
	<-r.exited
	r.cmd = nil
}

// URL is the API of replica i's current run ("" while it is down).
func (c *cluster) URL(i int) string {
	r := c.replicas[i]
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.url
}

// Runs lists replica i's processes so far.
func (c *cluster) Runs(i int) []run {
	r := c.replicas[i]
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]run(nil), r.runs...)
}

// Logs returns everything replica i logged, over all its runs.
func (c *cluster) Logs(i int) string { return c.replicas[i].log.String() }

// Tails is the last n lines of every replica's log, for a failure report.
func (c *cluster) Tails(n int) string {
	var b strings.Builder
	for _, r := range c.replicas {
		fmt.Fprintf(&b, "--- %s, last %d lines:\n%s", r.name, n, r.log.tail(n))
	}
	return b.String()
}

// lineLog collects a process's output line by line and tells a watcher
// when a line matches.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	re      *regexp.Regexp
	found   chan string
}

func (l *lineLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.lines = append(l.lines, line)
		if l.re != nil {
			if m := l.re.FindStringSubmatch(line); m != nil {
				l.found <- m[1]
				l.re = nil
			}
		}
	}
	return len(b), nil
}

// mark adds a line of the test's own, between runs.
func (l *lineLog) mark(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.partial) > 0 {
		l.lines = append(l.lines, string(l.partial))
		l.partial = nil
	}
	l.lines = append(l.lines, s+" at "+time.Now().Format("15:04:05.000"))
}

// watch returns a channel that gets the first submatch of the next line
// matching re.
func (l *lineLog) watch(re *regexp.Regexp) <-chan string {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.re, l.found = re, make(chan string, 1)
	return l.found
}

func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := max(0, len(l.lines)-n)
	return strings.Join(l.lines[from:], "\n") + "\n"
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n") + "\n"
}

// freeDNSAddrs picks n 127.0.0.1 ports free for both UDP and TCP. A
// replica keeps its port across restarts, as a name server keeps its NS
// record, so the ports are taken below the kernel's ephemeral range:
// there, an outgoing connection made while the replica was down could
// take its port.
func freeDNSAddrs(t testing.TB, n int) []string {
	t.Helper()
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if v, err := strconv.Atoi(f[0]); err == nil {
				low = v
			}
		}
	}
	var out []string
	for tries := 0; len(out) < n; tries++ {
		if tries > 200 {
			t.Fatalf("no free 127.0.0.1 port for DNS below %d", low)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", 10000+rand.IntN(max(low-10000, 1000)))
		pc, ln, err := ottrdns.ListenPair(addr)
		if err != nil {
			continue
		}
		pc.Close()
		ln.Close()
		if !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	return out
}
