package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Logins under load, against the real binary: 200 at once (right and
// wrong passwords, known and unknown users, all from 127.0.0.1) each get
// 200, 401, 429 or 503 within a few seconds, and the server's peak
// resident memory stays under 300 MB. Each Argon2id hash takes 64 MiB:
// unbounded, 40 logins took a server to 2.6 GB.
func TestLoginsUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the ottr binary")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no /proc to read the server's memory from")
		}
		t.Skip("no /proc to read the server's memory from")
	}
	const (
		logins    = 200
		maxAnswer = 10 * time.Second // the 2 s queue, a hash or two, a loaded machine
		maxPeakMB = 300
		killAtMB  = 1000 // stop a runaway server before it takes the machine
	)
	dir := t.TempDir()
	bin := filepath.Join(dir, "ottr")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := filepath.Join(dir, "data")
	env := []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	bootstrap := exec.CommandContext(t.Context(), bin, "--data-dir", data, "user", "create", "--username", "admin", "--role", "ADMIN", "--password-stdin")
	bootstrap.Env, bootstrap.Stdin = env, strings.NewReader("Adm1n.Passw0rd\n")
	if out, err := bootstrap.CombinedOutput(); err != nil {
		t.Fatalf("user create: %v\n%s", err, out)
	}
	cfg := filepath.Join(dir, "ottr.yaml")
	// A CA and resolvers the server never reaches: no rotation runs here.
	if err := os.WriteFile(cfg, []byte("certificate_authorities:\n  lets_encrypt: {directory: \"https://127.0.0.1:1/directory\"}\n"+
		"dns: {zones: [acme.example.net], resolvers: [\"127.0.0.1:1\"], propagation_timeout: 2s}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	serve := exec.Command(bin, "--config", cfg, "--data-dir", data, "--routes", "../../testdata/route.json", "serve", "--listen", "127.0.0.1:0")
	serve.Env = env
	stderr, err := serve.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = serve.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = serve.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = serve.Process.Kill()
			<-exited
			t.Error("serve did not stop on SIGINT")
		}
	})
	url := listeningURL(t, stderr)
	pid := serve.Process.Pid

	// Poll the server's memory so a runaway is stopped, not just measured.
	watch, stopWatch := context.WithCancel(t.Context())
	var watchWG sync.WaitGroup
	watchWG.Go(func() {
		for watch.Err() == nil {
			if rss := procKB(pid, "VmRSS"); rss > killAtMB<<10 {
				_ = serve.Process.Kill()
				t.Errorf("server at %d MB: killed", rss>>10)
				return
			}
			select {
			case <-watch.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	before := procKB(pid, "VmHWM")

	type answer struct {
		code int
		took time.Duration
		err  error
	}
	answers := make([]answer, logins)
	client := &http.Client{Timeout: time.Minute}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range logins {
		body := `{"username":"admin","password":"Adm1n.Passw0rd"}`
		switch i % 4 {
		case 1:
			body = fmt.Sprintf(`{"username":"admin","password":"wrong-%d"}`, i)
		case 3:
			body = fmt.Sprintf(`{"username":"nobody-%d","password":"Adm1n.Passw0rd"}`, i)
		}
		wg.Go(func() {
			<-start
			t0 := time.Now()
			resp, err := client.Post(url+"/user/v1/authenticate", "application/json", strings.NewReader(body))
			if err != nil {
				answers[i] = answer{err: err, took: time.Since(t0)}
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answers[i] = answer{code: resp.StatusCode, took: time.Since(t0)}
		})
	}
	close(start)
	wg.Wait()
	stopWatch()
	watchWG.Wait()

	peak := procKB(pid, "VmHWM")
	codes := map[int]int{}
	var slowest time.Duration
	for i, a := range answers {
		codes[a.code]++
		slowest = max(slowest, a.took)
		switch {
		case a.err != nil:
			t.Errorf("login %d: %v", i, a.err)
		case a.code != 200 && a.code != 401 && a.code != 429 && a.code != 503:
			t.Errorf("login %d: status %d", i, a.code)
		case a.took > maxAnswer:
			t.Errorf("login %d: answered after %v, want within %v", i, a.took, maxAnswer)
		}
	}
	t.Logf("answers %v; slowest %v; peak RSS %d MB (%d MB before)", codes, slowest.Round(time.Millisecond), peak>>10, before>>10)
	if codes[200] == 0 {
		t.Error("no login succeeded")
	}
	if peak > maxPeakMB<<10 {
		t.Errorf("peak RSS %d MB, want under %d MB", peak>>10, maxPeakMB)
	}
}

// listeningURL reads the server's log until it says where the API
// listens, then keeps draining it.
func listeningURL(t *testing.T, stderr io.Reader) string {
	t.Helper()
	found := make(chan string, 1)
	var logs bytes.Buffer
	var mu sync.Mutex
	go func() {
		re := regexp.MustCompile(`msg="api listening" url=(\S+)`)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case url, ok := <-found:
		if ok {
			return url
		}
	case <-time.After(60 * time.Second):
	}
	mu.Lock()
	defer mu.Unlock()
	t.Fatalf("the server never said where it listens:\n%s", logs.String())
	return ""
}

// procKB reads a "kB" field (VmRSS, VmHWM) of a process's status.
func procKB(pid int, field string) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}
