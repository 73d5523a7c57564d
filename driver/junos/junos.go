package junos

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
	execdriver "github.com/ottr-dev/ottr/driver/exec"
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

	Asset *ottr.Asset `yaml:"-"`
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
	var probs []ottr.Problem
	bad := func(f, m string) { probs = append(probs, ottr.Problem{Field: f, Message: m}) }
	host := c.Asset.IPAddress
	if host == "" {
		host = c.Asset.SystemName
	}
	if c.Address == "" {
		c.Address = net.JoinHostPort(host, "830")
	}
	if h, _, err := net.SplitHostPort(c.Address); err != nil {
		bad("address", fmt.Sprintf("%q is not host:port", c.Address))
	} else {
		host = h
	}
	if c.Serve == "" {
		c.Serve = net.JoinHostPort(host, "443")
	}
	if c.KnownHosts == "" {
		bad("known_hosts", "is required: host keys are always checked (trust_on_first_use records new ones)")
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
		HostKeyCallback: sshhost.HostKeyCallback(d.c.KnownHosts, d.c.TrustOnFirstUse)})
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
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "netconf %s: %v", d.c.Address, err)
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
	Load   struct {
		Errors []struct {
			Message string `xml:"error-message"`
		} `xml:"rpc-error"`
	} `xml:"load-configuration-results"`
	Inner string `xml:",innerxml"`
}

// call sends one rpc and returns its reply; an rpc-error of severity error
// is an error carrying the device's messages.
func (s *session) call(what, body string) (*reply, error) {
	s.n++
	if err := netconf.Write(s.ch, []byte(fmt.Sprintf(`<rpc message-id="%d">%s</rpc>`, s.n, body))); err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "netconf %s: %s: %v", s.d.c.Address, what, err)
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
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "netconf %s: %s: %v", s.d.c.Address, what, res.err)
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
	for _, e := range r.Load.Errors {
		msgs = append(msgs, strings.TrimSpace(e.Message))
	}
	if len(msgs) > 0 {
		return &r, ottr.Errorf(ottr.EUNAVAILABLE, "Junos %s: %s: %s", s.d.c.Address, what, strings.Join(msgs, "; "))
	}
	return &r, nil
}

// command runs an operational command; CLI text starting with "error:"
// is an error.
func (s *session) command(cmd string) (string, error) {
	r, err := s.call(cmd, `<command format="text">`+esc(cmd)+`</command>`)
	if err != nil {
		return "", err
	}
	out := strings.TrimSpace(r.Output)
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

// CSR has the device make a key pair and a request. Junos puts one
// domain-name in a request, so an asset with more names is refused.
func (d *Driver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	var extra []string
	for _, n := range req.DNSNames {
		if n != req.CommonName {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "Junos %s can put one domain name in its request (%s), and this asset also needs %s: split the names across assets or drop them",
			d.c.Address, req.CommonName, strings.Join(extra, ", "))
	}
	if !quoteSafe.MatchString(req.CommonName) {
		return nil, ottr.Errorf(ottr.EINVALID, "common name %q cannot go into a Junos command", req.CommonName)
	}
	typ, size := "ecdsa", "256"
	switch req.KeyType {
	case "", "p256":
	case "p384":
		size = "384"
	case "rsa2048", "rsa3072", "rsa4096":
		typ, size = "rsa", strings.TrimPrefix(req.KeyType, "rsa")
	default:
		return nil, ottr.Errorf(ottr.EINVALID, "Junos cannot make a %q key", req.KeyType)
	}
	suffix := make([]byte, 2)
	_, _ = rand.Read(suffix)
	id := prefix + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(suffix)
	var csr *x509.CertificateRequest
	err := d.with(ctx, func(s *session) error {
		out, err := s.command(fmt.Sprintf("request security pki generate-key-pair certificate-id %s size %s type %s", id, size, typ))
		if err != nil {
			return err
		}
		ottr.Logf(ctx, "Junos: %s", firstLine(out))
		out, err = s.command(fmt.Sprintf(`request security pki generate-certificate-request certificate-id %s subject "CN=%s" domain-name %s digest sha-256`, id, req.CommonName, req.CommonName))
		if err != nil {
			return err
		}
		blk, _ := pem.Decode([]byte(out[max(0, strings.Index(out, "-----BEGIN")):]))
		if blk == nil || blk.Type != "CERTIFICATE REQUEST" {
			return ottr.Errorf(ottr.EUNAVAILABLE, "Junos %s: the request printed no PEM certificate request", d.c.Address)
		}
		csr, err = x509.ParseCertificateRequest(blk.Bytes)
		return err
	})
	return csr, err
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

var (
	certID    = regexp.MustCompile(`(?m)^Certificate identifier: (\S+)$`)
	serialRow = regexp.MustCompile(`(?m)^\s*Serial number: (\S+)$`)
	webLine   = regexp.MustCompile(`(?m)^set system services web-management https pki-local-certificate (\S+)$`)
)

// loaded maps certificate ids with a loaded certificate to their serials.
func (s *session) loaded() (map[string]string, error) {
	out, err := s.command("show security pki local-certificate detail")
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	blocks := certID.FindAllStringSubmatchIndex(out, -1)
	for i, b := range blocks {
		end := len(out)
		if i+1 < len(blocks) {
			end = blocks[i+1][0]
		}
		id := out[b[2]:b[3]]
		if m := serialRow.FindStringSubmatch(out[b[0]:end]); m != nil {
			ids[id] = strings.ToLower(strings.TrimLeft(m[1], "0"))
		}
	}
	return ids, nil
}

func (s *session) bound() (string, error) {
	out, err := s.command("show configuration system services web-management | display set")
	if err != nil {
		return "", err
	}
	if m := webLine.FindStringSubmatch(out); m != nil {
		return m[1], nil
	}
	return "", nil
}

func serialOf(c *x509.Certificate) string { return strings.TrimLeft(c.SerialNumber.Text(16), "0") }

// Install uploads the chain, loads the intermediates into a CA profile
// and the leaf onto the key pair the device made, points J-Web at it,
// commits, and waits until J-Web serves it; older ottr- certificates are
// cleared, except the one replaced.
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no certificate to install")
	}
	var id, previous string
	err := d.with(ctx, func(s *session) error {
		ids, err := s.loaded()
		if err != nil {
			return err
		}
		if previous, err = s.bound(); err != nil {
			return err
		}
		for i, serial := range ids {
			if serial == serialOf(chain[0]) {
				id = i // already loaded: a retried or resumed rotation
			}
		}
		if id == "" {
			if id, err = d.load(ctx, s, chain); err != nil {
				return err
			}
		}
		if previous != id {
			if err := s.configure("set system services web-management https pki-local-certificate " + id); err != nil {
				return err
			}
			ottr.Logf(ctx, "J-Web now uses %s (committed)", id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := d.waitServes(ctx, chain[0]); err != nil {
		return err
	}
	d.prune(ctx, id, previous)
	return nil
}

// load puts the files on the device and loads them: the intermediates
// into their own CA profile, the leaf onto the matching key pair.
func (d *Driver) load(ctx context.Context, s *session, chain []*x509.Certificate) (string, error) {
	ids, err := s.loaded()
	if err != nil {
		return "", err
	}
	out, err := s.command("show security pki key-pair")
	if err != nil {
		return "", err
	}
	// Candidates: key pairs this driver made whose certificate is not
	// loaded yet, newest first; the device refuses a certificate for
	// another key, so the right one is found even after a restart.
	var cands []string
	for _, m := range certID.FindAllStringSubmatch(out, -1) {
		if _, done := ids[m[1]]; strings.HasPrefix(m[1], prefix) && !done {
			cands = append(cands, m[1])
		}
	}
	slices.Sort(cands)
	slices.Reverse(cands)
	if len(cands) == 0 {
		return "", ottr.Errorf(ottr.EINVALID, "Junos %s: no key pair made by Ottr is waiting for a certificate; only a certificate for a request the device made can be installed", d.c.Address)
	}
	leafFile := "/var/tmp/ottr-leaf.pem"
	if err := s.putFile(leafFile, ottr.EncodeChain(chain[:1])); err != nil {
		return "", err
	}
	defer s.command("file delete " + leafFile) //nolint:errcheck // best effort; /var/tmp is cleaned at reboot
	for _, id := range cands {
		if len(chain) > 1 {
			profile := id + "-ca"
			caFile := "/var/tmp/" + profile + ".pem"
			if err := s.putFile(caFile, ottr.EncodeChain(chain[1:])); err != nil {
				return "", err
			}
			if err := s.configure(fmt.Sprintf("set security pki ca-profile %s ca-identity %s", profile, profile)); err != nil {
				return "", err
			}
			_, err := s.command(fmt.Sprintf("request security pki ca-certificate load ca-profile %s filename %s", profile, caFile))
			s.command("file delete " + caFile) //nolint:errcheck // best effort
			if err != nil {
				return "", err
			}
		}
		out, err := s.command(fmt.Sprintf("request security pki local-certificate load certificate-id %s filename %s", id, leafFile))
		if err != nil {
			if strings.Contains(out, "does not match") {
				continue
			}
			return "", err
		}
		ottr.Logf(ctx, "Junos: loaded the certificate onto key pair %s", id)
		return id, nil
	}
	return "", ottr.Errorf(ottr.EINVALID, "Junos %s: no key pair on the device matches this certificate", d.c.Address)
}

func (d *Driver) waitServes(ctx context.Context, leaf *x509.Certificate) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		cur, err := d.Current(ctx)
		if err == nil && len(cur) > 0 && cur[0].Equal(leaf) {
			ottr.Logf(ctx, "J-Web serves serial %x", leaf.SerialNumber)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return ottr.Errorf(ottr.EUNAVAILABLE, "Junos %s: committed, but J-Web (%s) does not serve the new certificate", d.c.Address, d.c.Serve)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// prune clears certificates and key pairs this driver made, except keep
// and previous, and their CA profiles. Failures are logged.
func (d *Driver) prune(ctx context.Context, keep, previous string) {
	err := d.with(ctx, func(s *session) error {
		ids, err := s.loaded()
		if err != nil {
			return err
		}
		var lines []string
		for id := range ids {
			if !strings.HasPrefix(id, prefix) || id == keep || id == previous {
				continue
			}
			if _, err := s.command("clear security pki local-certificate certificate-id " + id); err != nil {
				return err
			}
			if _, err := s.command("clear security pki key-pair certificate-id " + id); err != nil {
				return err
			}
			lines = append(lines, "delete security pki ca-profile "+id+"-ca ca-identity "+id+"-ca")
			ottr.Logf(ctx, "cleared old certificate %s", id)
		}
		if len(lines) > 0 {
			return s.configure(lines...)
		}
		return nil
	})
	if err != nil {
		ottr.Logf(ctx, "warn: clearing old certificates: %s", ottr.ErrorMessage(err))
	}
}

// Current returns the chain J-Web presents.
func (d *Driver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	return execdriver.Served(ctx, d.c.Serve, d.c.Asset.CommonName)
}

// Restore points J-Web back at the certificate holding previous and
// commits.
func (d *Driver) Restore(ctx context.Context, previous []*x509.Certificate) error {
	if len(previous) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no previous certificate to restore")
	}
	err := d.with(ctx, func(s *session) error {
		ids, err := s.loaded()
		if err != nil {
			return err
		}
		for id, serial := range ids {
			if serial == serialOf(previous[0]) {
				return s.configure("set system services web-management https pki-local-certificate " + id)
			}
		}
		return ottr.Errorf(ottr.ENOTFOUND, "Junos %s: the previous certificate (serial %x) is no longer loaded", d.c.Address, previous[0].SerialNumber)
	})
	if err != nil {
		return err
	}
	return d.waitServes(ctx, previous[0])
}
