package linux

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/hostscript"
	"github.com/ottr-dev/ottr/driver/served"
	"github.com/ottr-dev/ottr/driver/sshhost"
	"golang.org/x/crypto/ssh"
)

// Config is how to reach one Linux host and where its certificate lives.
type Config struct {
	// Address is the SSH server, host:port; default the asset's
	// ip_address (or system_name) on port 22.
	Address string `yaml:"address"`
	// User logs in; default the credential's username.
	User string `yaml:"user"`
	// KnownHosts is the known_hosts file the host key is checked against.
	KnownHosts string `yaml:"known_hosts"`
	// TrustOnFirstUse accepts, and records in KnownHosts, the key of a
	// host that has no entry yet — the host-key counterpart of an asset's
	// certificate_validation "False". A changed key is always refused.
	TrustOnFirstUse bool `yaml:"trust_on_first_use"`
	// CertPath and KeyPath are where the chain (leaf first) and the key
	// live on the host; defaults /etc/ssl/ottr/<common name>.{crt,key}.
	CertPath string `yaml:"cert_path"`
	KeyPath  string `yaml:"key_path"`
	// Owner and Group of both files (chown), and CertMode of the chain
	// (default 0644; the key is always 0600).
	Owner    string `yaml:"owner"`
	Group    string `yaml:"group"`
	CertMode string `yaml:"cert_mode"`
	// Reload is the argv run after installing (e.g. [systemctl, reload,
	// nginx]); empty runs nothing.
	Reload []string `yaml:"reload"`
	// PreHook and PostHook are programs on the host run before and after
	// the install when they exist (Ottr's /opt/otter/hooks/{pre,post}).
	PreHook  string `yaml:"pre_hook"`
	PostHook string `yaml:"post_hook"`
	// Serve is where the host serves TLS with the certificate, for reading
	// it back; default the SSH host on port 443. ServerName is the SNI.
	Serve      string `yaml:"serve"`
	ServerName string `yaml:"server_name"`
	// Timeout bounds each remote command; default 2m.
	Timeout time.Duration `yaml:"timeout"`

	// Asset is the device; Credential its login: username, and password
	// or private_key (with passphrase if the key is encrypted).
	Asset      *ottr.Asset     `yaml:"-"`
	Credential ottr.Credential `yaml:"-"`
	// Trust decides on a host key known_hosts does not hold (pinned per
	// device); nil: TrustOnFirstUse appends it to KnownHosts.
	Trust ottr.TrustCheck `yaml:"-"`
}

// Driver rotates a certificate on a Linux host over SSH: openssl on the
// host makes the key (it never leaves the host) and CSR, the chain is
// installed with temp file + rename, and the service is reloaded.
type Driver struct {
	c    Config
	auth []ssh.AuthMethod
	hk   ssh.HostKeyCallback

	files hostscript.Files

	mu     sync.Mutex
	client *ssh.Client
}

var (
	_ ottr.Driver   = (*Driver)(nil)
	_ ottr.CSRMaker = (*Driver)(nil)
	_ ottr.Restorer = (*Driver)(nil)
)

// New checks c and returns a driver; it does not connect yet.
func New(c Config) (*Driver, error) {
	if c.Asset == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "linux driver: no asset")
	}
	probs := c.Check()
	bad := func(f, m string) { probs = append(probs, ottr.Problem{Field: f, Message: m}) }
	if c.Address == "" {
		c.Address = net.JoinHostPort(c.Asset.Host(), "22")
	}
	host, _, _ := net.SplitHostPort(c.Address) // a bad address is one of Check's problems
	if c.User == "" {
		c.User = c.Credential.Get("username").Reveal()
	}
	if c.User == "" {
		bad("user", "no user: set it, or username in the credential")
	}
	d := &Driver{c: c}
	if pw := c.Credential.Get("password"); !pw.IsZero() {
		d.auth = append(d.auth, ssh.Password(pw.Reveal()))
	}
	if pk := c.Credential.Get("private_key"); !pk.IsZero() {
		var signer ssh.Signer
		var err error
		if pp := c.Credential.Get("passphrase"); !pp.IsZero() {
			signer, err = ssh.ParsePrivateKeyWithPassphrase([]byte(pk.Reveal()), []byte(pp.Reveal()))
		} else {
			signer, err = ssh.ParsePrivateKey([]byte(pk.Reveal()))
		}
		if err != nil {
			bad("credential.private_key", "is not a usable SSH private key") // never the key or its parse error text
		} else {
			d.auth = append([]ssh.AuthMethod{ssh.PublicKeys(signer)}, d.auth...)
		}
	}
	if len(d.auth) == 0 {
		bad("credential", "needs password or private_key")
	}
	cn := c.Asset.CommonName
	d.files = c.files()
	_ = d.files.Check(cn) // fills in the defaults; its problems are Check's
	c.CertPath, c.KeyPath, c.CertMode = d.files.CertPath, d.files.KeyPath, d.files.CertMode
	if c.Serve == "" {
		c.Serve = net.JoinHostPort(host, "443")
	}
	if c.ServerName == "" {
		c.ServerName = cn
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("linux driver is misconfigured", probs...)
	}
	d.c = c
	d.hk = d.hostKeyCallback()
	return d, nil
}

// Check reports the problems of the settings alone (no asset or
// credential needed), so a configuration can be checked when it is loaded;
// New checks them again with the rest.
func (c Config) Check() []ottr.Problem {
	var probs []ottr.Problem
	bad := func(f, m string) { probs = append(probs, ottr.Problem{Field: f, Message: m}) }
	if c.Address != "" {
		if _, _, err := net.SplitHostPort(c.Address); err != nil {
			bad("address", fmt.Sprintf("%q is not host:port", c.Address))
		}
	}
	if c.KnownHosts == "" {
		bad("known_hosts", "is required: host keys are always checked (trust_on_first_use records new ones)")
	}
	f := c.files()
	return append(probs, f.Check(commonName(c.Asset))...)
}

func (c Config) files() hostscript.Files {
	return hostscript.Files{CertPath: c.CertPath, KeyPath: c.KeyPath, CertMode: c.CertMode, Owner: c.Owner, Group: c.Group,
		Reload: c.Reload, PreHook: c.PreHook, PostHook: c.PostHook}
}

// commonName is the asset's, or a stand-in when settings are checked
// without one (the default file paths only need to be well formed).
func commonName(a *ottr.Asset) string {
	if a == nil {
		return "example.com"
	}
	return a.CommonName
}

func (d *Driver) hostKeyCallback() ssh.HostKeyCallback {
	return sshhost.PinnedHostKeyCallback(d.c.KnownHosts, d.c.TrustOnFirstUse, d.c.Trust)
}

func (d *Driver) connect(ctx context.Context) (*ssh.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client != nil {
		return d.client, nil
	}
	cl, err := sshhost.Dial(ctx, d.c.Address, &ssh.ClientConfig{User: d.c.User, Auth: d.auth, HostKeyCallback: d.hk})
	if err != nil {
		return nil, err
	}
	d.client = cl
	return cl, nil
}

// Close closes the SSH connection.
func (d *Driver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.client == nil {
		return nil
	}
	err := d.client.Close()
	d.client = nil
	return err
}

// run runs script with sh -c on the host, stdin from in, and returns its
// stdout. A non-zero exit is an error carrying the last lines of stderr.
func (d *Driver) run(ctx context.Context, what, script string, in []byte) ([]byte, error) {
	cl, err := d.connect(ctx)
	if err != nil {
		return nil, err
	}
	s, err := cl.NewSession()
	if err != nil {
		d.Close()
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "ssh session: %w", err)
	}
	defer s.Close()
	var stdout, stderr bytes.Buffer
	s.Stdout, s.Stderr = &stdout, &stderr
	if in != nil {
		s.Stdin = bytes.NewReader(in)
	}
	ctx, cancel := context.WithTimeout(ctx, d.c.Timeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Run("sh -c " + hostscript.Quote(script)) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		// TERM, not KILL: the scripts' exit traps put the pair in place
		// back and remove their temp files.
		s.Signal(ssh.SIGTERM)
		s.Close()
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, ottr.Errorf(ottr.EUNAVAILABLE, "%s on %s timed out after %s", what, d.c.Address, d.c.Timeout)
		}
		return nil, ctx.Err()
	}
	for _, l := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if l != "" {
			ottr.Logf(ctx, "%s: %s", what, l)
		}
	}
	var ee *ssh.ExitError
	if errors.As(err, &ee) {
		tail := strings.TrimSpace(stderr.String())
		if lines := strings.Split(tail, "\n"); len(lines) > 5 {
			tail = strings.Join(lines[len(lines)-5:], " | ")
		}
		code := ottr.EUNAVAILABLE
		if ee.ExitStatus() == 65 || ee.ExitStatus() == 78 {
			code = ottr.EINVALID
		}
		return nil, &ottr.Error{Code: code, Message: fmt.Sprintf("%s on %s exited with status %d: %s", what, d.c.Address, ee.ExitStatus(), tail)}
	}
	if err != nil {
		d.Close()
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "%s on %s: %w", what, d.c.Address, err)
	}
	return stdout.Bytes(), nil
}

// CSR has openssl on the host make a fresh key (mode 0600, next to where
// it will be used) and a CSR for the request.
func (d *Driver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	script, err := d.files.CSR(req)
	if err != nil {
		return nil, err
	}
	out, err := d.run(ctx, "csr", script, nil)
	if err != nil {
		return nil, err
	}
	csr, err := ottr.ParseCSR(out)
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "csr: openssl on %s printed no certificate request (%w)", d.c.Address, err)
	}
	return csr, nil
}

// Install uploads the chain, checks it arrived whole and matches the new
// key (or the key in place, when an earlier attempt placed it), keeps the
// pair in place for Restore, and replaces key and chain (temp files
// renamed back to back), sets owner and mode, runs the hooks and reloads.
// A failure at any point leaves the pair that was in place, on disk and in
// service, and no temp file (see hostscript.Files.Install).
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "install: empty chain")
	}
	if _, err := d.run(ctx, "install", d.files.Install("cat", chain), ottr.EncodeChain(chain)); err != nil {
		return err
	}
	return d.awaitServed(ctx, chain[0])
}

// awaitServed waits (briefly) until the service presents leaf: a reload
// finishes asynchronously, and verify must not see the old workers.
func (d *Driver) awaitServed(ctx context.Context, leaf *x509.Certificate) error {
	deadline := time.Now().Add(15 * time.Second)
	wait := 20 * time.Millisecond
	streak := 0
	for {
		cur, err := served.Chain(ctx, d.c.Serve, d.c.ServerName)
		if err == nil && len(cur) > 0 && cur[0].Equal(leaf) {
			// Old workers may still accept for a moment after a reload:
			// wait until several handshakes in a row see the new one.
			if streak++; streak == 3 {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		streak = 0
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			// Verify decides; say what was seen.
			ottr.Logf(ctx, "install: %s does not serve the new certificate yet", d.c.Serve)
			return nil
		}
		time.Sleep(wait)
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// Restore makes previous the served certificate again with the key kept
// for it on the host (<key>.prev, kept by Install; a repeated Restore finds
// it in place and only reloads), then waits until the service presents
// it. It needs nothing from the driver that installed: a driver opened in
// another process restores as well.
func (d *Driver) Restore(ctx context.Context, previous []*x509.Certificate) error {
	if len(previous) == 0 {
		return ottr.Errorf(ottr.EINVALID, "restore: no previous certificate")
	}
	if _, err := d.run(ctx, "restore", d.files.Restore("cat", previous), ottr.EncodeChain(previous)); err != nil {
		return err
	}
	return d.awaitServed(ctx, previous[0])
}

// Current returns the chain the host serves on Serve.
func (d *Driver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	return served.Chain(ctx, d.c.Serve, d.c.ServerName)
}
