package exec_test

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/driver/exec"
	"github.com/ottr-dev/ottr/driver/served"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/tlsdir"
)

var template, _ = filepath.Abs("../../contrib/exec-template")

func asset() *ottr.Asset {
	return &ottr.Asset{SystemName: "dev1.example.com", CommonName: "dev1.example.com",
		SubjectAlternativeName: []string{"dev1.example.com", "dev1-alt.example.com"}, HostPlatform: "exec"}
}

func templateConfig(dev *tlsdir.Device) exec.Config {
	return exec.Config{
		CSR:      []string{filepath.Join(template, "csr.sh")},
		Install:  []string{filepath.Join(template, "install.sh")},
		Rollback: []string{filepath.Join(template, "rollback.sh")},
		Env:      map[string]string{"DEVICE_DIR": dev.Dir},
		Address:  dev.Addr,
		Asset:    asset(),
		Timeout:  20 * time.Second,
	}
}

func startDevice(t *testing.T) *tlsdir.Device {
	t.Helper()
	dev, err := tlsdir.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	return dev
}

// The contrib template, run by the exec driver against a directory-backed
// TLS device, passes the conformance suite.
func TestConformance(t *testing.T) {
	dev := startDevice(t)
	drivertest.Run(t, drivertest.Harness{
		New: func(t *testing.T) ottr.Driver {
			d, err := exec.New(templateConfig(dev))
			if err != nil {
				t.Fatal(err)
			}
			return d
		},
		CommonName: "dev1.example.com",
		SANs:       []string{"dev1.example.com", "dev1-alt.example.com"},
		KeyTypes:   []string{"p256", "p384", "rsa2048"},
		Break: func(t *testing.T) {
			dev.Close()
			// The device's storage fails too: its directory is gone.
			os.RemoveAll(dev.Dir)
			os.WriteFile(dev.Dir, []byte("not a directory"), 0o600)
		},
	})
}

func TestCurrentScriptAndRollback(t *testing.T) {
	dev := startDevice(t)
	c := templateConfig(dev)
	c.Current = []string{filepath.Join(template, "current.sh")}
	d, err := exec.New(c)
	if err != nil {
		t.Fatal(err)
	}
	ca := testpki.NewCA("test")
	ctx := t.Context()
	install := func() installed {
		csr, err := d.CSR(ctx, ottr.CSRRequest{CommonName: "dev1.example.com", DNSNames: asset().SubjectAlternativeName})
		if err != nil {
			t.Fatal(err)
		}
		chain := ca.Sign(csr, time.Hour)
		if err := d.Install(ctx, chain); err != nil {
			t.Fatal(err)
		}
		return installed{chain[0].SerialNumber.String(), chain}
	}
	first := install()
	second := install()
	cur, err := d.Current(ctx)
	if err != nil || cur[0].SerialNumber.String() != second.serial {
		t.Fatalf("current = %v, %v", cur, err)
	}
	if err := d.Restore(ctx, first.chain); err != nil {
		t.Fatal(err)
	}
	chain, err := served.Chain(ctx, dev.Addr, "dev1.example.com")
	if err != nil || chain[0].SerialNumber.String() != first.serial {
		t.Fatalf("after rollback the device serves %v, %v", chain, err)
	}
}

type installed struct {
	serial string
	chain  []*x509.Certificate
}

func TestScriptFailures(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755)
		return p
	}
	var mu sync.Mutex
	var log []string
	ctx := ottr.WithStepLog(t.Context(), func(l string) { mu.Lock(); log = append(log, l); mu.Unlock() })
	cred := ottr.Credential{"password": "hunter2-very-secret"}
	newDriver := func(csr string) *exec.Driver {
		d, err := exec.New(exec.Config{CSR: []string{csr}, Install: []string{csr}, Address: "127.0.0.1:1",
			Asset: asset(), Credential: cred, Timeout: 500 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	cases := []struct {
		name, body string
		code       string
		want       string
	}{
		{"fails.sh", "echo connecting >&2\necho \"login failed for password $OTTR_CRED_PASSWORD\" >&2\nexit 1\n", ottr.EUNAVAILABLE, "status 1: connecting | login failed for password [REDACTED]"},
		{"config.sh", "echo 'bad platform settings' >&2\nexit 78\n", ottr.EINVALID, "status 78"},
		{"perm.sh", "exit 77\n", ottr.EUNAUTHORIZED, "status 77"},
		{"slow.sh", "sleep 30 &\nsleep 30\n", ottr.EUNAVAILABLE, "timed out after 500ms"},
		{"nocsr.sh", "echo hello\n", ottr.EINVALID, "no PEM certificate request"},
	}
	for _, tc := range cases {
		start := time.Now()
		_, err := newDriver(script(tc.name, tc.body)).CSR(ctx, ottr.CSRRequest{CommonName: "dev1.example.com"})
		if ottr.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %s containing %q", tc.name, err, tc.code, tc.want)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("%s took %v: the process group was not killed", tc.name, time.Since(start))
		}
	}
	mu.Lock()
	joined := strings.Join(log, "\n")
	mu.Unlock()
	if !strings.Contains(joined, "csr: connecting") {
		t.Errorf("script output not in the rotation log:\n%s", joined)
	}
	if strings.Contains(joined, "hunter2") {
		t.Error("credential value in the rotation log")
	}

	_, err := exec.New(exec.Config{CSR: []string{"csr.sh --flag with spaces"}, Asset: asset()})
	for _, w := range []string{"install: the install script is required", "address", "not a program"} {
		if !strings.Contains(ottr.ErrorMessage(err)+errText(err), w) {
			t.Errorf("config error %v lacks %q", err, w)
		}
	}
	if err := ctx.Err(); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := newDriver(script("ok.sh", "exit 0\n")).CSR(cancelled, ottr.CSRRequest{}); err == nil {
		t.Error("cancelled context: no error")
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// Scripts see a minimal environment: the server's secrets (the master key,
// cloud keys, anything else it was started with) stay out unless the
// configuration names them in pass_env.
func TestScriptEnvironment(t *testing.T) {
	t.Setenv("OTTR_MASTER_KEY", "master-key-never-in-scripts")
	t.Setenv("OTTR_DATABASE", "postgres://ottr:db-password@db/ottr")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "aws-secret-never-in-scripts")
	t.Setenv("GOOGLE_APPLICATION_CREDENTIALS", "/secret/gcp.json")
	t.Setenv("AZURE_CLIENT_SECRET", "azure-secret")
	t.Setenv("SOME_RANDOM_SERVER_VAR", "random-value")
	t.Setenv("APPLIANCE_PROXY", "http://proxy.example:3128")
	t.Setenv("HOME", "/home/ottr-test")
	dir := t.TempDir()
	out := filepath.Join(dir, "env.txt")
	script := filepath.Join(dir, "env.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nenv > \"$ENV_OUT\"\nexit 78\n"), 0o755)
	d, err := exec.New(exec.Config{CSR: []string{script}, Install: []string{script}, Address: "127.0.0.1:1",
		Env: map[string]string{"ENV_OUT": out}, PassEnv: []string{"APPLIANCE_PROXY", "UNSET_VARIABLE"},
		Asset: asset(), Credential: ottr.Credential{"password": "device-password"}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "dev1.example.com"}); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Fatalf("CSR: %v, want the script's exit 78", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		k, v, _ := strings.Cut(l, "=")
		got[k] = v
	}
	// What the shell itself adds.
	for _, k := range []string{"PWD", "SHLVL", "_", "OLDPWD"} {
		delete(got, k)
	}
	var names []string
	for k := range got {
		names = append(names, k)
	}
	sort.Strings(names)
	want := []string{"APPLIANCE_PROXY", "ENV_OUT", "HOME", "LANG", "LC_ALL", "OTTR_CERTIFICATE_AUTH", "OTTR_COMMON_NAME",
		"OTTR_CRED_PASSWORD", "OTTR_CSR_FILE", "OTTR_DEVICE_MODEL", "OTTR_HOST_PLATFORM", "OTTR_IP_ADDRESS", "OTTR_KEY_TYPE",
		"OTTR_OS_VERSION", "OTTR_PORT", "OTTR_SANS", "OTTR_SUBJECT", "OTTR_SYSTEM_NAME", "OTTR_VALIDATE_CERT", "OTTR_WORK_DIR", "PATH", "TMPDIR"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("script environment (-want +got):\n%s", diff)
	}
	for k, v := range map[string]string{"APPLIANCE_PROXY": "http://proxy.example:3128", "HOME": "/home/ottr-test",
		"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "OTTR_CRED_PASSWORD": "device-password", "PATH": os.Getenv("PATH")} {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	for _, secret := range []string{"master-key", "db-password", "aws-secret", "gcp.json", "azure-secret", "random-value"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the server's %q reached the script", secret)
		}
	}
}

// pass_env names variables of the server's environment; Ottr's own (the
// master key among them) and malformed names are refused.
func TestPassEnvRefusesOttrVariables(t *testing.T) {
	_, err := exec.New(exec.Config{CSR: []string{"/bin/true"}, Install: []string{"/bin/true"}, Address: "127.0.0.1:1", Asset: asset(),
		PassEnv: []string{"OTTR_MASTER_KEY", "A=B", ""}, Env: map[string]string{"X=Y": "z"}})
	want := []ottr.Problem{
		{Field: "env", Message: `"X=Y" is not a variable name`},
		{Field: "pass_env", Message: `"OTTR_MASTER_KEY": OTTR_ variables are Ottr's own and are never passed from the server`},
		{Field: "pass_env", Message: `"A=B" is not a variable name`},
		{Field: "pass_env", Message: `"" is not a variable name`},
	}
	if diff := cmp.Diff(want, ottr.ErrorProblems(err)); ottr.ErrorCode(err) != ottr.EINVALID || diff != "" {
		t.Errorf("New: %v; problems (-want +got):\n%s", err, diff)
	}
}

// A script that prints its credential — as is, base64-encoded, or a key
// line by line — has it masked in the log lines and the error, even
// where no rotation masks for it.
func TestScriptOutputMasksTheCredential(t *testing.T) {
	const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----"
	script := filepath.Join(t.TempDir(), "leak.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
echo "password $OTTR_CRED_PASSWORD" >&2
printf '%s' "$OTTR_CRED_PASSWORD" | base64 >&2
printf '%s\n' "$OTTR_CRED_PRIVATE_KEY" >&2
echo "stdout: $OTTR_CRED_PASSWORD"
exit 1
`), 0o755)
	var mu sync.Mutex
	var log []string
	ctx := ottr.WithStepLog(t.Context(), func(l string) { mu.Lock(); log = append(log, l); mu.Unlock() })
	d, err := exec.New(exec.Config{CSR: []string{script}, Install: []string{script}, Address: "127.0.0.1:1", Asset: asset(),
		Credential: ottr.Credential{"password": "hunter2-very-secret", "private_key": key}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.CSR(ctx, ottr.CSRRequest{CommonName: "dev1.example.com"})
	if err == nil {
		t.Fatal("the script failed but CSR did not")
	}
	mu.Lock()
	text := strings.Join(log, "\n") + "\n" + err.Error()
	mu.Unlock()
	if !strings.Contains(text, "csr: password [REDACTED]") {
		t.Errorf("script output missing:\n%s", text)
	}
	for _, leak := range []string{"hunter2", "aHVudGVyMi12ZXJ5LXNlY3JldA", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"} {
		if strings.Contains(text, leak) {
			t.Errorf("%q in the log or error:\n%s", leak, text)
		}
	}
}
