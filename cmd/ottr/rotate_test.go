package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/dnstest"
	"github.com/ottr-dev/ottr/notify"
	"github.com/ottr-dev/ottr/sim/tlsdir"
)

// rotateEnv is a CLI with a config file for one exec-driven device
// (web01.example.com), an in-process Pebble, the built-in DNS server on
// dns.listen, and a webhook receiver for notifications.
type rotateEnv struct {
	c      *cli
	args   func(a ...string) []string
	res    *dnstest.Resolver
	dev    *tlsdir.Device
	hookMu sync.Mutex
	hooks  []notify.WebhookPayload
}

func (e *rotateEnv) notifications() []notify.WebhookPayload {
	e.hookMu.Lock()
	defer e.hookMu.Unlock()
	return append([]notify.WebhookPayload(nil), e.hooks...)
}

func newRotateEnv(t *testing.T) *rotateEnv {
	e := &rotateEnv{}
	c := newCLI(t)
	res := dnstest.Start(t)
	dnsAddr := freeDNSPort(t)
	res.Delegate(testZone, dnsAddr)
	p, err := acmetest.Start(acmetest.Options{Resolver: res.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	dev, err := tlsdir.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	tmpl, _ := filepath.Abs("../../contrib/exec-template")
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.WebhookPayload
		json.NewDecoder(r.Body).Decode(&p)
		e.hookMu.Lock()
		e.hooks = append(e.hooks, p)
		e.hookMu.Unlock()
	}))
	t.Cleanup(hook.Close)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "dca.pem"), p.TLSRootPEM, 0o644)
	os.WriteFile(filepath.Join(dir, "roots.pem"), p.RootPEM(), 0o644)
	cfg := filepath.Join(dir, "ottr.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `
certificate_authorities:
  lets_encrypt: {directory: %s, directory_ca: %s, trusted_roots: %s}
dns: {listen: "%s", zones: [%s], resolvers: ["%s"]}
workers: {max_attempts: 1}
notify: {webhook: {url: "%s"}}
devices:
  platforms:
    Ubuntu:
      driver: exec
      exec:
        csr: [%s/csr.sh]
        install: [%s/install.sh]
        env: {DEVICE_DIR: %s}
  assets:
    web01.example.com: {address: "%s"}
`, p.Directory, filepath.Join(dir, "dca.pem"), filepath.Join(dir, "roots.pem"), dnsAddr, testZone, res.Addr,
		hook.URL, tmpl, tmpl, dev.Dir, dev.Addr), 0o644)
	// Pebble's issuer has no organization: use the example route table
	// without its certificate_authority_organization list.
	var rt map[string]any
	b, _ := os.ReadFile("../../testdata/route.json")
	json.Unmarshal(b, &rt)
	delete(rt, "certificate_authority_organization")
	b, _ = json.Marshal(rt)
	os.WriteFile(filepath.Join(dir, "route.json"), b, 0o644)
	cfgArgs := []string{"--config", cfg, "--routes", filepath.Join(dir, "route.json")}
	args := func(a ...string) []string { return append(append([]string{}, cfgArgs...), a...) }
	res.CNAME("_acme-challenge.web01.example.com", "_acme-challenge.web01."+testZone)
	c.ok(args("asset", "add", "web01.example.com", "--platform", "Ubuntu", "--os", "20.04", "--ca", "lets_encrypt")...)
	e.c, e.args, e.res, e.dev = c, args, res, dev
	return e
}

func TestRotateCommand(t *testing.T) {
	e := newRotateEnv(t)
	c, args, res, dev := e.c, e.args, e.res, e.dev

	out, stderr, err := c.run("", args("rotate", "web01.example.com", "--wait")...)
	if err != nil {
		t.Fatalf("rotate --wait: %v\n%s\n%s", err, out, stderr)
	}
	for _, w := range []string{"rotation", "queued", "preflight", "device reachable", "issued serial", "verify"} {
		if !strings.Contains(stderr, w) {
			t.Errorf("progress lacks %q:\n%s", w, stderr)
		}
	}
	if !strings.Contains(out, "state      succeeded") {
		t.Errorf("summary:\n%s", out)
	}
	var list []ottr.Rotation
	if err := json.Unmarshal([]byte(c.ok(args("rotations", "list", "-o", "json")...)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].State != ottr.StateSucceeded || list[0].NewSerial == "" {
		t.Fatalf("rotations = %+v", list)
	}
	show := c.ok(args("rotations", "show", list[0].ID)...)
	if !strings.Contains(show, "recorded: expires") {
		t.Errorf("show lacks the log:\n%s", show)
	}
	var as ottr.Asset
	json.Unmarshal([]byte(c.ok(args("asset", "get", "web01.example.com", "-o", "json")...)), &as)
	if as.CertificateSerial != list[0].NewSerial || as.CertificateExpiration == nil {
		t.Errorf("asset not recorded: %+v", as)
	}

	// The device goes away: the rotation fails with the reason and a
	// non-zero exit status.
	dev.Close()
	out, _, err = c.run("", args("-q", "rotate", "web01.example.com", "--wait")...)
	if exitCode(err) != 1 || !strings.Contains(out, "state      failed") || !strings.Contains(out, "unreachable") {
		t.Errorf("unreachable device: exit %d\n%s", exitCode(err), out)
	}
	// The failure was notified (the success before was not: on_success is off).
	if hooks := e.notifications(); len(hooks) != 1 || hooks[0].Event != "rotation.failed" ||
		!strings.Contains(hooks[0].Rotation.Error, "unreachable") || hooks[0].Asset.SystemName != "web01.example.com" {
		t.Errorf("notifications: %+v", hooks)
	}
	// An asset without device settings gets the driver its Ottr recipe
	// names, and says what to configure.
	c.ok(args("asset", "add", "fw09.example.com", "--platform", "panos", "--os", "9.1.0", "--model", "PA-XXXX", "--ca", "lets_encrypt")...)
	res.CNAME("_acme-challenge.fw09.example.com", "_acme-challenge.fw09."+testZone)
	out, _, _ = c.run("", args("-q", "rotate", "fw09.example.com", "--wait")...)
	if !strings.Contains(out, "devices.platforms.panos") || !strings.Contains(out, "otter-panos-9x-lets-encrypt") || !strings.Contains(out, "ottr credential set panos") {
		t.Errorf("no hint about device settings:\n%s", out)
	}
}

// ottr serve: the router finds the due asset (never rotated) and the
// workers rotate it; an interrupt stops it cleanly.
func TestServe(t *testing.T) {
	e := newRotateEnv(t)
	// The first ADMIN is made from the command line, password on stdin.
	if _, stderr, err := e.c.run("Adm1n.Passw0rd\n", e.args("user", "add", "admin", "--role", "ADMIN")...); err != nil {
		t.Fatalf("user add: %v %s", err, stderr)
	}
	if _, stderr, err := e.c.run("weak\n", e.args("user", "add", "weakling", "--role", "DEVELOPER")...); err == nil || !strings.Contains(stderr, "needs") {
		t.Errorf("weak password accepted: %s", stderr)
	}
	listen := freeDNSPort(t) // a free 127.0.0.1 port
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- run(ctx, append([]string{"--data-dir", e.c.dataDir}, e.args("serve", "--listen", listen)...), func(k string) string { return e.c.env[k] }, nil, &out, &errb)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var list []ottr.Rotation
		o, _, _ := e.c.run("", e.args("rotations", "list", "-o", "json")...)
		json.Unmarshal([]byte(o), &list)
		if len(list) == 1 && list[0].State == ottr.StateSucceeded {
			if list[0].Trigger != ottr.TriggerRouter {
				t.Errorf("trigger %q, want router", list[0].Trigger)
			}
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no successful rotation after 60s: %+v\n%s", list, errb.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The API answers on --listen: log in, search.
	resp, err := http.Post("http://"+listen+"/user/v1/authenticate", "application/json", strings.NewReader(`{"username":"admin","password":"Adm1n.Passw0rd"}`))
	if err != nil {
		t.Fatal(err)
	}
	var tok struct{ Token string }
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	req, _ := http.NewRequest("GET", "http://"+listen+"/api/v1/search?system_name=web01.example.com", nil)
	req.Header.Set("Authorization", tok.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var found []ottr.Asset
	json.NewDecoder(resp.Body).Decode(&found)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(found) != 1 || found[0].CertificateSerial == "" {
		t.Errorf("search through the API: %d %+v", resp.StatusCode, found)
	}
	// /metrics counts the rotation and shows the new expiry.
	resp, err = http.Get("http://" + listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	prom, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`ottr_rotations_total{host_platform="Ubuntu",result="succeeded"} 1`,
		fmt.Sprintf(`ottr_certificate_expiry_timestamp_seconds{host_platform="Ubuntu",mode="rotated",system_name="web01.example.com"} %s`, strconv.FormatFloat(float64(found[0].CertificateExpiration.Unix()), 'e', -1, 64)),
		`ottr_assets{state="ok"} 1`} {
		if !strings.Contains(string(prom), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(string(prom), "ottr_"))
		}
	}
	// Plain HTTP on a non-loopback address is refused.
	if _, stderr, err := e.c.run("", e.args("serve", "--listen", "0.0.0.0:0")...); exitCode(err) != 2 || !strings.Contains(stderr, "only served on loopback") {
		t.Errorf("plain HTTP on 0.0.0.0: exit %d %s", exitCode(err), stderr)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v\n%s", err, errb.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop after the interrupt")
	}
	if !strings.Contains(errb.String(), "router pass") || !strings.Contains(errb.String(), "stopped") {
		t.Errorf("serve log:\n%s", errb.String())
	}
	// A first start on a database that never rotated announces what its
	// first pass queues before queueing it.
	if l := errb.String(); !strings.Contains(l, "first start on this database") || !strings.Contains(l, "will_queue=1 assets=web01.example.com") ||
		strings.Index(l, "first start on this database") > strings.Index(l, "router pass") {
		t.Errorf("serve does not announce its first pass:\n%s", l)
	}
}

// grepLines returns the lines of s that start with prefix.
func grepLines(s, prefix string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
