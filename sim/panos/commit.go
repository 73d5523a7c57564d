package panos

import (
	"fmt"
	"net/http"
	"time"
)

// commit reads the commit command as XML: <commit/>, <commit></commit>,
// with <description>, <force>, and <partial><admin><member>…</member></admin></partial>
// (with or without action=partial: pango sends it without). A partial
// commit commits the objects the named administrators changed and leaves
// the other administrators' changes uncommitted (changes.go).
func (d *Device) commit(w http.ResponseWriter, user, action, cmd string) {
	var admins []string
	if cmd == "" {
		fail(w, "18", "Malformed Request: commit needs the cmd parameter")
		return
	}
	root, err := parseXML(cmd)
	if err != nil {
		fail(w, "18", "Malformed command: "+err.Error())
		return
	}
	if root.name != "commit" {
		fail(w, "17", fmt.Sprintf("%s is unexpected (type=commit takes <commit>)", root.name))
		return
	}
	if action != "" && action != "partial" {
		fail(w, "18", fmt.Sprintf("Malformed Request: commit action %q is not simulated (partial is)", action))
		return
	}
	force := false
	var partial *node
	for _, c := range root.children {
		switch c.name {
		case "description":
		case "partial":
			partial = c
		case "force":
			force = true
			for _, f := range c.children {
				if f.name != "partial" {
					fail(w, "17", "commit -> force -> "+f.name+" is unexpected")
					return
				}
				partial = f
			}
		default:
			fail(w, "17", "commit -> "+c.name+" is unexpected")
			return
		}
	}
	if action == "partial" && partial == nil {
		fail(w, "18", "Malformed command: action=partial needs <partial> in the commit")
		return
	}
	if partial != nil {
		for _, c := range partial.children {
			if c.name != "admin" {
				fail(w, "17", "commit -> partial -> "+c.name+": partial commits that exclude parts of the configuration are not simulated")
				return
			}
			for _, m := range c.children {
				if m.name == "member" {
					admins = append(admins, m.value())
				}
			}
		}
		if len(admins) == 0 {
			fail(w, "17", "commit -> partial: a partial commit without <admin><member> is not simulated")
			return
		}
	}
	next, keys := d.candidate.clone(), []objectKey(nil)
	if partial != nil {
		next, keys = d.partialConfig(admins)
	} else {
		for k := range d.changedBy {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 && !force {
		reply(w, "success", "19", "<msg>There are no changes to commit.</msg>")
		return
	}
	j := &job{id: d.nextJob, user: user, status: "ACT", result: "PEND", enqueued: time.Now(), progressSteps: d.faults.CommitPolls}
	d.nextJob++
	if d.faults.CommitFail != "" {
		j.failed, j.details = true, []string{"Validation Error:", d.faults.CommitFail, "Commit failed"}
	} else if problem := validate(next); problem != "" {
		j.failed, j.details = true, []string{"Validation Error:", problem, "Commit failed"}
	} else {
		// Committed changes are no one's any more; the other
		// administrators' stay in the candidate, theirs to commit.
		j.commitOnDone, d.committed = next, next.clone()
		for _, k := range keys {
			delete(d.changedBy, k)
		}
	}
	d.jobs[j.id] = j
	reply(w, "success", "19", fmt.Sprintf("<result><msg><line>Commit job enqueued with jobid %d</line></msg><job>%d</job></result>", j.id, j.id))
}

// validate is the commit's check of the configuration it would make
// running: profiles must name certificates that have both a key and a
// certificate, and GlobalProtect must name profiles that exist.
func validate(cfg *config) string {
	if err := checkGP(cfg.gp, cfg.profiles); err != nil {
		return err.Error()
	}
	for _, pn := range sortedKeys(cfg.profiles) {
		p := cfg.profiles[pn]
		c := cfg.certs[p.cert]
		switch {
		case p.cert == "":
			return fmt.Sprintf("ssl-tls-service-profile -> %s 'certificate' is missing", pn)
		case c == nil:
			return fmt.Sprintf("ssl-tls-service-profile -> %s -> certificate '%s' is not a valid reference", pn, p.cert)
		case c.key == nil:
			return fmt.Sprintf("ssl-tls-service-profile -> %s -> certificate '%s' has no private key", pn, p.cert)
		case len(c.Chain) == 0:
			return fmt.Sprintf("ssl-tls-service-profile -> %s -> certificate '%s' has no certificate (only a request)", pn, p.cert)
		}
	}
	return ""
}
