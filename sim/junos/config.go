package junos

import (
	"fmt"
	"strings"
)

// The configuration is a tree shaped by a schema: Junos knows, for every
// statement, whether it is a container, a leaf with one value, a list of
// named entries or a flag, and that is what lets the same configuration be
// loaded and shown as XML, curly-brace text and set commands. The schema
// holds the statements a certificate rotation and its checks touch; any
// other statement is refused as Junos refuses an unknown one, with a
// syntax error naming it.

type kind int

const (
	container kind = iota
	leaf           // one value: host-name srx1;
	list           // named entries: ca-profile corp { … }
	flag           // no value: system-generated-certificate;
)

type schema struct {
	kind kind
	// presence containers stay when they become empty (ssh; means the
	// service is on); other containers go with their last statement.
	presence bool
	// implicit is the one list whose entries a container holds with
	// the list's keyword left out of set and text forms.
	implicit string
	children map[string]*schema
}

func c(children map[string]*schema) *schema { return &schema{kind: container, children: children} }
func p(children map[string]*schema) *schema {
	return &schema{kind: container, presence: true, children: children}
}
func l(children map[string]*schema) *schema { return &schema{kind: list, children: children} }

var (
	leafS = &schema{kind: leaf}
	flagS = &schema{kind: flag}
)

var configSchema = c(map[string]*schema{
	"version": leafS,
	"system": c(map[string]*schema{
		"host-name":   leafS,
		"domain-name": leafS,
		"time-zone":   leafS,
		"login":       c(map[string]*schema{"message": leafS}),
		"name-server": l(nil),
		"services": c(map[string]*schema{
			"ssh":     p(map[string]*schema{"root-login": leafS, "protocol-version": leafS}),
			"netconf": c(map[string]*schema{"ssh": p(map[string]*schema{"port": leafS}), "rfc-compliant": flagS}),
			"web-management": c(map[string]*schema{
				"http": p(map[string]*schema{"port": leafS, "interface": l(nil)}),
				"https": p(map[string]*schema{
					"port":                         leafS,
					"pki-local-certificate":        leafS,
					"system-generated-certificate": flagS,
					"interface":                    l(nil),
				}),
			}),
		}),
	}),
	"security": c(map[string]*schema{
		"pki": c(map[string]*schema{
			"ca-profile": l(map[string]*schema{"ca-identity": leafS}),
		}),
	}),
	// set interfaces ge-0/0/0 …: the interface list's keyword is
	// implied, in XML it is <interfaces><interface><name>.
	"interfaces": {kind: container, implicit: "interface", children: map[string]*schema{
		"interface": l(map[string]*schema{
			"description": leafS,
			"unit": l(map[string]*schema{
				"description": leafS,
				"family": c(map[string]*schema{
					"inet": p(map[string]*schema{"address": l(nil)}),
				}),
			}),
		}),
	}},
})

// node is one statement of a configuration.
type node struct {
	name     string
	key      string // a list entry's name
	value    string // a leaf's value
	sch      *schema
	parent   *node
	children []*node
}

func newConfig() *node { return &node{name: "configuration", sch: configSchema} }

func (n *node) find(name, key string) *node {
	for _, c := range n.children {
		if c.name == name && c.key == key {
			return c
		}
	}
	return nil
}

func (n *node) ensure(name, key string, s *schema) *node {
	if c := n.find(name, key); c != nil {
		return c
	}
	// J-Web's https uses one certificate: the local one or the
	// system-generated one; setting either deletes the other.
	if other, ok := choice[name]; ok {
		if o := n.find(other, ""); o != nil {
			for i, c := range n.children {
				if c == o {
					n.children = append(n.children[:i:i], n.children[i+1:]...)
					break
				}
			}
		}
	}
	c := &node{name: name, key: key, sch: s, parent: n}
	// Junos keeps statements in its schema's order, whatever order they
	// were configured in; list entries stay in the order they came.
	at := len(n.children)
	for i, o := range n.children {
		if rank[o.name] > rank[name] {
			at = i
			break
		}
	}
	n.children = append(n.children[:at], append([]*node{c}, n.children[at:]...)...)
	return c
}

// rank orders statements as Junos shows them.
var rank = func() map[string]int {
	m := map[string]int{}
	for i, name := range []string{
		"version", "system", "security", "interfaces",
		"host-name", "domain-name", "time-zone", "name-server", "login", "services",
		"message", "ssh", "netconf", "web-management", "root-login", "protocol-version", "rfc-compliant",
		"http", "https", "port", "system-generated-certificate", "pki-local-certificate", "interface",
		"pki", "ca-profile", "ca-identity",
		"description", "unit", "family", "inet", "address",
	} {
		m[name] = i
	}
	return m
}()

var choice = map[string]string{
	"pki-local-certificate":        "system-generated-certificate",
	"system-generated-certificate": "pki-local-certificate",
}

// remove takes n out of its parent, and the parents a statement no
// longer holds up.
func (n *node) remove() {
	p := n.parent
	if p == nil {
		return
	}
	for i, c := range p.children {
		if c == n {
			p.children = append(p.children[:i:i], p.children[i+1:]...)
			break
		}
	}
	if len(p.children) == 0 && p.parent != nil && p.sch.kind == container && !p.sch.presence {
		p.remove()
	}
}

func (n *node) clone(parent *node) *node {
	out := &node{name: n.name, key: n.key, value: n.value, sch: n.sch, parent: parent}
	for _, c := range n.children {
		out.children = append(out.children, c.clone(out))
	}
	return out
}

// implied reports an entry whose list keyword is not written.
func (n *node) implied() bool { return n.parent != nil && n.parent.sch.implicit == n.name }

// words are the statement's own words: name, and key or value.
func (n *node) words() []string {
	w := []string{n.name}
	if n.implied() {
		w = nil
	}
	if n.key != "" {
		w = append(w, quote(n.key))
	}
	if n.sch.kind == leaf {
		w = append(w, quote(n.value))
	}
	return w
}

// path is the hierarchy above and including n, as in "[edit system services]".
func (n *node) path() []string {
	if n.parent == nil {
		return nil
	}
	out := n.parent.path()
	if !n.implied() {
		out = append(out, n.name)
	}
	if n.key != "" {
		out = append(out, quote(n.key))
	}
	return out
}

func quote(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\n;{}\"#") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
	}
	return v
}

// cfgError is a configuration statement Junos refuses: the message, the
// word it stopped at and the hierarchy it was in, as load-configuration
// reports them (error-path, bad-element).
type cfgError struct {
	msg  string
	bad  string
	path []string
}

func (e *cfgError) Error() string {
	if e.bad != "" {
		return e.msg + ": " + e.bad
	}
	return e.msg
}

func editPath(path []string) string {
	if len(path) == 0 {
		return "[edit]"
	}
	return "[edit " + strings.Join(path, " ") + "]"
}

// walk follows words from n, creating the statements when create is set
// (set, text), and returns the last statement. For a leaf the value is
// one more word; when create is not set it may be left out (delete).
func walk(n *node, words []string, create bool) (*node, error) {
	if len(words) == 0 {
		return nil, &cfgError{msg: "syntax error, expecting a statement", path: n.path()}
	}
	for i := 0; i < len(words); i++ {
		w := words[i]
		s := n.sch.children[w]
		if imp := n.sch.implicit; imp != "" && w != imp {
			// The word is the entry's name, the keyword implied.
			s, i = n.sch.children[imp], i-1
			w = imp
		}
		if s == nil {
			return nil, &cfgError{msg: "syntax error", bad: w, path: n.path()}
		}
		switch s.kind {
		case leaf:
			if i+1 >= len(words) {
				if create {
					return nil, &cfgError{msg: "missing argument", bad: w, path: n.path()}
				}
				return n.find(w, ""), nil
			}
			if i+2 < len(words) {
				return nil, &cfgError{msg: "syntax error", bad: words[i+2], path: append(n.path(), w)}
			}
			if !create {
				c := n.find(w, "")
				if c == nil || c.value != words[i+1] {
					return nil, nil
				}
				return c, nil
			}
			c := n.ensure(w, "", s)
			c.value = words[i+1]
			return c, nil
		case flag:
			if i+1 < len(words) {
				return nil, &cfgError{msg: "syntax error", bad: words[i+1], path: append(n.path(), w)}
			}
			if create {
				return n.ensure(w, "", s), nil
			}
			return n.find(w, ""), nil
		case list:
			if i+1 >= len(words) {
				if create {
					return nil, &cfgError{msg: "missing argument", bad: w, path: n.path()}
				}
				return nil, &cfgError{msg: "delete of a whole list is not simulated; name the entry", bad: w, path: n.path()}
			}
			i++
			if create {
				n = n.ensure(w, words[i], s)
			} else if n = n.find(w, words[i]); n == nil {
				return nil, nil
			}
		case container:
			if create {
				n = n.ensure(w, "", s)
			} else if n = n.find(w, ""); n == nil {
				return nil, nil
			}
		}
	}
	return n, nil
}

// tokens splits Junos configuration text: words (quoted ones unquoted),
// and the punctuation { } ; as tokens of their own. Comments go.
func tokens(text string) ([]string, error) {
	var out []string
	for i := 0; i < len(text); {
		ch := text[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
		case ch == '#':
			for i < len(text) && text[i] != '\n' {
				i++
			}
		case strings.HasPrefix(text[i:], "/*"):
			end := strings.Index(text[i+2:], "*/")
			if end < 0 {
				return nil, &cfgError{msg: "syntax error, unterminated comment"}
			}
			i += end + 4
		case ch == '{' || ch == '}' || ch == ';':
			out = append(out, string(ch))
			i++
		case ch == '"':
			var b strings.Builder
			i++
			for ; i < len(text) && text[i] != '"'; i++ {
				if text[i] == '\\' && i+1 < len(text) {
					i++
				}
				b.WriteByte(text[i])
			}
			if i >= len(text) {
				return nil, &cfgError{msg: "syntax error, unterminated string"}
			}
			i++
			out = append(out, b.String())
		default:
			j := i
			for j < len(text) && !strings.ContainsRune(" \t\r\n{};\"", rune(text[j])) {
				j++
			}
			out = append(out, text[i:j])
			i = j
		}
	}
	return out, nil
}

// loadSet applies set and delete commands, one a line.
func loadSet(root *node, text string) error { return loadSetW(root, text, nil) }

// notFound records a delete of a statement that is not there: Junos loads
// the rest and warns "statement not found" (which is why Ansible's
// junos_config drops such deletes before loading).
func notFound(warn *[]*cfgError, at *node, words []string) {
	if warn != nil {
		*warn = append(*warn, &cfgError{msg: "statement not found", bad: strings.Join(words, " "), path: at.path()})
	}
}

// loadSetW is loadSet reporting deletes of absent statements to warn.
func loadSetW(root *node, text string, warn *[]*cfgError) error {
	for _, line := range strings.Split(text, "\n") {
		words, err := tokens(line)
		if err != nil {
			return err
		}
		if len(words) == 0 {
			continue
		}
		switch words[0] {
		case "set":
			if _, err := walk(root, words[1:], true); err != nil {
				return err
			}
		case "delete":
			if len(words) == 1 {
				root.children = nil // "delete" alone empties the configuration
				continue
			}
			n, err := walk(root, words[1:], false)
			if err != nil {
				return err
			}
			if n == nil {
				notFound(warn, root, words[1:])
				continue
			}
			n.remove()
		default:
			return &cfgError{msg: "syntax error, only set and delete commands are simulated", bad: words[0]}
		}
	}
	return nil
}

// loadText merges curly-brace configuration text. replace: tags replace
// the statement's contents when honorReplace (load replace), delete: tags
// delete the statement.
func loadText(root *node, text string, honorReplace bool) error {
	return loadTextW(root, text, honorReplace, nil)
}

// loadTextW is loadText reporting deletes of absent statements to warn.
func loadTextW(root *node, text string, honorReplace bool, warn *[]*cfgError) error {
	toks, err := tokens(text)
	if err != nil {
		return err
	}
	stack := []*node{root}
	var words []string
	annot := ""
	for _, t := range toks {
		top := stack[len(stack)-1]
		switch t {
		case ";":
			if len(words) == 0 {
				continue
			}
			if annot == "delete:" {
				n, err := walk(top, words, false)
				if err != nil {
					return err
				}
				if n == nil {
					notFound(warn, top, words)
				} else {
					n.remove()
				}
			} else if _, err := walk(top, words, true); err != nil {
				return err
			}
			words, annot = nil, ""
		case "{":
			if annot == "delete:" {
				return &cfgError{msg: "syntax error, delete: takes a statement ending in ;", path: top.path()}
			}
			n, err := walk(top, words, true)
			if err != nil {
				return err
			}
			if n.sch.kind == leaf || n.sch.kind == flag {
				return &cfgError{msg: "syntax error", bad: "{", path: n.path()}
			}
			if annot == "replace:" && honorReplace {
				n.children = nil
			}
			stack = append(stack, n)
			words, annot = nil, ""
		case "}":
			if len(words) > 0 || len(stack) == 1 {
				return &cfgError{msg: "syntax error", bad: "}", path: top.path()}
			}
			stack = stack[:len(stack)-1]
			if n := top; len(n.children) == 0 && n.sch.kind == container && !n.sch.presence {
				n.remove()
			}
		default:
			if len(words) == 0 && (t == "replace:" || t == "delete:") {
				annot = t
				continue
			}
			if len(words) == 0 && strings.HasSuffix(t, ":") {
				return &cfgError{msg: "syntax error, this tag is not simulated", bad: t, path: top.path()}
			}
			words = append(words, t)
		}
	}
	if len(words) > 0 || len(stack) != 1 {
		return &cfgError{msg: "syntax error, unexpected end of configuration (missing ; or })"}
	}
	return nil
}

// loadXML merges a <configuration> element (Junos XML). A statement is
// deleted by delete="delete" (Junos) or operation="delete"/"remove"
// (NETCONF edit-config) and replaced by replace="replace" or
// operation="replace".
func loadXML(root *node, cfg *elem, defaultOp string) error {
	return mergeXML(root, cfg, defaultOp)
}

func opOf(e *elem, inherited string) string {
	switch {
	case e.attr("delete") == "delete", e.attr("operation") == "delete", e.attr("operation") == "remove":
		return "delete"
	case e.attr("replace") == "replace", e.attr("operation") == "replace":
		return "replace"
	case e.attr("operation") == "merge", e.attr("operation") == "create":
		return "merge"
	case e.attr("operation") != "":
		return "bad"
	}
	return inherited
}

func mergeXML(n *node, e *elem, inherited string) error {
	for _, x := range e.Children {
		s := n.sch.children[x.Name]
		if s == nil {
			return &cfgError{msg: "syntax error", bad: x.Name, path: n.path()}
		}
		op := opOf(x, inherited)
		if op == "bad" {
			return &cfgError{msg: "operation " + x.attr("operation") + " is not simulated", bad: x.Name, path: n.path()}
		}
		switch s.kind {
		case leaf:
			v := strings.TrimSpace(x.Text)
			if op == "delete" {
				if c := n.find(x.Name, ""); c != nil {
					c.remove()
				}
				continue
			}
			if v == "" {
				return &cfgError{msg: "missing argument", bad: x.Name, path: n.path()}
			}
			n.ensure(x.Name, "", s).value = v
		case flag:
			if op == "delete" {
				if c := n.find(x.Name, ""); c != nil {
					c.remove()
				}
				continue
			}
			n.ensure(x.Name, "", s)
		case list, container:
			key := ""
			body := x
			if s.kind == list {
				nm := x.child("name")
				if nm == nil || strings.TrimSpace(nm.Text) == "" {
					return &cfgError{msg: "missing mandatory statement: 'name'", bad: x.Name, path: n.path()}
				}
				key = strings.TrimSpace(nm.Text)
				body = &elem{Name: x.Name, Attrs: x.Attrs}
				for _, ch := range x.Children {
					if ch != nm {
						body.Children = append(body.Children, ch)
					}
				}
			}
			if op == "delete" {
				if c := n.find(x.Name, key); c != nil {
					c.remove()
				}
				continue
			}
			c := n.ensure(x.Name, key, s)
			if op == "replace" {
				c.children = nil
			}
			// A replaced statement's contents merge into the emptied one.
			childOp := op
			if op == "replace" {
				childOp = "merge"
			}
			if err := mergeXML(c, body, childOp); err != nil {
				return err
			}
			if len(c.children) == 0 && s.kind == container && !s.presence && len(body.Children) > 0 {
				c.remove()
			}
		}
	}
	return nil
}

// text renders n's statements as Junos shows them, four spaces a level.
func (n *node) text(b *strings.Builder, depth int) {
	for _, c := range n.children {
		ind := strings.Repeat("    ", depth)
		if len(c.children) == 0 {
			fmt.Fprintf(b, "%s%s;\n", ind, strings.Join(c.words(), " "))
			continue
		}
		fmt.Fprintf(b, "%s%s {\n", ind, strings.Join(c.words(), " "))
		c.text(b, depth+1)
		fmt.Fprintf(b, "%s}\n", ind)
	}
}

// set renders n's statements as set commands, one for each statement
// with nothing below it.
func (n *node) set(b *strings.Builder) {
	for _, c := range n.children {
		if len(c.children) == 0 {
			w := c.path()
			if c.sch.kind == leaf {
				w = append(w, quote(c.value))
			}
			b.WriteString("set " + strings.Join(w, " ") + "\n")
			continue
		}
		c.set(b)
	}
}

// xml renders n's statements as Junos XML.
func (n *node) xml(b *strings.Builder) {
	for _, c := range n.children {
		switch {
		case c.sch.kind == leaf:
			fmt.Fprintf(b, "<%s>%s</%s>", c.name, esc(c.value), c.name)
		case c.key != "":
			fmt.Fprintf(b, "<%s><name>%s</name>", c.name, esc(c.key))
			c.xml(b)
			fmt.Fprintf(b, "</%s>", c.name)
		case len(c.children) == 0:
			fmt.Fprintf(b, "<%s/>", c.name)
		default:
			fmt.Fprintf(b, "<%s>", c.name)
			c.xml(b)
			fmt.Fprintf(b, "</%s>", c.name)
		}
	}
}

// diff writes what changes from old to cur as "show | compare" does:
// under each hierarchy's [edit …] header, removed statements with "-",
// added ones with "+".
func diff(old, cur *node) string {
	var b strings.Builder
	header := ""
	var walk func(o, n *node)
	emit := func(at *node, sign string, stmt *node) {
		if h := editPath(at.path()); h != header {
			b.WriteString(h + "\n")
			header = h
		}
		var body strings.Builder
		tmp := &node{children: []*node{stmt}}
		tmp.text(&body, 1)
		for _, line := range strings.Split(strings.TrimSuffix(body.String(), "\n"), "\n") {
			b.WriteString(sign + strings.TrimPrefix(line, " ") + "\n")
		}
	}
	walk = func(o, n *node) {
		for _, oc := range o.children {
			nc := n.find(oc.name, oc.key)
			switch {
			case nc == nil:
				emit(n, "-", oc)
			case oc.sch.kind == leaf && oc.value != nc.value:
				emit(n, "-", oc)
				emit(n, "+", nc)
			case oc.sch.kind != leaf:
				walk(oc, nc)
			}
		}
		for _, nc := range n.children {
			if o.find(nc.name, nc.key) == nil {
				emit(n, "+", nc)
			}
		}
	}
	walk(old, cur)
	return b.String()
}

// subtree follows a path of words (show configuration system services)
// without creating anything; nil when the hierarchy is not configured.
func (n *node) subtree(words []string) (*node, error) {
	if len(words) == 0 {
		return n, nil
	}
	return walk(n, words, false)
}
