// Package junos simulates a Juniper device (an SRX340) as a certificate
// rotation and Juniper's own clients (ncclient, PyEZ, Ansible's
// junipernetworks.junos) reach it: an SSH server (golang.org/x/crypto/ssh)
// with password and keyboard-interactive logins and the "netconf"
// subsystem, speaking NETCONF with base 1.0 framing, or 1.1 chunked
// framing when the client announces base:1.1.
//
// Requests are parsed as XML by local name, so namespace-qualified
// operations (ncclient's <nc:rpc><nc:get-config>) and unqualified ones
// (PyEZ's) are the same. The configuration is a tree shaped by a schema
// of the statements modelled (config.go): a shared candidate, the active
// configuration and rollbacks 1 to 49, loaded as XML, curly-brace text or
// set commands (load-configuration, edit-config), shown the same three
// ways (get-configuration, get-config, show configuration), compared
// against a rollback, validated, committed (or only checked) and rolled
// back; lock and unlock take the candidate exclusively. Operational
// commands arrive as <command> and answer Junos's CLI text in <output>, a
// configuration in <configuration-information>, and a failure as an
// rpc-error: request security pki generate-key-pair /
// generate-certificate-request (the subject DN's attributes kept; one
// domain-name, ip-address and email, as Junos allows),
// ca-certificate load, local-certificate load, clear security pki …,
// show security pki …, show version, file list / delete; files come with
// <file-put>. get-software-information, get-route-engine-information and
// get-chassis-inventory answer what facts gathering asks. Anything else is
// refused with an rpc-error naming it. J-Web's HTTPS port presents the
// committed pki-local-certificate with the CA certificates loaded for its
// issuers.
//
// Faults: refused logins, a failing commit, a slow commit, a
// configuration locked by another session, and a connection dropped while
// a file is put or right after a given command was carried out.
package junos

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
	"golang.org/x/crypto/ssh"
)

// Faults make the device misbehave; set them with Device.SetFaults.
type Faults struct {
	BadCredentials bool
	// CommitError makes commits fail with this message.
	CommitError string
	// CommitDelay makes commits take this long.
	CommitDelay time.Duration
	// DropFilePut closes the connection when a file is put.
	DropFilePut bool
	// DropAfter closes the connection after carrying out the first
	// command containing it (e.g. "local-certificate load"), before
	// answering, as a link lost at that moment.
	DropAfter string
	// LockedBy makes the configuration locked by another session (this
	// user name) for every lock request.
	LockedBy string
}

type localCert struct {
	key   crypto.Signer
	chain []*x509.Certificate // empty until loaded
}

// Device is a running simulated Junos device.
type Device struct {
	// Addr is the SSH/NETCONF port; WebAddr J-Web's HTTPS.
	Addr, WebAddr string
	// HostKey is the SSH host key, for known_hosts.
	HostKey ssh.PublicKey
	// Hostname is the system host-name the device starts with.
	Hostname string

	mu    sync.Mutex
	users map[string]string
	keys  map[string]*localCert // certificate-id
	cas   map[string][]*x509.Certificate
	files map[string][]byte
	// candidate is the shared candidate configuration; history[0] the
	// active (committed) one and history[n] rollback n.
	candidate *node
	history   []commit
	// lockedBy is the session holding the configuration lock, 0 none.
	lockedBy   int
	lockedUser string
	// confirmTimer rolls back an unconfirmed commit; confirmGen tells a
	// timer that fired late that it was confirmed meanwhile.
	confirmTimer *time.Timer
	confirmGen   int
	// minute is how long the device's minute lasts (commit confirmed).
	minute   time.Duration
	sessions int
	faults   Faults
	factory  tls.Certificate
	sshLn    net.Listener
	webLn    net.Listener
	web      *http.Server
	config   *ssh.ServerConfig
	rpcs     []string
}

// commit is one committed configuration, as "show system commit" lists.
type commit struct {
	config *node
	user   string
	at     time.Time
	log    string
}

// maxRollback is how many configurations Junos keeps: rollback 0 to 49.
const maxRollback = 50

// initialConfig is a device as it leaves its first setup: NETCONF over
// SSH on, J-Web with its system-generated certificate.
const initialConfig = `set version 23.4R1.9
set system host-name %s
set system domain-name example.net
set system services ssh
set system services netconf ssh
set system services web-management https system-generated-certificate`

// Start runs a device with one user on 127.0.0.1.
func Start(user, password string) (*Device, error) {
	d := &Device{Hostname: "srx1", users: map[string]string{user: password}, keys: map[string]*localCert{},
		cas: map[string][]*x509.Certificate{}, files: map[string][]byte{}, minute: time.Minute}
	active := newConfig()
	if err := loadSet(active, fmt.Sprintf(initialConfig, d.Hostname)); err != nil {
		return nil, err
	}
	d.history = []commit{{config: active, user: "root", at: time.Now().Add(-24 * time.Hour), log: "initial setup"}}
	d.candidate = active.clone(nil)
	hk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	signer, _ := ssh.NewSignerFromSigner(hk)
	d.HostKey = signer.PublicKey()
	d.config = &ssh.ServerConfig{
		PasswordCallback: func(c ssh.ConnMetadata, pw []byte) (*ssh.Permissions, error) {
			return nil, d.auth(c.User(), string(pw))
		},
		KeyboardInteractiveCallback: func(c ssh.ConnMetadata, ch ssh.KeyboardInteractiveChallenge) (*ssh.Permissions, error) {
			ans, err := ch(c.User(), "", []string{"Password:"}, []bool{false})
			if err != nil || len(ans) != 1 {
				return nil, fmt.Errorf("no answer")
			}
			return nil, d.auth(c.User(), ans[0])
		},
		ServerVersion: "SSH-2.0-OpenSSH_8.6",
	}
	d.config.AddHostKey(signer)
	d.factory = testpki.SelfSigned(d.Hostname, "Juniper Networks")
	if d.sshLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	d.Addr = d.sshLn.Addr().String()
	if d.webLn, err = tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: d.served}); err != nil {
		return nil, err
	}
	d.WebAddr = d.webLn.Addr().String()
	d.web = newWeb()
	go d.acceptSSH()
	go func() { _ = d.web.Serve(d.webLn) }()
	return d, nil
}

// Close stops the device.
func (d *Device) Close() error {
	d.mu.Lock()
	d.confirmed()
	d.mu.Unlock()
	d.web.Close()
	return d.sshLn.Close()
}

// SetFaults replaces the injected faults.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
}

// SetMinute makes the device's minute last d, so that a test sees a
// commit confirmed roll back without waiting minutes.
func (d *Device) SetMinute(m time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.minute = m
}

// RPCs lists the operations received (command text or element name).
func (d *Device) RPCs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.rpcs...)
}

func setLines(n *node) []string {
	var b strings.Builder
	n.set(&b)
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	sort.Strings(lines)
	return lines
}

// Committed returns the active configuration as set commands, sorted,
// and the loaded certificate ids.
func (d *Device) Committed() ([]string, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var ids []string
	for id := range d.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return setLines(d.history[0].config), ids
}

// Candidate returns the candidate configuration as set commands, sorted:
// equal to Committed's unless changes are pending.
func (d *Device) Candidate() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return setLines(d.candidate)
}

// Files lists the files put on the device (all under /var/tmp), sorted.
func (d *Device) Files() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var names []string
	for n := range d.files {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Preload loads a key pair and certificate as id and commits it for
// J-Web, as a device in service has.
func (d *Device) Preload(id string, key crypto.Signer, chain []*x509.Certificate) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys[id] = &localCert{key: key, chain: chain[:1]}
	lines := "set system services web-management https pki-local-certificate " + id
	if len(chain) > 1 {
		d.cas["corp-ca"] = chain[1:]
		lines += "\nset security pki ca-profile corp-ca ca-identity corp-ca"
	}
	active := d.history[0].config.clone(nil)
	if err := loadSet(active, lines); err != nil {
		panic("sim/junos: preload: " + err.Error()) // a fixed, known-good statement
	}
	d.history = append([]commit{{config: active, user: "root", at: time.Now().Add(-time.Hour), log: "certificate in service"}}, d.history...)
	d.candidate = active.clone(nil)
}

func (d *Device) auth(user, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if want, ok := d.users[user]; !ok || want != pw || d.faults.BadCredentials {
		return fmt.Errorf("authentication failed")
	}
	return nil
}

// webCertID is the local certificate J-Web is configured with in c, "" for
// the system-generated one.
func webCertID(c *node) string {
	n, _ := c.subtree([]string{"system", "services", "web-management", "https", "pki-local-certificate"})
	if n == nil {
		return ""
	}
	return n.value
}

func (d *Device) served(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if id := webCertID(d.history[0].config); id != "" {
		if c := d.keys[id]; c != nil && len(c.chain) > 0 {
			tc := &tls.Certificate{PrivateKey: c.key, Leaf: c.chain[0], Certificate: [][]byte{c.chain[0].Raw}}
			// The CA certificates loaded into profiles complete the chain.
			issuer := c.chain[0]
			for range 4 {
				next := d.findIssuer(issuer)
				if next == nil {
					break
				}
				tc.Certificate = append(tc.Certificate, next.Raw)
				issuer = next
			}
			return tc, nil
		}
	}
	return &d.factory, nil
}

func (d *Device) findIssuer(c *x509.Certificate) *x509.Certificate {
	for _, list := range d.cas {
		for _, ca := range list {
			if ca.Subject.String() == c.Issuer.String() && !ca.Equal(c) && c.CheckSignatureFrom(ca) == nil {
				return ca
			}
		}
	}
	return nil
}

func (d *Device) acceptSSH() {
	for {
		c, err := d.sshLn.Accept()
		if err != nil {
			return
		}
		go d.serveConn(c)
	}
}

func (d *Device) serveConn(c net.Conn) {
	defer c.Close()
	sc, chans, reqs, err := ssh.NewServerConn(c, d.config)
	if err != nil {
		return
	}
	go ssh.DiscardRequests(reqs)
	for nc := range chans {
		if nc.ChannelType() != "session" {
			_ = nc.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := nc.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer ch.Close()
			for req := range chReqs {
				if req.Type == "subsystem" && len(req.Payload) > 4 && string(req.Payload[4:]) == "netconf" {
					_ = req.Reply(true, nil)
					d.netconf(ch, c, sc.User())
					return
				}
				// No CLI shell is simulated: Junos's CLI needs prompts
				// and paging; automation uses NETCONF.
				_ = req.Reply(false, nil)
			}
		}()
	}
}
