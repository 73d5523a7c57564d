package panos

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

func entryName(xpath, prefix string) (string, string, bool) {
	if !strings.HasPrefix(xpath, prefix+"/entry[@name='") {
		return "", "", false
	}
	rest := strings.TrimPrefix(xpath, prefix+"/entry[@name='")
	name, tail, ok := strings.Cut(rest, "']")
	return name, tail, ok && name != ""
}

func (d *Device) config(w http.ResponseWriter, action, xpath, element string) {
	cfg := d.candidate
	if action == "show" {
		cfg = d.running
	}
	switch action {
	case "get", "show":
		d.configGet(w, cfg, xpath)
	case "set", "edit":
		d.configSet(w, xpath, element)
	case "delete":
		d.configDelete(w, xpath)
	default:
		fail(w, "18", "Malformed Request")
	}
}

func certXML(c *Cert) string {
	var b strings.Builder
	fmt.Fprintf(&b, `<entry name="%s"><common-name>%s</common-name><algorithm>%s</algorithm><ca>no</ca>`, esc(c.Name), esc(c.CommonName), c.Algorithm)
	if c.CSR != nil {
		fmt.Fprintf(&b, "<csr>%s</csr>", esc(string(pemEncode("CERTIFICATE REQUEST", c.CSR.Raw))))
	}
	if len(c.Chain) > 0 {
		l := c.Chain[0]
		fmt.Fprintf(&b, "<public-key>%s</public-key><subject>/CN=%s</subject><issuer>/CN=%s</issuer><expiry-epoch>%d</expiry-epoch>"+
			"<not-valid-after>%s</not-valid-after><not-valid-before>%s</not-valid-before>",
			esc(string(pemEncode("CERTIFICATE", l.Raw))), esc(l.Subject.CommonName), esc(l.Issuer.CommonName), l.NotAfter.Unix(),
			l.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT"), l.NotBefore.UTC().Format("Jan _2 15:04:05 2006 GMT"))
	}
	if c.key != nil {
		b.WriteString("<private-key>-AQ==encrypted==</private-key>")
	}
	b.WriteString("</entry>")
	return b.String()
}

func (d *Device) configGet(w http.ResponseWriter, cfg *config, xpath string) {
	switch {
	case xpath == certsPath:
		names := make([]string, 0, len(cfg.certs))
		for n := range cfg.certs {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, n := range names {
			b.WriteString(certXML(cfg.certs[n]))
		}
		reply(w, "success", "19", fmt.Sprintf(`<result total-count="1" count="1"><certificate>%s</certificate></result>`, b.String()))
	case strings.HasPrefix(xpath, certsPath+"/entry"):
		name, tail, ok := entryName(xpath, certsPath)
		c := cfg.certs[name]
		if !ok || tail != "" || c == nil {
			reply(w, "success", "7", "<result/>")
			return
		}
		reply(w, "success", "19", `<result total-count="1" count="1">`+certXML(c)+"</result>")
	case strings.HasPrefix(xpath, profilePath+"/entry"):
		name, _, ok := entryName(xpath, profilePath)
		p := cfg.profiles[name]
		if !ok || p == nil {
			reply(w, "success", "7", "<result/>")
			return
		}
		reply(w, "success", "19", fmt.Sprintf(`<result total-count="1" count="1"><entry name="%s"><protocol-settings><min-version>%s</min-version><max-version>%s</max-version></protocol-settings><certificate>%s</certificate></entry></result>`,
			esc(name), p.min, p.max, esc(p.cert)))
	case xpath == systemPath+"/ssl-tls-service-profile":
		if cfg.mgmt == "" {
			reply(w, "success", "7", "<result/>")
			return
		}
		reply(w, "success", "19", `<result total-count="1" count="1"><ssl-tls-service-profile>`+esc(cfg.mgmt)+"</ssl-tls-service-profile></result>")
	default:
		fail(w, "6", "Bad xpath")
	}
}

// profileElement is what set/edit of a profile carries.
type profileElement struct {
	Certificate string `xml:"certificate"`
	Min         string `xml:"protocol-settings>min-version"`
	Max         string `xml:"protocol-settings>max-version"`
}

func (d *Device) configSet(w http.ResponseWriter, xpath, element string) {
	ok := func() {
		d.dirty = true
		reply(w, "success", "20", "<msg>command succeeded</msg>")
	}
	switch {
	case strings.HasPrefix(xpath, profilePath+"/entry"):
		name, tail, valid := entryName(xpath, profilePath)
		if !valid {
			fail(w, "6", "Bad xpath")
			return
		}
		var e profileElement
		if err := xml.Unmarshal([]byte("<e>"+element+"</e>"), &e); err != nil {
			fail(w, "12", "Malformed element")
			return
		}
		if tail == "/certificate" { // edit of the certificate node itself
			if err := xml.Unmarshal([]byte("<e>"+element+"</e>"), &e); err != nil || e.Certificate == "" {
				fail(w, "12", "Malformed element")
				return
			}
		} else if tail != "" {
			fail(w, "6", "Bad xpath")
			return
		}
		if e.Certificate != "" && d.candidate.certs[e.Certificate] == nil {
			fail(w, "12", fmt.Sprintf("ssl-tls-service-profile -> %s -> certificate '%s' is not a valid reference", name, e.Certificate))
			return
		}
		p := d.candidate.profiles[name]
		if p == nil {
			p = &profile{min: "tls1-0", max: "max"}
			d.candidate.profiles[name] = p
		}
		if e.Certificate != "" {
			p.cert = e.Certificate
		}
		if e.Min != "" {
			p.min = e.Min
		}
		if e.Max != "" {
			p.max = e.Max
		}
		ok()
	case xpath == systemPath || xpath == systemPath+"/ssl-tls-service-profile":
		var e struct {
			Profile string `xml:"ssl-tls-service-profile"`
		}
		if err := xml.Unmarshal([]byte("<e>"+element+"</e>"), &e); err != nil || e.Profile == "" {
			fail(w, "12", "Malformed element")
			return
		}
		if d.candidate.profiles[e.Profile] == nil {
			fail(w, "12", fmt.Sprintf("system -> ssl-tls-service-profile '%s' is not a valid reference", e.Profile))
			return
		}
		d.candidate.mgmt = e.Profile
		ok()
	default:
		fail(w, "6", "Bad xpath")
	}
}

func (d *Device) configDelete(w http.ResponseWriter, xpath string) {
	if xpath == systemPath+"/ssl-tls-service-profile" {
		if d.candidate.mgmt == "" {
			reply(w, "success", "7", "<msg>Object doesn't exist</msg>")
			return
		}
		d.candidate.mgmt = ""
		d.dirty = true
		reply(w, "success", "20", "<msg>command succeeded</msg>")
		return
	}
	name, tail, ok := entryName(xpath, certsPath)
	if !ok || tail != "" {
		fail(w, "6", "Bad xpath")
		return
	}
	if d.candidate.certs[name] == nil {
		reply(w, "success", "7", "<msg>Object doesn't exist</msg>")
		return
	}
	for pn, p := range d.candidate.profiles {
		if p.cert == name {
			fail(w, "10", fmt.Sprintf("%s cannot be deleted because of references from:\n ssl-tls-service-profile -> %s -> certificate", name, pn))
			return
		}
	}
	delete(d.candidate.certs, name)
	d.dirty = true
	reply(w, "success", "20", "<msg>command succeeded</msg>")
}

func (d *Device) commit(w http.ResponseWriter, user, cmd string) {
	if !strings.HasPrefix(cmd, "<commit>") {
		fail(w, "18", "Malformed command")
		return
	}
	if !d.dirty {
		reply(w, "success", "19", "<msg>There are no changes to commit.</msg>")
		return
	}
	j := &job{id: d.nextJob, user: user, status: "ACT", result: "PEND", enqueued: time.Now(), progressSteps: d.faults.CommitPolls}
	d.nextJob++
	if d.faults.CommitFail != "" {
		j.failed, j.details = true, []string{"Validation Error:", d.faults.CommitFail, "Commit failed"}
	} else if problem := d.validate(); problem != "" {
		j.failed, j.details = true, []string{"Validation Error:", problem, "Commit failed"}
	} else {
		j.commitOnDone = d.candidate.clone()
		d.dirty = false
	}
	d.jobs[j.id] = j
	reply(w, "success", "19", fmt.Sprintf("<result><msg><line>Commit job enqueued with jobid %d</line></msg><job>%d</job></result>", j.id, j.id))
}

// validate is the commit's check: profiles must name certificates that
// have both a key and a certificate.
func (d *Device) validate() string {
	for pn, p := range d.candidate.profiles {
		c := d.candidate.certs[p.cert]
		switch {
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
