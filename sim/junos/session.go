package junos

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"

	"github.com/ottr-dev/ottr/internal/netconf"
	"golang.org/x/crypto/ssh"
)

// The hello announces what is modelled: base 1.0 and 1.1 (chunked
// framing when the client announces 1.1 too), the candidate datastore,
// confirmed commits and validate.
const hello = `<hello xmlns="urn:ietf:params:xml:ns:netconf:base:1.0"><capabilities>
<capability>urn:ietf:params:netconf:base:1.0</capability>
<capability>urn:ietf:params:netconf:base:1.1</capability>
<capability>urn:ietf:params:netconf:capability:candidate:1.0</capability>
<capability>urn:ietf:params:netconf:capability:confirmed-commit:1.0</capability>
<capability>urn:ietf:params:netconf:capability:validate:1.0</capability>
<capability>urn:ietf:params:xml:ns:netconf:base:1.0</capability>
<capability>urn:ietf:params:xml:ns:netconf:capability:candidate:1.0</capability>
<capability>urn:ietf:params:xml:ns:netconf:capability:validate:1.0</capability>
<capability>http://xml.juniper.net/netconf/junos/1.0</capability>
<capability>http://xml.juniper.net/dmi/system/1.0</capability>
</capabilities><session-id>%d</session-id></hello>`

const base11 = "urn:ietf:params:netconf:base:1.1"

// session is one NETCONF session.
type session struct {
	d       *Device
	id      int
	user    string
	w       io.Writer
	r       *bufio.Reader
	chunked bool
}

func (s *session) read() ([]byte, error) {
	if s.chunked {
		return netconf.ReadChunked(s.r)
	}
	return netconf.Read(s.r)
}

func (s *session) write(msg string) error {
	if s.chunked {
		return netconf.WriteChunked(s.w, []byte(msg))
	}
	return netconf.Write(s.w, []byte(msg))
}

func (d *Device) netconf(ch ssh.Channel, conn net.Conn, user string) {
	n, _ := rand.Int(rand.Reader, big.NewInt(60000))
	d.mu.Lock()
	d.sessions++
	s := &session{d: d, id: int(n.Int64()) + 1000 + d.sessions, user: user, w: ch, r: bufio.NewReader(ch)}
	d.mu.Unlock()
	if err := s.write(fmt.Sprintf(hello, s.id)); err != nil {
		return
	}
	msg, err := s.read()
	if err != nil {
		return
	}
	h, err := parseElem(msg)
	if err != nil || h.Name != "hello" || h.child("capabilities") == nil {
		_ = s.write(reply("", rpcError("protocol", "malformed-message", "error", "expecting a hello with capabilities", "")))
		return
	}
	for _, c := range h.child("capabilities").Children {
		if c.Name == "capability" && strings.TrimSpace(c.Text) == base11 {
			s.chunked = true // RFC 6242 §4.1: both announced base:1.1
		}
	}
	// A session that ends holding the lock releases it, and its
	// uncommitted changes go with it, as when an exclusive configure
	// session ends.
	defer func() {
		d.mu.Lock()
		if d.lockedBy == s.id {
			d.lockedBy = 0
			d.candidate = d.history[0].config.clone(nil)
		}
		d.mu.Unlock()
	}()
	for {
		msg, err := s.read()
		if err != nil {
			return
		}
		req, err := parseElem(msg)
		if err != nil {
			_ = s.write(reply("", rpcError("protocol", "malformed-message", "error", "XML syntax error: "+err.Error(), "")))
			continue
		}
		if req.Name != "rpc" {
			_ = s.write(reply("", rpcError("protocol", "unknown-element", "error", "syntax error, expecting <rpc>", req.Name)))
			continue
		}
		a := s.handle(req.firstChild())
		if a.drop {
			conn.Close()
			return
		}
		if err := s.write(reply(rpcAttrs(req), a.body)); err != nil {
			return
		}
		if a.close {
			return
		}
	}
}

// rpcAttrs are the rpc's attributes, which the reply repeats (RFC 6241
// 4.2): message-id and any other the client put there.
func rpcAttrs(req *elem) string {
	var b strings.Builder
	for _, a := range req.Attrs {
		if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
			continue
		}
		fmt.Fprintf(&b, ` %s="%s"`, a.Name.Local, esc(a.Value))
	}
	return b.String()
}

func reply(attrs, body string) string {
	return `<rpc-reply xmlns="urn:ietf:params:xml:ns:netconf:base:1.0" xmlns:junos="http://xml.juniper.net/junos/23.4R1/junos"` + attrs + ">\n" + body + "\n</rpc-reply>"
}

// rpcError is one <rpc-error> as Junos writes it; bad names the element
// or word at fault (error-info/bad-element).
func rpcError(typ, tag, severity, msg, bad string) string {
	info := ""
	if bad != "" {
		info = "<error-info><bad-element>" + esc(bad) + "</bad-element></error-info>"
	}
	return fmt.Sprintf("<rpc-error><error-type>%s</error-type><error-tag>%s</error-tag><error-severity>%s</error-severity>%s<error-message>%s</error-message></rpc-error>",
		typ, tag, severity, info, esc(msg))
}

// cfgRPCError reports a refused configuration statement with its
// hierarchy, as load-configuration and commit do.
func cfgRPCError(err error) string {
	e, ok := err.(*cfgError)
	if !ok {
		return rpcError("protocol", "operation-failed", "error", err.Error(), "")
	}
	info := ""
	if e.bad != "" {
		info = "<error-info><bad-element>" + esc(e.bad) + "</bad-element></error-info>"
	}
	return fmt.Sprintf("<rpc-error><error-type>protocol</error-type><error-tag>operation-failed</error-tag><error-severity>error</error-severity><error-path>%s</error-path>%s<error-message>%s</error-message></rpc-error>",
		esc(editPath(e.path)), info, esc(e.msg))
}

// cfgRPCWarning is a statement Junos loaded around with a warning.
func cfgRPCWarning(e *cfgError) string {
	return strings.Replace(cfgRPCError(e), "<error-severity>error</error-severity>", "<error-severity>warning</error-severity>", 1)
}

// esc escapes text for an XML text node as Junos writes it: markup
// characters only, line breaks left as they are.
var esc = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace
