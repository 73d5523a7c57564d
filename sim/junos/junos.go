// Package junos simulates a Juniper device (SRX/EX/MX) as a certificate
// rotation reaches it: an SSH server (golang.org/x/crypto/ssh) with
// password and keyboard-interactive logins and the "netconf" subsystem,
// speaking NETCONF 1.0 (hello, rpc / rpc-reply, rpc-error, "]]>]]>"
// framing) as Junos does by default.
//
// Operational commands arrive as <command format="text"> and answer with
// Junos's CLI text: request security pki generate-key-pair /
// generate-certificate-request (one domain-name, as Junos allows),
// ca-certificate load, local-certificate load, clear security pki …,
// show security pki local-certificate detail, show configuration … |
// display set, file delete. Files come with <file-put>. Configuration is a
// candidate and a committed set of "set" lines, changed with
// <load-configuration action="set" format="text"> under <lock>, and
// <commit-configuration> refuses a web-management certificate that is not
// loaded. J-Web's HTTPS port presents the committed
// pki-local-certificate with the CA certificates loaded for its issuers.
//
// Faults: refused logins, a failing commit, a slow commit, a
// configuration locked by another session, and a connection dropped while
// a file is put or right after a given command was carried out.
package junos

import (
	"bufio"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"math/big"
	"net"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr/internal/netconf"
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
	HostKey  ssh.PublicKey
	Hostname string

	mu        sync.Mutex
	users     map[string]string
	keys      map[string]*localCert // certificate-id
	cas       map[string][]*x509.Certificate
	files     map[string][]byte
	candidate map[string]bool
	committed map[string]bool
	locked    bool
	faults    Faults
	factory   tls.Certificate
	sshLn     net.Listener
	webLn     net.Listener
	config    *ssh.ServerConfig
	rpcs      []string
}

// Start runs a device with one user on 127.0.0.1.
func Start(user, password string) (*Device, error) {
	d := &Device{Hostname: "srx1", users: map[string]string{user: password}, keys: map[string]*localCert{},
		cas: map[string][]*x509.Certificate{}, files: map[string][]byte{}, candidate: map[string]bool{}, committed: map[string]bool{}}
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
	go d.acceptSSH()
	go d.acceptWeb()
	return d, nil
}

// Close stops the device.
func (d *Device) Close() error {
	d.webLn.Close()
	return d.sshLn.Close()
}

// SetFaults replaces the injected faults.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
}

// RPCs lists the operations received (command text or element name).
func (d *Device) RPCs() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.rpcs...)
}

// Committed returns the committed configuration's set lines, sorted, and
// the loaded certificate ids.
func (d *Device) Committed() ([]string, []string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var lines, ids []string
	for l := range d.committed {
		lines = append(lines, l)
	}
	for id := range d.keys {
		ids = append(ids, id)
	}
	sort.Strings(lines)
	sort.Strings(ids)
	return lines, ids
}

// Candidate returns the candidate configuration's set lines, sorted:
// equal to Committed's unless changes are pending.
func (d *Device) Candidate() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var lines []string
	for l := range d.candidate {
		lines = append(lines, l)
	}
	sort.Strings(lines)
	return lines
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
	if len(chain) > 1 {
		d.cas["corp-ca"] = chain[1:]
		d.committed["set security pki ca-profile corp-ca ca-identity corp-ca"] = true
	}
	d.committed["set system services web-management https pki-local-certificate "+id] = true
	d.candidate = clone(d.committed)
}

func (d *Device) auth(user, pw string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if want, ok := d.users[user]; !ok || want != pw || d.faults.BadCredentials {
		return fmt.Errorf("authentication failed")
	}
	return nil
}

var webCert = regexp.MustCompile(`^set system services web-management https pki-local-certificate (\S+)$`)

func (d *Device) served(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for l := range d.committed {
		if m := webCert.FindStringSubmatch(l); m != nil {
			c := d.keys[m[1]]
			if c == nil || len(c.chain) == 0 {
				break
			}
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

func (d *Device) acceptWeb() {
	for {
		c, err := d.webLn.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			_ = c.(*tls.Conn).Handshake()
		}()
	}
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
	_, chans, reqs, err := ssh.NewServerConn(c, d.config)
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
					d.netconf(ch, c)
					return
				}
				// No CLI shell is simulated: Junos's CLI needs prompts
				// and paging; automation uses NETCONF.
				_ = req.Reply(false, nil)
			}
		}()
	}
}

const hello = `<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>
<capability>urn:ietf:params:netconf:base:1.0</capability>
<capability>urn:ietf:params:netconf:capability:candidate:1.0</capability>
<capability>urn:ietf:params:netconf:capability:confirmed-commit:1.0</capability>
<capability>http://xml.juniper.net/netconf/junos/1.0</capability>
<capability>http://xml.juniper.net/dmi/system/1.0</capability>
</capabilities><session-id>%d</session-id></hello>`

// rpc is one request.
type rpc struct {
	MessageID string `xml:"message-id,attr"`
	Body      []byte `xml:",innerxml"`
}

func (d *Device) netconf(ch ssh.Channel, conn net.Conn) {
	n, _ := rand.Int(rand.Reader, big.NewInt(60000))
	if err := netconf.Write(ch, []byte(fmt.Sprintf(hello, n.Int64()+1000))); err != nil {
		return
	}
	r := bufio.NewReader(ch)
	if _, err := netconf.Read(r); err != nil { // the client's hello
		return
	}
	// A session that ends holding the lock releases it, and its
	// uncommitted changes go with it (RFC 6241 8.3.5.2).
	holds := false
	defer func() {
		if holds {
			d.mu.Lock()
			d.locked = false
			d.candidate = clone(d.committed)
			d.mu.Unlock()
		}
	}()
	for {
		msg, err := netconf.Read(r)
		if err != nil {
			return
		}
		var req rpc
		if err := xml.Unmarshal(msg, &req); err != nil {
			_ = netconf.Write(ch, []byte(rpcError("", "protocol", "malformed-message", "syntax error")))
			continue
		}
		body := strings.TrimSpace(string(req.Body))
		reply, closeSession, drop := d.handle(body)
		switch {
		case (strings.HasPrefix(body, "<lock") || strings.HasPrefix(body, "<open-configuration")) && reply == "<ok/>":
			holds = true
		case strings.HasPrefix(body, "<unlock") || strings.HasPrefix(body, "<close-configuration"):
			holds = false
		}
		if drop {
			conn.Close()
			return
		}
		_ = netconf.Write(ch, []byte(fmt.Sprintf(`<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:junos="http://xml.juniper.net/junos/23.4R1/junos" message-id="%s">%s</rpc-reply>`,
			esc(req.MessageID), reply)))
		if closeSession {
			return
		}
	}
}

// esc escapes text for an XML text node as Junos writes it: markup
// characters only, line breaks left as they are.
var esc = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace

func rpcError(_, typ, tag, msg string) string {
	return fmt.Sprintf("<rpc-error><error-type>%s</error-type><error-tag>%s</error-tag><error-severity>error</error-severity><error-message>%s</error-message></rpc-error>",
		typ, tag, esc(msg))
}

func output(text string) string { return "<output>\n" + esc(text) + "\n</output>" }

var element = regexp.MustCompile(`^<([a-zA-Z-]+)`)

// handle answers one rpc body; it reports whether to close the session
// and whether to drop the connection instead of answering.
func (d *Device) handle(body string) (reply string, closeSession, drop bool) {
	m := element.FindStringSubmatch(body)
	if m == nil {
		return rpcError("", "protocol", "operation-not-supported", "syntax error"), false, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	name := m[1]
	switch name {
	case "command":
		var c struct {
			Text string `xml:",chardata"`
		}
		_ = xml.Unmarshal([]byte(body), &c)
		cmd := strings.Join(strings.Fields(c.Text), " ")
		d.rpcs = append(d.rpcs, cmd)
		out := d.command(cmd)
		if x := d.faults.DropAfter; x != "" && strings.Contains(cmd, x) {
			d.faults.DropAfter = ""
			return "", false, true
		}
		return out, false, false
	case "file-put":
		d.rpcs = append(d.rpcs, name)
		if d.faults.DropFilePut {
			return "", false, true
		}
		var f struct {
			Filename string `xml:"filename"`
			Encoding string `xml:"encoding"`
			Contents string `xml:"file-contents"`
		}
		if err := xml.Unmarshal([]byte(body), &f); err != nil || f.Encoding != "base64" || !strings.HasPrefix(f.Filename, "/var/tmp/") {
			return rpcError("", "application", "invalid-value", "file-put: give a filename under /var/tmp and base64 contents"), false, false
		}
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(f.Contents))
		if err != nil {
			return rpcError("", "application", "invalid-value", "file-put: contents are not base64"), false, false
		}
		d.files[f.Filename] = b
		return "<ok/>", false, false
	case "lock", "open-configuration":
		d.rpcs = append(d.rpcs, name)
		if u := d.faults.LockedBy; u != "" {
			return rpcError("", "protocol", "lock-denied", "configuration database locked by:\n  "+u+" terminal p0 (pid 4242) on since 2024-05-01 10:00:00 UTC\n      exclusive [edit]"), false, false
		}
		if d.locked {
			return rpcError("", "protocol", "lock-denied", "configuration database locked by:\n  another session"), false, false
		}
		d.locked = true
		return "<ok/>", false, false
	case "unlock", "close-configuration":
		d.rpcs = append(d.rpcs, name)
		d.locked = false
		// Uncommitted changes go with the lock, as in configure private.
		d.candidate = clone(d.committed)
		return "<ok/>", false, false
	case "load-configuration":
		d.rpcs = append(d.rpcs, name)
		var l struct {
			Action string `xml:"action,attr"`
			Format string `xml:"format,attr"`
			Set    string `xml:"configuration-set"`
		}
		if err := xml.Unmarshal([]byte(body), &l); err != nil || l.Action != "set" || l.Format != "text" {
			return rpcError("", "protocol", "operation-not-supported", `only action="set" format="text" is simulated`), false, false
		}
		if !d.locked {
			return rpcError("", "protocol", "access-denied", "configuration database is not locked by this session"), false, false
		}
		for _, line := range strings.Split(l.Set, "\n") {
			line = strings.Join(strings.Fields(line), " ")
			switch {
			case line == "":
			case strings.HasPrefix(line, "set "):
				// A leaf holds one value: setting the certificate replaces it.
				if webCert.MatchString(line) {
					for old := range d.candidate {
						if webCert.MatchString(old) {
							delete(d.candidate, old)
						}
					}
				}
				d.candidate[line] = true
			case strings.HasPrefix(line, "delete "):
				delete(d.candidate, "set "+strings.TrimPrefix(line, "delete "))
			default:
				return "<load-configuration-results>" + rpcError("", "application", "invalid-value", "syntax error: "+line) + "</load-configuration-results>", false, false
			}
		}
		return "<load-configuration-results><ok/></load-configuration-results>", false, false
	case "commit-configuration":
		d.rpcs = append(d.rpcs, name)
		if d.faults.CommitDelay > 0 {
			d.mu.Unlock()
			time.Sleep(d.faults.CommitDelay)
			d.mu.Lock()
		}
		if msg := d.faults.CommitError; msg != "" {
			return rpcError("", "application", "invalid-value", msg) + rpcError("", "protocol", "operation-failed", "error: configuration check-out failed"), false, false
		}
		for l := range d.candidate {
			if m := webCert.FindStringSubmatch(l); m != nil {
				if c := d.keys[m[1]]; c == nil || len(c.chain) == 0 {
					return rpcError("", "application", "invalid-value", fmt.Sprintf("system services web-management https pki-local-certificate %s: local certificate not found", m[1])) +
						rpcError("", "protocol", "operation-failed", "error: configuration check-out failed"), false, false
				}
			}
		}
		d.committed = clone(d.candidate)
		return "<commit-results><routing-engine junos:style=\"normal\"><name>re0</name><commit-success/></routing-engine></commit-results>", false, false
	case "close-session":
		d.rpcs = append(d.rpcs, name)
		return "<ok/>", true, false
	}
	return rpcError("", "protocol", "operation-not-supported", "syntax error, expecting <rpc> element: "+name), false, false
}

func clone(m map[string]bool) map[string]bool {
	out := make(map[string]bool, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

var (
	genKey     = regexp.MustCompile(`^request security pki generate-key-pair certificate-id (\S+)(?: size (\d+))?(?: type (rsa|ecdsa))?$`)
	genCSR     = regexp.MustCompile(`^request security pki generate-certificate-request certificate-id (\S+) subject "?CN=([^",]+)[^"]*"?(?: domain-name (\S+))?(?: digest (\S+))?$`)
	caLoad     = regexp.MustCompile(`^request security pki ca-certificate load ca-profile (\S+) filename (\S+)$`)
	localLoad  = regexp.MustCompile(`^request security pki local-certificate load certificate-id (\S+) filename (\S+)(?: key (\S+))?$`)
	clearLocal = regexp.MustCompile(`^clear security pki (local-certificate|key-pair) certificate-id (\S+)$`)
	showLocal  = regexp.MustCompile(`^show security pki local-certificate(?: certificate-id (\S+))? detail$`)
	fileDelete = regexp.MustCompile(`^file delete (\S+)$`)
	fileList   = regexp.MustCompile(`^file list (/var/tmp)/?$`)
)
