package junos

import (
	"bufio"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
	"github.com/ottr-dev/ottr/driver/sshhost"
	"github.com/ottr-dev/ottr/internal/netconf"
	"golang.org/x/crypto/ssh"
)

// Config is how to reach one Junos device.
type Config struct {
	// Address is the NETCONF-over-SSH port, host:port; default the
	// asset's ip_address (or system_name) on 830.
	Address string `yaml:"address"`
	// KnownHosts and TrustOnFirstUse check the SSH host key, as for the
	// linux driver.
	KnownHosts      string `yaml:"known_hosts"`
	TrustOnFirstUse bool   `yaml:"trust_on_first_use"`
	// Serve is J-Web's HTTPS address, where the new certificate is
	// checked; default the same host on 443.
	Serve string `yaml:"serve"`
	// Timeout bounds one RPC (a commit can take minutes); default 5m.
	Timeout time.Duration `yaml:"timeout"`
	// KeyOffDevice makes the key and a CSR with every name in Ottr, for
	// certificates with more names than the one domain-name a Junos
	// request carries. The key is kept in memory only, put on the device
	// over NETCONF (SSH) with the certificate and deleted from /var/tmp
	// once loaded. Without it such assets are refused.
	KeyOffDevice bool `yaml:"key_off_device"`

	Asset *ottr.Asset `yaml:"-"`
	// Trust decides on a host key known_hosts does not hold (pinned per
	// device); nil: TrustOnFirstUse appends it to KnownHosts.
	Trust ottr.TrustCheck `yaml:"-"`
	// Credential holds username and password (password and
	// keyboard-interactive logins are offered) or private_key.
	Credential ottr.Credential `yaml:"-"`
}

// prefix marks the certificate ids this driver made.
const prefix = "ottr-"

// Driver rotates J-Web's HTTPS certificate on a Junos device over NETCONF.
type Driver struct {
	c    Config
	auth []ssh.AuthMethod
	user string

	mu sync.Mutex
	// offKey is a key made here (key_off_device) and the id it goes
	// under; keyMu guards them (mu is held for a whole session).
	keyMu  sync.Mutex
	offKey crypto.Signer
	offID  string
}

var (
	_ ottr.Driver   = (*Driver)(nil)
	_ ottr.CSRMaker = (*Driver)(nil)
	_ ottr.Restorer = (*Driver)(nil)
)

// New checks c and returns a driver; it does not connect yet.
func New(c Config) (*Driver, error) {
	if c.Asset == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "junos driver: no asset")
	}
	probs := c.Check()
	bad := func(f, m string) { probs = append(probs, ottr.Problem{Field: f, Message: m}) }
	host := c.Asset.Host()
	if c.Address == "" {
		c.Address = net.JoinHostPort(host, "830")
	}
	if h, _, err := net.SplitHostPort(c.Address); err == nil { // else one of Check's problems
		host = h
	}
	if c.Serve == "" {
		c.Serve = net.JoinHostPort(host, "443")
	}
	d := &Driver{user: c.Credential.Get("username").Reveal()}
	if d.user == "" {
		bad("credential", "needs a username")
	}
	if pk := c.Credential.Get("private_key"); !pk.IsZero() {
		signer, err := ssh.ParsePrivateKey([]byte(pk.Reveal()))
		if err != nil {
			bad("credential.private_key", "is not a usable SSH private key")
		} else {
			d.auth = append(d.auth, ssh.PublicKeys(signer))
		}
	}
	if pw := c.Credential.Get("password"); !pw.IsZero() {
		secret := pw.Reveal()
		d.auth = append(d.auth, ssh.Password(secret), ssh.KeyboardInteractive(func(_, _ string, qs []string, _ []bool) ([]string, error) {
			ans := make([]string, len(qs))
			for i := range qs {
				ans[i] = secret
			}
			return ans, nil
		}))
	}
	if len(d.auth) == 0 {
		bad("credential", "needs password or private_key")
	}
	if c.Timeout <= 0 {
		c.Timeout = 5 * time.Minute
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("junos driver for "+c.Asset.SystemName, probs...)
	}
	if !bool(c.Asset.CertificateValidation) {
		c.TrustOnFirstUse = true // the asset's opt-out covers a host key seen for the first time
	}
	d.c = c
	return d, nil
}

// Check reports the problems of the settings alone (no asset or
// credential needed), so a configuration can be checked when it is loaded;
// New checks them again with the rest.
func (c Config) Check() []ottr.Problem {
	var probs []ottr.Problem
	for _, a := range []struct{ field, addr string }{{"address", c.Address}, {"serve", c.Serve}} {
		if a.addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			probs = append(probs, ottr.Problem{Field: a.field, Message: fmt.Sprintf("%q is not host:port", a.addr)})
		}
	}
	if c.KnownHosts == "" {
		probs = append(probs, ottr.Problem{Field: "known_hosts", Message: "is required: host keys are always checked (trust_on_first_use records new ones)"})
	}
	return probs
}

// session is one NETCONF session.
type session struct {
	d      *Driver
	client *ssh.Client
	ch     io.WriteCloser
	r      *bufio.Reader
	n      int
	stop   func() bool
}

const clientHello = `<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities><capability>urn:ietf:params:netconf:base:1.0</capability></capabilities></hello>`

// open starts a NETCONF session; a cancelled ctx closes it.
func (d *Driver) open(ctx context.Context) (*session, error) {
	cl, err := sshhost.Dial(ctx, d.c.Address, &ssh.ClientConfig{User: d.user, Auth: d.auth,
		HostKeyCallback: sshhost.PinnedHostKeyCallback(d.c.KnownHosts, d.c.TrustOnFirstUse, d.c.Trust)})
	if err != nil {
		return nil, err
	}
	s := &session{d: d, client: cl}
	s.stop = context.AfterFunc(ctx, func() { cl.Close() })
	fail := func(err error) (*session, error) {
		s.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "netconf %s: %w", d.c.Address, err)
	}
	ss, err := cl.NewSession()
	if err != nil {
		return fail(err)
	}
	w, err := ss.StdinPipe()
	if err != nil {
		return fail(err)
	}
	out, err := ss.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	if err := ss.RequestSubsystem("netconf"); err != nil {
		return fail(fmt.Errorf("the device offers no netconf subsystem (set system services netconf ssh): %w", err))
	}
	s.ch, s.r = w, bufio.NewReader(out)
	hello, err := netconf.Read(s.r)
	if err != nil {
		return fail(err)
	}
	if !strings.Contains(string(hello), "urn:ietf:params:netconf:base:1.0") {
		return fail(fmt.Errorf("the device's hello does not offer NETCONF base 1.0"))
	}
	if err := netconf.Write(s.ch, []byte(clientHello)); err != nil {
		return fail(err)
	}
	return s, nil
}

func (s *session) close() {
	if s.ch != nil {
		_ = netconf.Write(s.ch, []byte(`<rpc message-id="close"><close-session/></rpc>`))
	}
	s.stop()
	s.client.Close()
}

// reply is an rpc-reply.
type reply struct {
	Errors []struct {
		Severity string `xml:"error-severity"`
		Message  string `xml:"error-message"`
	} `xml:"rpc-error"`
	Output string `xml:"output"`
	// ConfigOutput is where Junos answers show configuration: in
	// <configuration-information>, not <output>.
	ConfigOutput string `xml:"configuration-information>configuration-output"`
	Load         struct {
		Errors []struct {
			Severity string `xml:"error-severity"`
			Message  string `xml:"error-message"`
		} `xml:"rpc-error"`
	} `xml:"load-configuration-results"`
	Inner string `xml:",innerxml"`
}

// call sends one rpc and returns its reply; an rpc-error of severity error
// is an error carrying the device's messages.
func (s *session) call(what, body string) (*reply, error) {
	s.n++
	if err := netconf.Write(s.ch, []byte(fmt.Sprintf(`<rpc message-id="%d">%s</rpc>`, s.n, body))); err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "netconf %s: %s: %w", s.d.c.Address, what, err)
	}
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() { b, err := netconf.Read(s.r); done <- result{b, err} }()
	var res result
	select {
	case res = <-done:
	case <-time.After(s.d.c.Timeout):
		s.client.Close()
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "netconf %s: %s: no answer in %s", s.d.c.Address, what, s.d.c.Timeout)
	}
	if res.err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "netconf %s: %s: %w", s.d.c.Address, what, res.err)
	}
	var r reply
	if err := xml.Unmarshal(res.b, &r); err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "netconf %s: %s: the answer is not an rpc-reply", s.d.c.Address, what)
	}
	var msgs []string
	for _, e := range r.Errors {
		if e.Severity == "error" {
			msgs = append(msgs, strings.TrimSpace(e.Message))
		}
	}
	// A load also reports warnings (a deleted statement that was not
	// there: "statement not found"); Junos loaded the rest.
	for _, e := range r.Load.Errors {
		if e.Severity == "error" {
			msgs = append(msgs, strings.TrimSpace(e.Message))
		}
	}
	if len(msgs) > 0 {
		return &r, ottr.Errorf(ottr.EUNAVAILABLE, "Junos %s: %s: %s", s.d.c.Address, what, strings.Join(msgs, "; "))
	}
	return &r, nil
}

// command runs an operational command. Junos reports a failed command
// as an rpc-error, which is the error returned; CLI text starting with
// "error:" is taken as one too.
func (s *session) command(cmd string) (string, error) {
	r, err := s.call(cmd, `<command format="text">`+esc(cmd)+`</command>`)
	if err != nil {
		return "", err
	}
	out := strings.TrimSpace(r.Output)
	if strings.HasPrefix(cmd, "show configuration") {
		out = strings.TrimSpace(r.ConfigOutput)
	}
	if strings.HasPrefix(out, "error:") {
		return out, ottr.Errorf(ottr.EUNAVAILABLE, "Junos %s: %s: %s", s.d.c.Address, cmd, out)
	}
	return out, nil
}

// configure applies set/delete lines under a lock and commits.
func (s *session) configure(lines ...string) error {
	if _, err := s.call("lock", `<lock><target><candidate/></target></lock>`); err != nil {
		return err
	}
	defer s.call("unlock", `<unlock><target><candidate/></target></unlock>`) //nolint:errcheck // the lock also ends with the session
	if _, err := s.call("load configuration", `<load-configuration action="set" format="text"><configuration-set>`+esc(strings.Join(lines, "\n"))+`</configuration-set></load-configuration>`); err != nil {
		return err
	}
	_, err := s.call("commit", `<commit-configuration><log>ottr certificate rotation</log></commit-configuration>`)
	return err
}

func (s *session) putFile(name string, data []byte) error {
	_, err := s.call("file-put "+name, `<file-put><filename>`+esc(name)+`</filename><permission>0600</permission><encoding>base64</encoding><delete-if-exist/><file-contents>`+
		base64.StdEncoding.EncodeToString(data)+`</file-contents></file-put>`)
	return err
}

func esc(v string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(v))
	return b.String()
}

// with runs fn in one NETCONF session.
func (d *Driver) with(ctx context.Context, fn func(*session) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, err := d.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	err = fn(s)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

var quoteSafe = regexp.MustCompile(`^[A-Za-z0-9.-]+$`)

var (
	certID    = regexp.MustCompile(`(?m)^Certificate identifier: (\S+)$`)
	serialRow = regexp.MustCompile(`(?m)^\s*Serial number: (\S+)$`)
	webLine   = regexp.MustCompile(`(?m)^set system services web-management https pki-local-certificate (\S+)$`)
)

// Current returns the chain J-Web presents.
func (d *Driver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	return served.Chain(ctx, d.c.Serve, d.c.Asset.CommonName)
}
