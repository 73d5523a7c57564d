//go:build !nodemo

package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// TestFreshStart walks issue 16's road on a fresh machine (an empty HOME):
// ottr demo --lab starts the devices, and the commands it prints — the
// ones README.md and docs/cli.md show — are run as printed, in order,
// through the real CLI. Only two things differ from a person at a shell:
// serve listens on a free port instead of 8080 (other tests run beside
// this one), and login is pointed at that port. The server's router must
// rotate every demo device, each must then serve its new certificate from
// the lab's CA, status must call them all healthy, and the asked-for
// rotate --wait must go through the server.
func TestFreshStart(t *testing.T) {
	home := t.TempDir()
	labDir := filepath.Join(t.TempDir(), "lab")
	env := map[string]string{"HOME": home}
	getenv := func(k string) string { return env[k] }

	labOut := &syncBuffer{}
	labCtx, stopLab := context.WithCancel(context.Background())
	labDone := make(chan error, 1)
	go func() {
		labDone <- run(labCtx, []string{"demo", "--lab", labDir}, func(string) string { return "" }, nil, labOut, labOut)
	}()
	stopped := false
	stop := func() error {
		stopLab()
		select {
		case err := <-labDone:
			stopped = true
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("demo --lab did not stop")
			return nil
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(labOut.String(), "--wait") {
		select {
		case err := <-labDone:
			t.Fatalf("demo --lab ended: %v\n%s", err, labOut.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo --lab printed no commands:\n%s", labOut.String())
		}
	}
	printed := labOut.String()
	addrs := map[string]string{} // device → address, as the lab lists them
	for _, m := range regexp.MustCompile(`(?m)^  (\S+\.example\.com) +(127\.0\.0\.1:\d+)$`).FindAllStringSubmatch(printed, -1) {
		addrs[m[1]] = m[2]
	}
	var inventory []*ottr.Asset
	if b, err := os.ReadFile(filepath.Join(labDir, "assets.json")); err != nil || json.Unmarshal(b, &inventory) != nil {
		t.Fatalf("the lab's assets.json: %v", err)
	}
	if len(inventory) < 9 || len(addrs) != len(inventory) {
		t.Fatalf("the lab lists %d device addresses for %d assets:\n%s", len(addrs), len(inventory), printed)
	}
	roots := x509.NewCertPool()
	if b, err := os.ReadFile(filepath.Join(labDir, "ca", "roots.pem")); err != nil || !roots.AppendCertsFromPEM(b) {
		t.Fatalf("the lab's ca/roots.pem: %v", err)
	}
	before := map[string]string{}
	for name, addr := range addrs {
		before[name] = servedSerial(t, addr, name, nil)
	}

	_, next, ok := strings.Cut(printed, "\nNext,")
	if !ok {
		t.Fatalf("no Next commands:\n%s", printed)
	}
	// README.md and docs/cli.md show the same road (with /tmp/ottr-lab).
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	cliDoc, err := os.ReadFile("../../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	var commands [][]string
	for _, line := range strings.Split(next, "\n") {
		line, _, _ = strings.Cut(line, "  #")
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "ottr ") && !strings.HasPrefix(line, "export ") {
			continue
		}
		documented := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(strings.ReplaceAll(line, labDir, "/tmp/ottr-lab")) + `( +#.*)?$`)
		if !documented.Match(readme) {
			t.Errorf("README.md's road lacks the printed %q", line)
		}
		if !strings.HasPrefix(line, "ottr credential set") && !documented.Match(cliDoc) {
			t.Errorf("docs/cli.md's road lacks the printed %q", line)
		}
		if strings.ContainsAny(line, `'"`) {
			t.Fatalf("a printed command needs a shell's quoting, which this test does not do: %s", line)
		}
		commands = append(commands, strings.Fields(os.Expand(line, getenv)))
	}
	want := []string{"init", "config", "credential", "asset", "user", "serve", "login", "status", "rotations", "rotate"}
	var got []string
	for _, c := range commands {
		if c[0] == "ottr" && (len(got) == 0 || got[len(got)-1] != c[1]) {
			got = append(got, c[1])
		}
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("printed commands run %v, want %v:\n%s", got, want, next)
	}

	const password = "Fresh.Start.Passw0rd"
	var url string
	ottrCmd := func(stdin string, args ...string) string {
		t.Helper()
		var out, errb strings.Builder
		if err := run(t.Context(), args, getenv, strings.NewReader(stdin), &out, &errb); err != nil {
			t.Fatalf("ottr %s: %v\n%s\n%s", strings.Join(args, " "), err, out.String(), errb.String())
		}
		return out.String()
	}
	outputs := map[string]string{}
	for _, c := range commands {
		if c[0] == "export" {
			k, v, _ := strings.Cut(c[1], "=")
			env[k] = v
			continue
		}
		args := c[1:]
		stdin := ""
		switch args[0] {
		case "serve":
			var stopServe func() error
			url, _, stopServe = startServe(t, env, append(args, "--listen", freeDNSPort(t))...)
			defer func() {
				if err := stopServe(); err != nil {
					t.Errorf("serve: %v", err)
				}
			}()
			waitRouterRotations(t, ottrCmd, len(inventory))
			continue
		case "login":
			for i, a := range args {
				if strings.HasPrefix(a, "http://") {
					args[i] = url
				}
			}
			stdin = password + "\n"
		case "user":
			stdin = password + "\n"
		}
		outputs[args[0]] += ottrCmd(stdin, args...)
	}

	// The router rotated every device; each serves the serial recorded,
	// issued by the lab's CA, and status (through the server) calls them
	// all healthy.
	var rots []*ottr.Rotation
	if err := json.Unmarshal([]byte(ottrCmd("", "rotations", "list", "-o", "json")), &rots); err != nil {
		t.Fatal(err)
	}
	byRouter := map[string]*ottr.Rotation{}
	var asked *ottr.Rotation
	for _, r := range rots {
		switch r.Trigger {
		case ottr.TriggerRouter:
			byRouter[r.SystemName] = r
		case ottr.TriggerAPI:
			asked = r
		}
	}
	for _, as := range inventory {
		r := byRouter[as.SystemName]
		if r == nil || r.State != ottr.StateSucceeded || r.OldSerial != before[as.SystemName] {
			t.Errorf("%s: router's rotation %+v (served serial before: %s)", as.SystemName, r, before[as.SystemName])
			continue
		}
		want := r.NewSerial
		if as.SystemName == "fw01.example.com" && asked != nil {
			want = asked.NewSerial // rotated once more by rotate --wait
		}
		if got := servedSerial(t, addrs[as.SystemName], as.SystemName, roots); got != want {
			t.Errorf("%s serves serial %s, want %s", as.SystemName, got, want)
		}
	}
	for _, name := range []string{"fw01.example.com", "lb02.example.com"} {
		if byRouter[name] == nil {
			t.Errorf("the router did not rotate %s", name)
		}
	}
	if asked == nil || asked.SystemName != "fw01.example.com" || asked.State != ottr.StateSucceeded ||
		asked.RequestedBy != "admin" || asked.OldSerial != byRouter["fw01.example.com"].NewSerial {
		t.Errorf("rotate fw01.example.com --wait through the server: %+v", asked)
	}
	if !strings.Contains(outputs["rotate"], "state      succeeded") {
		t.Errorf("rotate --wait printed:\n%s", outputs["rotate"])
	}
	if !regexp.MustCompile(`(?m)^healthy +`+strconv.Itoa(len(inventory))+`$`).MatchString(outputs["status"]) ||
		!strings.Contains(outputs["status"], "("+url) {
		t.Errorf("ottr status (want %d healthy, through %s):\n%s", len(inventory), url, outputs["status"])
	}
	var st ottr.FleetStatus
	if err := json.Unmarshal([]byte(ottrCmd("", "status", "-o", "json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Assets != len(inventory) || st.States["healthy"] != len(inventory) || len(st.Failing) != 0 {
		t.Errorf("status -o json: %+v", st)
	}
	// One process: it leads, and its router's passes are on record.
	if r := st.Router; r == nil || r.State != "running" || r.LastPass == nil || r.LastPass.Error != "" ||
		r.Leader == "" || r.Leader != r.Replica || r.LastPass.Owner != r.Replica || r.NextPass == nil {
		t.Errorf("router in status -o json: %+v", st.Router)
	}

	if err := stop(); err != nil {
		t.Errorf("demo --lab on Ctrl-C: %v", err)
	}
	if !strings.HasSuffix(labOut.String(), "Demo lab stopped.\n") {
		t.Errorf("demo --lab did not say it stopped:\n%s", labOut.String())
	}
}

// waitRouterRotations waits until the server's router has finished n
// rotations, as ottr rotations list (through the server) shows them.
func waitRouterRotations(t *testing.T, ottrCmd func(string, ...string) string, n int) {
	t.Helper()
	deadline := time.Now().Add(25 * time.Second)
	for {
		var rots []*ottr.Rotation
		if err := json.Unmarshal([]byte(ottrCmd("", "rotations", "list", "-o", "json")), &rots); err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, r := range rots {
			if r.Trigger == ottr.TriggerRouter && (r.State == ottr.StateSucceeded || r.State == ottr.StateFailed) {
				done++
			}
		}
		if done >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the router finished %d of %d rotations: %s", done, n, ottrCmd("", "rotations", "list"))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// servedSerial is the serial of the certificate a device serves for name,
// checked against roots when given.
func servedSerial(t *testing.T, addr, name string, roots *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: name, InsecureSkipVerify: roots == nil, RootCAs: roots})
	if err != nil {
		t.Errorf("%s at %s: %v", name, addr, err)
		return ""
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Text(16)
}

// ottr init --from-demo names what is wrong with the lab directory and
// writes nothing then; demo --lab takes neither --keep nor --once.
func TestInitFromDemoRefuses(t *testing.T) {
	run1 := func(args ...string) (string, error) {
		var out, errb strings.Builder
		err := run(t.Context(), args, func(string) string { return "" }, nil, &out, &errb)
		return out.String() + errb.String(), err
	}
	empty := t.TempDir()
	for _, tc := range []struct {
		name, fragment, routes string
		want                   []string
	}{
		{"no lab", "", "", []string{"--from-demo", "has no ottr-demo.yaml", "is ottr demo --lab " + empty + " running?"}},
		{"foreign section", "dns: {zones: [acme.demo.test]}\nlisten: 0.0.0.0:80\n", "{}", []string{"--from-demo", "ottr-demo.yaml: listen is not a section the demo lab writes"}},
		{"no route table", "dns: {zones: [acme.demo.test]}\n", "", []string{"--from-demo", "route.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fragment != "" {
				os.WriteFile(filepath.Join(empty, "ottr-demo.yaml"), []byte(tc.fragment), 0o644)
			}
			os.Remove(filepath.Join(empty, "route.json"))
			if tc.routes != "" {
				os.WriteFile(filepath.Join(empty, "route.json"), []byte(tc.routes), 0o644)
			}
			dir := t.TempDir()
			out, err := run1("init", dir, "--from-demo", empty)
			if exitCode(err) != exitFailed {
				t.Errorf("exit %d, want %d: %v\n%s", exitCode(err), exitFailed, err, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "ottr.yaml")); !os.IsNotExist(err) {
				t.Errorf("a refused init wrote ottr.yaml: %v", err)
			}
		})
	}
	out, err := run1("demo", "--lab", t.TempDir(), "--once")
	if exitCode(err) != exitUsage || !strings.Contains(out, "--lab runs the devices for a server until Ctrl-C; it takes neither --keep nor --once") {
		t.Errorf("demo --lab --once: exit %d\n%s", exitCode(err), out)
	}
}
