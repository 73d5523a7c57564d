package junos

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// answer is what a session does with one rpc.
type answer struct {
	body  string
	close bool // close the session after replying
	drop  bool // drop the connection instead of replying
}

func ok(body string) answer { return answer{body: body} }

func fail(typ, tag, msg, bad string) answer {
	return answer{body: rpcError(typ, tag, "error", msg, bad)}
}

func notModelled(what string) answer {
	return fail("protocol", "operation-not-supported", what+" is not simulated", "")
}

// handle answers one operation. Junos matches operations and their
// parameters by local name, so a namespace-qualified request (ncclient's
// <nc:get-config>) and an unqualified one (PyEZ's) are the same.
func (s *session) handle(op *elem) answer {
	if op == nil {
		return fail("protocol", "missing-element", "syntax error, expecting an operation inside <rpc>", "rpc")
	}
	d := s.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if op.Name != "command" {
		d.rpcs = append(d.rpcs, op.Name)
	}
	switch op.Name {
	case "command":
		return s.command(op)
	case "file-put":
		return s.filePut(op)
	case "lock", "lock-configuration":
		if op.Name == "lock" && target(op) != "candidate" {
			return fail("protocol", "invalid-value", "only the candidate configuration can be locked", target(op))
		}
		return s.lock()
	case "unlock", "unlock-configuration":
		if op.Name == "unlock" && target(op) != "candidate" {
			return fail("protocol", "invalid-value", "only the candidate configuration can be unlocked", target(op))
		}
		return s.unlock()
	case "open-configuration", "close-configuration":
		// Private and dynamic databases are their own model; refusing
		// them is better than editing the shared candidate instead.
		return notModelled(op.Name + " (private, exclusive, dynamic or ephemeral databases)")
	case "load-configuration":
		return s.loadConfiguration(op)
	case "edit-config":
		return s.editConfig(op)
	case "get-configuration":
		return s.getConfiguration(op)
	case "get-config":
		return s.getConfig(op)
	case "validate":
		if src := op.child("source"); src == nil || src.firstChild() == nil || src.firstChild().Name != "candidate" {
			return fail("protocol", "invalid-value", "only the candidate configuration can be validated", "source")
		}
		if errs := d.check(); errs != "" {
			return ok(errs)
		}
		return ok("<ok/>")
	case "commit":
		if op.has("persist") || op.has("persist-id") {
			return notModelled("a persistent confirmed commit")
		}
		var wait time.Duration
		if op.has("confirmed") {
			// RFC 6241 8.4.5: seconds, 600 by default.
			secs, bad := confirmTimeout(op, 600, 1, 1<<32-1)
			if bad != "" {
				return fail("protocol", "invalid-value", bad, "confirm-timeout")
			}
			wait = time.Duration(secs) * d.minute / 60
		}
		// The NETCONF commit answers <ok/>; Junos's own commit-configuration
		// answers its commit-results.
		if a := s.commit(false, "", wait); !strings.Contains(a.body, "<commit-success/>") {
			return a
		}
		return ok("<ok/>")
	case "commit-configuration":
		if op.has("at-time") {
			return notModelled("commit at")
		}
		var wait time.Duration
		if op.has("confirmed") {
			// Junos: minutes, 10 by default.
			mins, bad := confirmTimeout(op, 10, 1, 65535)
			if bad != "" {
				return fail("protocol", "invalid-value", bad, "confirm-timeout")
			}
			wait = time.Duration(mins) * d.minute
		} else if op.has("confirm-timeout") {
			return fail("protocol", "invalid-value", "confirm-timeout goes with confirmed", "confirm-timeout")
		}
		return s.commit(op.has("check"), op.value("log"), wait)
	case "discard-changes":
		if err := s.editable(); err != "" {
			return ok(err)
		}
		d.candidate = d.history[0].config.clone(nil)
		return ok("<ok/>")
	case "get-software-information":
		return ok(d.softwareInformation())
	case "get-route-engine-information":
		return ok(d.routeEngineInformation())
	case "get-chassis-inventory":
		return ok(d.chassisInventory())
	case "close-session":
		return answer{body: "<ok/>", close: true}
	}
	return fail("protocol", "operation-not-supported", "syntax error", op.Name)
}

// target is the datastore named by <target> or <source>.
func target(op *elem) string {
	for _, n := range []string{"target", "source"} {
		if t := op.child(n); t != nil && t.firstChild() != nil {
			return t.firstChild().Name
		}
	}
	return ""
}

// lockHolder describes who holds the lock, as Junos's lock-denied does.
func (s *session) lockHolder() string {
	if u := s.d.faults.LockedBy; u != "" {
		return "configuration database locked by:\n  " + u + " terminal p0 (pid 4242) on since 2024-05-01 10:00:00 UTC\n      exclusive [edit]"
	}
	return fmt.Sprintf("configuration database locked by:\n  %s built-in (pid %d) on since %s\n      exclusive [edit]", s.d.lockedUser, s.d.lockedBy, "2024-05-01 10:00:00 UTC")
}

// editable is "" when this session may change the candidate: nobody
// else holds the lock (Junos shares the candidate among sessions that
// do not lock it).
func (s *session) editable() string {
	d := s.d
	if d.faults.LockedBy != "" || (d.lockedBy != 0 && d.lockedBy != s.id) {
		return rpcError("protocol", "lock-denied", "error", s.lockHolder(), "")
	}
	return ""
}

func (s *session) lock() answer {
	d := s.d
	if d.faults.LockedBy != "" || d.lockedBy != 0 {
		return ok(fmt.Sprintf("<rpc-error><error-type>protocol</error-type><error-tag>lock-denied</error-tag><error-severity>error</error-severity><error-info><session-id>%d</session-id></error-info><error-message>%s</error-message></rpc-error>",
			d.lockedBy, esc(s.lockHolder())))
	}
	// Junos will not lock a candidate holding someone's uncommitted
	// changes: they would be committed by the lock holder.
	if diff(d.history[0].config, d.candidate) != "" {
		return fail("protocol", "lock-denied", "configuration database modified", "")
	}
	d.lockedBy, d.lockedUser = s.id, s.user
	return ok("<ok/>")
}

func (s *session) unlock() answer {
	d := s.d
	if d.lockedBy != s.id {
		return fail("protocol", "operation-failed", "configuration database is not locked by this session", "")
	}
	d.lockedBy = 0
	// Uncommitted changes go with the lock, as when configure
	// exclusive ends.
	d.candidate = d.history[0].config.clone(nil)
	return ok("<ok/>")
}

func (s *session) loadConfiguration(op *elem) answer {
	d := s.d
	if err := s.editable(); err != "" {
		return ok(err)
	}
	results := func(body string, errs int) answer {
		if errs > 0 {
			body += fmt.Sprintf("<load-error-count>%d</load-error-count>", errs)
		}
		return ok("<load-configuration-results>" + body + "</load-configuration-results>")
	}
	if op.attr("url") != "" || op.attr("rescue") != "" {
		return notModelled("load-configuration from a url or the rescue configuration")
	}
	if rb := op.attr("rollback"); rb != "" {
		n, err := strconv.Atoi(rb)
		if err != nil || n < 0 || n >= maxRollback {
			return results(rpcError("protocol", "invalid-value", "error", "rollback must be a number from 0 to 49: "+rb, "rollback"), 1)
		}
		if n >= len(d.history) {
			return results(rpcError("protocol", "operation-failed", "error", fmt.Sprintf("rollback %d does not exist (the device keeps %d)", n, len(d.history)), "rollback"), 1)
		}
		d.candidate = d.history[n].config.clone(nil)
		return results("<ok/>", 0)
	}
	action, format := op.attr("action"), op.attr("format")
	if action == "" {
		action = "merge"
	}
	if format == "" {
		format = "xml"
	}
	work := d.candidate.clone(nil)
	var err error
	var warns []*cfgError
	switch {
	case action == "set" && format == "text":
		body := op.child("configuration-set")
		if body == nil {
			return results(rpcError("protocol", "missing-element", "error", `action="set" loads <configuration-set>`, "configuration-set"), 1)
		}
		err = loadSetW(work, body.Text, &warns)
	case action == "set":
		return results(rpcError("protocol", "invalid-value", "error", `action="set" needs format="text"`, "format"), 1)
	case action != "merge" && action != "replace" && action != "override":
		return results(rpcError("protocol", "operation-not-supported", "error", "load-configuration action "+action+" is not simulated (merge, replace, override, set are)", "action"), 1)
	case format == "text":
		body := op.child("configuration-text")
		if body == nil {
			return results(rpcError("protocol", "missing-element", "error", `format="text" loads <configuration-text>`, "configuration-text"), 1)
		}
		if action == "override" {
			work = newConfig()
		}
		err = loadTextW(work, body.Text, action == "replace", &warns)
	case format == "xml":
		body := op.child("configuration")
		if body == nil {
			return results(rpcError("protocol", "missing-element", "error", `format="xml" loads <configuration>`, "configuration"), 1)
		}
		if action == "override" {
			work = newConfig()
		}
		def := "merge"
		err = loadXML(work, body, def)
	default:
		return results(rpcError("protocol", "operation-not-supported", "error", "load-configuration format "+format+" is not simulated (xml, text, set are)", "format"), 1)
	}
	if err != nil {
		return results(cfgRPCError(err), 1)
	}
	d.candidate = work
	var b strings.Builder
	for _, w := range warns {
		b.WriteString(cfgRPCWarning(w))
	}
	return results(b.String()+"<ok/>", 0)
}

func (s *session) editConfig(op *elem) answer {
	d := s.d
	if t := target(op); t != "candidate" {
		return fail("protocol", "invalid-value", "edit-config edits the candidate configuration only", t)
	}
	if err := s.editable(); err != "" {
		return ok(err)
	}
	def := op.value("default-operation")
	work := d.candidate.clone(nil)
	switch def {
	case "", "merge":
	case "replace":
		work = newConfig()
	default:
		return fail("protocol", "operation-not-supported", "default-operation "+def+" is not simulated (merge, replace are)", "default-operation")
	}
	var err error
	if cfg := op.child("config"); cfg != nil {
		body := cfg.child("configuration")
		if body == nil {
			return fail("protocol", "missing-element", "edit-config: <config> holds a Junos <configuration>", "configuration")
		}
		err = loadXML(work, body, "merge")
	} else if txt := op.child("config-text"); txt != nil && txt.child("configuration-text") != nil {
		err = loadText(work, txt.child("configuration-text").Text, true)
	} else {
		return fail("protocol", "missing-element", "edit-config needs <config> or <config-text>", "config")
	}
	if err != nil {
		return ok(cfgRPCError(err))
	}
	d.candidate = work
	return ok("<ok/>")
}

// database returns the configuration a get names: candidate or the
// active (committed, running) one.
func (d *Device) database(name string) (*node, bool) {
	switch name {
	case "", "candidate":
		return d.candidate, true
	case "committed", "running":
		return d.history[0].config, true
	}
	return nil, false
}

func (s *session) getConfiguration(op *elem) answer {
	d := s.d
	format := op.attr("format")
	if format == "" {
		format = "xml"
	}
	if op.attr("compare") != "" {
		if op.attr("compare") != "rollback" || format != "text" {
			return notModelled(`get-configuration compare other than compare="rollback" format="text"`)
		}
		rb := op.attr("rollback")
		if rb == "" {
			rb = "0"
		}
		n, err := strconv.Atoi(rb)
		if err != nil || n < 0 || n >= maxRollback {
			return fail("protocol", "invalid-value", "rollback must be a number from 0 to 49: "+rb, "rollback")
		}
		if n >= len(d.history) {
			return fail("protocol", "operation-failed", fmt.Sprintf("rollback %d does not exist", n), "rollback")
		}
		return ok("<configuration-information><configuration-output>\n" + esc(diff(d.history[n].config, d.candidate)) + "</configuration-output></configuration-information>")
	}
	cfg, found := d.database(op.attr("database"))
	if !found {
		return fail("protocol", "invalid-value", "database must be candidate or committed", "database")
	}
	if f := op.child("configuration"); f != nil {
		cfg = filter(cfg, f)
	}
	return s.configReply(cfg, format, op.attr("database") == "committed")
}

func (s *session) configReply(cfg *node, format string, committed bool) answer {
	var b strings.Builder
	switch format {
	case "xml":
		c := s.d.history[0]
		attrs := ""
		if committed {
			attrs = fmt.Sprintf(` junos:commit-seconds="%d" junos:commit-localtime="%s" junos:commit-user="%s"`,
				c.at.Unix(), c.at.UTC().Format("2006-01-02 15:04:05 UTC"), esc(c.user))
		}
		b.WriteString("<configuration" + attrs + ">")
		cfg.xml(&b)
		b.WriteString("</configuration>")
	case "text":
		cfg.text(&b, 0)
		return ok("<configuration-text>\n" + esc(b.String()) + "</configuration-text>")
	case "set":
		cfg.set(&b)
		return ok("<configuration-set>\n" + esc(b.String()) + "</configuration-set>")
	default:
		return fail("protocol", "operation-not-supported", "configuration format "+format+" is not simulated (xml, text, set are)", "format")
	}
	return ok(b.String())
}

func (s *session) getConfig(op *elem) answer {
	src := target(op)
	cfg, found := s.d.database(src)
	if !found || src == "" {
		return fail("protocol", "invalid-value", "get-config reads the running or the candidate configuration", src)
	}
	if f := op.child("filter"); f != nil {
		if t := f.attr("type"); t != "" && t != "subtree" {
			return notModelled("get-config filter type " + t)
		}
		if c := f.child("configuration"); c != nil {
			cfg = filter(cfg, c)
		} else if len(f.Children) > 0 {
			return fail("protocol", "unknown-element", "the filter selects within <configuration>", f.firstChild().Name)
		}
	}
	var b strings.Builder
	b.WriteString("<data><configuration>")
	cfg.xml(&b)
	b.WriteString("</configuration></data>")
	return ok(b.String())
}

// filter keeps the statements a subtree filter selects (RFC 6241 6.2):
// an element with no children selects the statement and all below it,
// one with children selects within it, and a list entry's <name> matches
// that entry only.
func filter(cfg *node, f *elem) *node {
	out := &node{name: cfg.name, key: cfg.key, value: cfg.value, sch: cfg.sch, parent: cfg.parent}
	if len(f.Children) == 0 {
		return cfg.clone(cfg.parent)
	}
	for _, fc := range f.Children {
		key := ""
		inner := fc
		if nm := fc.child("name"); nm != nil && strings.TrimSpace(nm.Text) != "" {
			key = strings.TrimSpace(nm.Text)
			inner = &elem{Name: fc.Name}
			for _, x := range fc.Children {
				if x != nm {
					inner.Children = append(inner.Children, x)
				}
			}
		}
		for _, c := range cfg.children {
			if c.name != fc.Name || (key != "" && c.key != key) {
				continue
			}
			var kept *node
			if len(inner.Children) == 0 {
				kept = c.clone(out)
			} else {
				kept = filter(c, inner)
				kept.parent = out
				if len(kept.children) == 0 {
					continue
				}
			}
			out.children = append(out.children, kept)
		}
	}
	return out
}

// check is commit check: the candidate's problems as rpc-errors, "" when
// it would commit.
func (d *Device) check() string {
	if msg := d.faults.CommitError; msg != "" {
		return rpcError("application", "invalid-value", "error", msg, "") + rpcError("protocol", "operation-failed", "error", "configuration check-out failed", "")
	}
	var errs []string
	if id := webCertID(d.candidate); id != "" {
		if c := d.keys[id]; c == nil || len(c.chain) == 0 {
			errs = append(errs, cfgRPCError(&cfgError{msg: fmt.Sprintf("pki-local-certificate %s: local certificate not found", id), bad: "pki-local-certificate",
				path: []string{"system", "services", "web-management", "https"}}))
		}
	}
	if pki, _ := d.candidate.subtree([]string{"security", "pki"}); pki != nil {
		for _, p := range pki.children {
			if p.name == "ca-profile" && p.find("ca-identity", "") == nil {
				errs = append(errs, cfgRPCError(&cfgError{msg: "Missing mandatory statement: 'ca-identity'", bad: "ca-profile", path: p.path()}))
			}
		}
	}
	if len(errs) == 0 {
		return ""
	}
	return strings.Join(errs, "") + rpcError("protocol", "operation-failed", "error", "configuration check-out failed", "")
}

// confirmTimeout reads <confirm-timeout>, def when absent; bad says why
// it is refused.
func confirmTimeout(op *elem, def, lo, hi int) (n int, bad string) {
	v := op.value("confirm-timeout")
	if v == "" {
		return def, ""
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Sprintf("confirm-timeout must be a whole number from %d to %d, not %q", lo, hi, v)
	}
	return n, ""
}

// commit commits the candidate (checkOnly: only checks it). Any commit
// or commit check confirms a pending confirmed commit; a confirmed one
// (confirm > 0) is rolled back when confirm passes unconfirmed.
func (s *session) commit(checkOnly bool, log string, confirm time.Duration) answer {
	d := s.d
	if err := s.editable(); err != "" {
		return ok(err)
	}
	if d.faults.CommitDelay > 0 {
		d.mu.Unlock()
		time.Sleep(d.faults.CommitDelay)
		d.mu.Lock()
	}
	if errs := d.check(); errs != "" {
		return ok(errs)
	}
	d.confirmed()
	if checkOnly {
		return ok(`<commit-results><routing-engine junos:style="normal"><name>re0</name><commit-check-success/></routing-engine></commit-results>`)
	}
	d.history = append([]commit{{config: d.candidate.clone(nil), user: s.user, at: time.Now(), log: log}}, d.history...)
	if len(d.history) > maxRollback {
		d.history = d.history[:maxRollback]
	}
	if confirm > 0 {
		d.awaitConfirm(confirm)
	}
	return ok(`<commit-results><routing-engine junos:style="normal"><name>re0</name><commit-success/></routing-engine></commit-results>`)
}

// awaitConfirm rolls the active configuration back to the one before it
// unless a commit confirms it within wait, as commit confirmed does.
func (d *Device) awaitConfirm(wait time.Duration) {
	d.confirmGen++
	gen := d.confirmGen
	d.confirmTimer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.confirmGen != gen || d.confirmTimer == nil || len(d.history) < 2 {
			return
		}
		d.confirmTimer = nil
		back := d.history[1].config.clone(nil)
		d.history = append([]commit{{config: back, user: "root", at: time.Now(), log: "automatic rollback of an unconfirmed commit"}}, d.history...)
		if len(d.history) > maxRollback {
			d.history = d.history[:maxRollback]
		}
		d.candidate = back.clone(nil)
	})
}

// confirmed stops a pending rollback: the commit is confirmed.
func (d *Device) confirmed() {
	if d.confirmTimer != nil {
		d.confirmTimer.Stop()
		d.confirmTimer = nil
		d.confirmGen++
	}
}

func (s *session) filePut(op *elem) answer {
	d := s.d
	if d.faults.DropFilePut {
		return answer{drop: true}
	}
	name, enc := op.value("filename"), op.value("encoding")
	if enc != "base64" || !strings.HasPrefix(name, "/var/tmp/") {
		return fail("application", "invalid-value", "file-put: give a filename under /var/tmp and base64 contents", "filename")
	}
	fc := op.child("file-contents")
	if fc == nil {
		return fail("protocol", "missing-element", "file-put: no file-contents", "file-contents")
	}
	b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(fc.Text), ""))
	if err != nil {
		return fail("application", "invalid-value", "file-put: contents are not base64", "file-contents")
	}
	d.files[name] = b
	return ok("<ok/>")
}
