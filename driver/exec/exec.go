package exec

import (
	"bytes"
	"cmp"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	osexec "os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
)

// Config is one platform's scripts (per platform or per asset in the
// configuration file) plus what the driver knows about the device.
type Config struct {
	// CSR is the argv of the script that makes a fresh key and a CSR on the
	// device and writes the CSR (PEM) to $OTTR_CSR_FILE or stdout.
	CSR []string `yaml:"csr"`
	// Install is the argv of the script that installs $OTTR_CHAIN_FILE,
	// makes it the served certificate and commits.
	Install []string `yaml:"install"`
	// Current, optional, prints the chain the device serves (PEM) on
	// stdout. Without it the driver reads the chain from a TLS handshake
	// with Address.
	Current []string `yaml:"current"`
	// Rollback, optional, reinstalls the previous chain given in
	// $OTTR_CHAIN_FILE.
	Rollback []string `yaml:"rollback"`
	// Dir is the scripts' working directory; default the process's.
	Dir string `yaml:"dir"`
	// Env sets variables, with literal values, in the scripts'
	// environment.
	Env map[string]string `yaml:"env"`
	// PassEnv names variables of the server's own environment to pass to
	// the scripts (e.g. HTTPS_PROXY); nothing else of it is passed, so the
	// master key and cloud keys stay out unless named here. OTTR_ names
	// are refused. A name the server does not have is left unset.
	PassEnv []string `yaml:"pass_env"`
	// Timeout bounds each script run; default 2m.
	Timeout time.Duration `yaml:"timeout"`
	// Address (host:port) is where the device serves TLS, for Current
	// without a script; ServerName is the SNI sent (default the asset's
	// common name).
	Address    string `yaml:"address"`
	ServerName string `yaml:"server_name"`

	// Asset is the device being rotated; Credential its login (exposed to
	// the scripts as OTTR_CRED_<KEY>).
	Asset      *ottr.Asset     `yaml:"-"`
	Credential ottr.Credential `yaml:"-"`
}

// Driver runs a platform's scripts for one device.
type Driver struct {
	c Config
	// mask hides the credential in what the scripts print, also where no
	// rotation masks for the driver (ottr rotate on the command line).
	mask *ottr.Masker
}

var (
	_ ottr.Driver   = (*Driver)(nil)
	_ ottr.CSRMaker = (*Driver)(nil)
	_ ottr.Restorer = (*Driver)(nil)
)

// New checks c and returns a driver.
func New(c Config) (*Driver, error) {
	probs := c.Check()
	bad := func(f, m string) { probs = append(probs, ottr.Problem{Field: f, Message: m}) }
	if len(c.Current) == 0 && c.Address == "" {
		bad("address", "needed to read the served certificate when there is no current script")
	}
	if c.Asset == nil {
		bad("asset", "missing")
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("exec driver is misconfigured", probs...)
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	mask := ottr.NewMasker()
	mask.AddCredential(c.Credential)
	return &Driver{c: c, mask: mask}, nil
}

// Check reports the problems of the settings alone (no asset or
// credential needed), so a configuration can be checked when it is loaded;
// New checks them again with the rest.
func (c Config) Check() []ottr.Problem {
	var probs []ottr.Problem
	bad := func(f, m string) { probs = append(probs, ottr.Problem{Field: f, Message: m}) }
	if len(c.CSR) == 0 {
		bad("csr", "the CSR script is required (argv list)")
	}
	if len(c.Install) == 0 {
		bad("install", "the install script is required (argv list)")
	}
	if c.Address != "" {
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			bad("address", fmt.Sprintf("%q is not host:port", c.Address))
		}
	}
	for _, s := range []struct {
		f    string
		argv []string
	}{{"csr", c.CSR}, {"install", c.Install}, {"current", c.Current}, {"rollback", c.Rollback}} {
		if len(s.argv) > 0 && strings.ContainsAny(s.argv[0], " \t") && !fileExists(s.argv[0], c.Dir) {
			bad(s.f, fmt.Sprintf("%q is not a program: give argv as a list, not a shell command line", s.argv[0]))
		}
	}
	return append(probs, checkEnv(c)...)
}

func fileExists(p, dir string) bool {
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	_, err := os.Stat(p)
	return err == nil
}

// String names the driver in logs.
func (d *Driver) String() string { return "exec" }

// scriptError is a script that failed: its exit status and the last lines
// of its output.
type scriptError struct {
	Script   string
	ExitCode int
	Tail     string
}

func (e *scriptError) Error() string {
	msg := fmt.Sprintf("%s script exited with status %d", e.Script, e.ExitCode)
	if e.Tail != "" {
		msg += ": " + e.Tail
	}
	return msg
}

// code maps an exit status to an error code. The sysexits.h codes say the
// problem is permanent: 64 usage, 65 data, 78 configuration → invalid;
// 77 permission → unauthorized. Anything else is worth retrying.
func code(status int) string {
	switch status {
	case 64, 65, 78:
		return ottr.EINVALID
	case 77:
		return ottr.EUNAUTHORIZED
	}
	return ottr.EUNAVAILABLE
}

// defaultPath is the scripts' PATH when the server has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// env is a script's whole environment. It starts from nothing rather than
// the server's environment, which holds the master key, the database DSN
// and cloud keys: PATH, HOME and TMPDIR (the server's, so tools are found
// where the operator installed them), a fixed locale, the variables named
// in PassEnv, then the asset, Env, the step's variables and the
// credential.
func (d *Driver) env(extra map[string]string) []string {
	a := d.c.Asset
	vars := map[string]string{
		"PATH":   cmp.Or(os.Getenv("PATH"), defaultPath),
		"TMPDIR": os.TempDir(),
		"LANG":   "C.UTF-8",
		"LC_ALL": "C.UTF-8",
	}
	if home, err := os.UserHomeDir(); err == nil {
		vars["HOME"] = home
	}
	for _, k := range d.c.PassEnv {
		if v, ok := os.LookupEnv(k); ok {
			vars[k] = v
		}
	}
	for k, v := range map[string]string{
		"OTTR_SYSTEM_NAME":      a.SystemName,
		"OTTR_COMMON_NAME":      a.CommonName,
		"OTTR_SANS":             strings.Join(a.SubjectAlternativeName, ","),
		"OTTR_IP_ADDRESS":       a.IPAddress,
		"OTTR_HOST_PLATFORM":    a.HostPlatform,
		"OTTR_OS_VERSION":       a.OSVersion,
		"OTTR_DEVICE_MODEL":     a.DeviceModel,
		"OTTR_CERTIFICATE_AUTH": a.CertificateAuthority,
		"OTTR_VALIDATE_CERT":    fmt.Sprint(a.CertificateValidation),
		"OTTR_PORT":             strconv.Itoa(a.Port),
	} {
		vars[k] = v
	}
	for k, v := range d.c.Env {
		vars[k] = v
	}
	for k, v := range extra {
		vars[k] = v
	}
	for k, v := range d.c.Credential {
		vars["OTTR_CRED_"+strings.ToUpper(k)] = v.Reveal()
	}
	keys := make([]string, 0, len(vars))
	for k := range vars {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	env := make([]string, 0, len(keys))
	for _, k := range keys {
		env = append(env, k+"="+vars[k])
	}
	return env
}

// envName is what a variable name may be.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// checkEnv reports Env and PassEnv names that are not variable names, and
// PassEnv names in Ottr's own namespace (OTTR_MASTER_KEY, OTTR_DATABASE).
func checkEnv(c Config) []ottr.Problem {
	var probs []ottr.Problem
	keys := make([]string, 0, len(c.Env))
	for k := range c.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !envName.MatchString(k) {
			probs = append(probs, ottr.Problem{Field: "env", Message: fmt.Sprintf("%q is not a variable name", k)})
		}
	}
	for _, k := range c.PassEnv {
		switch {
		case !envName.MatchString(k):
			probs = append(probs, ottr.Problem{Field: "pass_env", Message: fmt.Sprintf("%q is not a variable name", k)})
		case strings.HasPrefix(strings.ToUpper(k), "OTTR_"):
			probs = append(probs, ottr.Problem{Field: "pass_env", Message: fmt.Sprintf("%q: OTTR_ variables are Ottr's own and are never passed from the server", k)})
		}
	}
	return probs
}

// run runs one script, logging its output lines into the rotation log
// (with credential values masked) and returning its stdout.
func (d *Driver) run(ctx context.Context, name string, argv []string, extra map[string]string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d.c.Timeout)
	defer cancel()
	cmd := osexec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = d.c.Dir
	cmd.Env = d.env(extra)
	// The script and everything it starts die together on timeout or
	// cancellation: TERM first, so a script's exit trap can put the device
	// back and remove its temp files, then KILL for what is left.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM) }
	cmd.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	if ctx.Err() != nil && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	out := d.mask.Mask(stderr.String())
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line != "" {
			ottr.Logf(ctx, "%s: %s", name, line)
		}
	}
	ottr.Logf(ctx, "%s script finished in %s", name, time.Since(start).Round(time.Millisecond))
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "%s script timed out after %s", name, d.c.Timeout)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var ee *osexec.ExitError
	if errors.As(err, &ee) {
		tail := lastLines(d.mask.Mask(stderr.String()+stdout.String()), 5)
		se := &scriptError{Script: name, ExitCode: ee.ExitCode(), Tail: tail}
		return nil, &ottr.Error{Code: code(ee.ExitCode()), Message: se.Error()}
	}
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "%s script %s: %w", name, argv[0], err)
	}
	return stdout.Bytes(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// CSR runs the CSR script and returns the request it made.
func (d *Driver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	dir, err := os.MkdirTemp("", "ottr-exec-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	csrFile := filepath.Join(dir, "request.csr")
	keyType := req.KeyType
	if keyType == "" {
		keyType = "p256"
	}
	env := map[string]string{
		"OTTR_CSR_FILE":    csrFile,
		"OTTR_COMMON_NAME": req.CommonName,
		"OTTR_SANS":        strings.Join(req.DNSNames, ","),
		"OTTR_KEY_TYPE":    keyType,
		"OTTR_WORK_DIR":    dir,
	}
	// The subject fields asked for, each only when set; OTTR_SUBJECT is
	// the whole subject as openssl req -subj takes it.
	s := req.Subject
	for k, v := range map[string]string{"OTTR_SUBJECT_C": s.Country, "OTTR_SUBJECT_ST": s.State, "OTTR_SUBJECT_L": s.Locality,
		"OTTR_SUBJECT_O": s.Organization, "OTTR_SUBJECT_OU": s.OrganizationalUnit, "OTTR_SUBJECT_EMAIL": s.Email} {
		if v != "" {
			env[k] = v
		}
	}
	env["OTTR_SUBJECT"] = opensslSubject(req.CommonName, s)
	out, err := d.run(ctx, "csr", d.c.CSR, env)
	if err != nil {
		return nil, err
	}
	if b, err := os.ReadFile(csrFile); err == nil && len(b) > 0 {
		out = b
	}
	blk, _ := pem.Decode(out)
	if blk == nil || !strings.Contains(blk.Type, "CERTIFICATE REQUEST") {
		return nil, ottr.Errorf(ottr.EINVALID, "csr script wrote no PEM certificate request to $OTTR_CSR_FILE or stdout")
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "csr script: %w", err)
	}
	ottr.Logf(ctx, "device made a %s key and a CSR for %s", keyType, strings.Join(ottr.CSRNames(csr), ", "))
	return csr, nil
}

// Install runs the install script with the chain in files.
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	return d.withChain(ctx, "install", d.c.Install, chain)
}

// Restore runs the rollback script with the previous chain (as the
// rotation row keeps it, so a driver opened in another process restores
// as well). Without a rollback script the previous certificate cannot be
// put back, which is an error.
func (d *Driver) Restore(ctx context.Context, previous []*x509.Certificate) error {
	if len(d.c.Rollback) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no rollback script configured: the previous certificate cannot be put back")
	}
	return d.withChain(ctx, "rollback", d.c.Rollback, previous)
}

func (d *Driver) withChain(ctx context.Context, name string, argv []string, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "%s: empty chain", name)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "ottr-exec-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := map[string][]*x509.Certificate{"chain.pem": chain, "cert.pem": chain[:1], "ca.pem": chain[1:]}
	for f, certs := range files {
		if err := os.WriteFile(filepath.Join(dir, f), ottr.EncodeChain(certs), 0o644); err != nil {
			return err
		}
	}
	_, err = d.run(ctx, name, argv, map[string]string{
		"OTTR_CHAIN_FILE": filepath.Join(dir, "chain.pem"),
		"OTTR_CERT_FILE":  filepath.Join(dir, "cert.pem"),
		"OTTR_CA_FILE":    filepath.Join(dir, "ca.pem"),
		"OTTR_SERIAL":     fmt.Sprintf("%x", chain[0].SerialNumber),
		"OTTR_WORK_DIR":   dir,
	})
	return err
}

// Current returns the chain the device serves: from the current script,
// or from a TLS handshake with Address.
func (d *Driver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	if len(d.c.Current) > 0 {
		out, err := d.run(ctx, "current", d.c.Current, nil)
		if err != nil {
			return nil, err
		}
		chain, err := ottr.ParseChain(out)
		if errors.Is(err, ottr.ErrNoCertificate) {
			return nil, ottr.Errorf(ottr.EUNAVAILABLE, "current script printed no certificate")
		}
		if err != nil {
			return nil, ottr.Errorf(ottr.EINVALID, "current script: %w", err)
		}
		return chain, nil
	}
	return served.Chain(ctx, d.c.Address, d.serverName())
}

func (d *Driver) serverName() string {
	if d.c.ServerName != "" {
		return d.c.ServerName
	}
	return d.c.Asset.CommonName
}

// opensslSubject is the subject as openssl req -subj reads it, with / and
// \ escaped in values.
func opensslSubject(cn string, s ottr.Subject) string {
	esc := strings.NewReplacer(`\`, `\\`, "/", `\/`)
	var b strings.Builder
	for _, f := range []struct{ k, v string }{{"C", s.Country}, {"ST", s.State}, {"L", s.Locality}, {"O", s.Organization},
		{"OU", s.OrganizationalUnit}, {"CN", cn}, {"emailAddress", s.Email}} {
		if f.v != "" {
			b.WriteString("/" + f.k + "=" + esc.Replace(f.v))
		}
	}
	return b.String()
}
