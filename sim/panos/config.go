package panos

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// The configuration calls work on the XML the device would hold: the
// modelled subtrees (shared certificates, shared SSL/TLS service profiles,
// the management interface's profile) are rendered as a tree, the call's
// xpath is resolved in it, and set (merge), edit (replace the node) and
// delete act on that tree before it is read back and checked the way the
// device checks it (schema, references). Any other part of the
// configuration is refused by name: answering "not found" there would
// claim the device lacks something it has.

func (d *Device) config(w http.ResponseWriter, user, action, xpath, element string) {
	steps, err := parseXPath(xpath)
	if err != nil {
		fail(w, "6", "Bad xpath: "+err.Error())
		return
	}
	area, ok := areaOf(steps)
	if !ok {
		fail(w, "6", fmt.Sprintf("Bad xpath: %s is outside what this simulator models (%s, %s, %s/ssl-tls-service-profile, %s)",
			xpath, stepsString(certsSteps), stepsString(profileSteps), stepsString(systemSteps), stepsString(gpSteps)))
		return
	}
	switch action {
	case "get":
		d.configGet(w, d.candidate, steps, false)
	case "show":
		d.configGet(w, d.running, steps, true)
	case "set", "edit":
		if element == "" {
			fail(w, "18", "Malformed Request: "+action+" needs the element parameter")
			return
		}
		if area == "certificate" {
			fail(w, "12", "certificate entries are made by type=import and by op request certificate generate; "+
				"writing "+stepsString(certsSteps)+" with action="+action+" is not simulated")
			return
		}
		d.configWrite(w, user, action, steps, element)
	case "delete":
		d.configDelete(w, user, area, steps)
	case "":
		fail(w, "18", "Malformed Request: config needs the action parameter")
	default:
		fail(w, "18", fmt.Sprintf("Malformed Request: action %q is not simulated (get, show, set, edit, delete are)", action))
	}
}

func stepsString(s []step) string {
	var b strings.Builder
	for _, x := range s {
		b.WriteString("/" + x.String())
	}
	return b.String()
}

// areaOf says which modelled subtree an xpath is in.
func areaOf(steps []step) (string, bool) {
	if _, ok := under(steps, certsSteps); ok {
		return "certificate", true
	}
	if _, ok := under(steps, profileSteps); ok {
		return "profile", true
	}
	if _, ok := under(steps, gpSteps); ok {
		return "globalprotect", true
	}
	if rest, ok := under(steps, systemSteps); ok {
		// The system node itself may be written (its ssl-tls-service-profile
		// child is all that is modelled); reading it whole would show
		// only part of it.
		if len(rest) == 0 || rest[0].name == "ssl-tls-service-profile" {
			return "system", true
		}
	}
	return "", false
}

// tree renders the modelled parts of cfg as the device's XML.
func (c *config) tree() *node {
	shared := el("shared", "")
	if len(c.certs) > 0 {
		certs := el("certificate", "")
		for _, n := range sortedKeys(c.certs) {
			e, err := parseXML(certXML(c.certs[n]))
			if err == nil {
				certs.children = append(certs.children, e)
			}
		}
		shared.children = append(shared.children, certs)
	}
	if len(c.profiles) > 0 {
		profiles := el("ssl-tls-service-profile", "")
		for _, n := range sortedKeys(c.profiles) {
			profiles.children = append(profiles.children, profileNode(n, c.profiles[n]))
		}
		shared.children = append(shared.children, profiles)
	}
	system := el("system", "")
	if c.mgmt != "" {
		system.children = append(system.children, el("ssl-tls-service-profile", c.mgmt))
	}
	device := entryNode("localhost.localdomain", el("deviceconfig", "", system))
	if vsys := c.gpTree(); vsys != nil {
		device.children = append(device.children, vsys)
	}
	return el("config", "", shared, el("devices", "", device))
}

func profileNode(name string, p *profile) *node {
	e := entryNode(name)
	ps := el("protocol-settings", "")
	if p.min != "" {
		ps.children = append(ps.children, el("min-version", p.min))
	}
	if p.max != "" {
		ps.children = append(ps.children, el("max-version", p.max))
	}
	if len(ps.children) > 0 {
		e.children = append(e.children, ps)
	}
	if p.cert != "" {
		e.children = append(e.children, el("certificate", p.cert))
	}
	return e
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// find resolves steps (after /config) in the tree; nil if absent.
func find(root *node, steps []step) *node {
	n := root
	for _, s := range steps[1:] {
		n = stepChild(n, s)
		if n == nil {
			return nil
		}
	}
	return n
}

func stepChild(n *node, s step) *node {
	for _, c := range n.children {
		if c.name == s.name && (!s.keyed || c.attr("name") == s.key) {
			return c
		}
	}
	return nil
}

// ensure resolves steps, making the missing nodes, as set does.
func ensure(root *node, steps []step) *node {
	n := root
	for _, s := range steps[1:] {
		c := stepChild(n, s)
		if c == nil {
			if s.keyed {
				c = entryNode(s.key)
				c.name = s.name
			} else {
				c = el(s.name, "")
			}
			n.children = append(n.children, c)
		}
		n = c
	}
	return n
}

func unkeyedEntry(steps []step) bool {
	return slices.ContainsFunc(steps, func(s step) bool { return s.name == "entry" && !s.keyed })
}

func (d *Device) configGet(w http.ResponseWriter, cfg *config, steps []step, show bool) {
	root := cfg.tree()
	absent := func() {
		if show {
			fail(w, "7", "No such node")
			return
		}
		reply(w, "success", "7", "<result/>")
	}
	found := func(inner string, count int) {
		if show {
			reply(w, "success", "", "<result>"+inner+"</result>")
			return
		}
		reply(w, "success", "19", fmt.Sprintf(`<result total-count="%d" count="%d">%s</result>`, count, count, inner))
	}
	if last := steps[len(steps)-1]; last.name == "@name" {
		list := steps[:len(steps)-1]
		if len(list) < 2 || list[len(list)-1].name != "entry" || list[len(list)-1].keyed || unkeyedEntry(list[:len(list)-1]) {
			fail(w, "6", "Bad xpath: @name selects the names of a list's entries (…/entry/@name)")
			return
		}
		parent := find(root, list[:len(list)-1])
		var b strings.Builder
		n := 0
		if parent != nil {
			for _, c := range parent.children {
				if c.name == "entry" {
					fmt.Fprintf(&b, `<entry name="%s"/>`, esc(c.attr("name")))
					n++
				}
			}
		}
		if n == 0 {
			absent()
			return
		}
		found(b.String(), n)
		return
	}
	if unkeyedEntry(steps) {
		fail(w, "6", "Bad xpath: select entries by name (entry[@name='…']) or list their names (entry/@name)")
		return
	}
	n := find(root, steps)
	if n == nil {
		absent()
		return
	}
	found(n.String(), 1)
}

// configWrite does set (merge the element's children into the node at
// xpath, making it if needed) and edit (replace the node at xpath with
// the element, which must be that node itself: <entry name="x"> for
// …/entry[@name='x']).
func (d *Device) configWrite(w http.ResponseWriter, user, action string, steps []step, element string) {
	if unkeyedEntry(steps) || steps[len(steps)-1].name == "@name" {
		fail(w, "6", "Bad xpath: "+action+" needs the node it writes selected by name (entry[@name='…'])")
		return
	}
	elems, err := parseFragment(element)
	if err != nil {
		fail(w, "12", "Invalid object: element is not well-formed XML: "+err.Error())
		return
	}
	root := d.candidate.tree()
	last := steps[len(steps)-1]
	if action == "edit" {
		if len(elems) != 1 || elems[0].name != last.name || (last.keyed && elems[0].attr("name") != last.key) {
			want := "<" + last.name + ">"
			if last.keyed {
				want = fmt.Sprintf(`<%s name="%s">`, last.name, last.key)
			}
			fail(w, "12", fmt.Sprintf("Invalid object: edit replaces the node at the xpath, so the element must be that node, one %s", want))
			return
		}
		parent := ensure(root, steps[:len(steps)-1])
		if old := stepChild(parent, last); old != nil {
			parent.remove(old)
		}
		parent.children = append(parent.children, elems[0].clone())
	} else {
		target := ensure(root, steps)
		for _, e := range elems {
			merge(target, e)
		}
	}
	d.store(w, user, root, touchedObjects(deltaTree(steps, elems, action == "edit"))...)
}

func merge(dst, src *node) {
	var match *node
	if src.name == "entry" {
		match = dst.entry(src.attr("name"))
	} else {
		match = dst.child(src.name)
	}
	if match == nil {
		dst.children = append(dst.children, src.clone())
		return
	}
	if len(src.children) == 0 {
		match.text, match.children = src.text, nil
		return
	}
	for _, c := range src.children {
		merge(match, c)
	}
}

// store reads the profiles and the management binding back from the
// changed tree and, if the device would accept them, makes them the
// candidate configuration.
func (d *Device) store(w http.ResponseWriter, user string, root *node, touched ...objectKey) {
	profiles, mgmt, err := readProfiles(root)
	if err != nil {
		fail(w, "12", err.Error())
		return
	}
	for _, name := range sortedKeys(profiles) {
		if c := profiles[name].cert; c != "" && d.candidate.certs[c] == nil {
			fail(w, "12", fmt.Sprintf("ssl-tls-service-profile -> %s -> certificate '%s' is not a valid reference", name, c))
			return
		}
	}
	if mgmt != "" && profiles[mgmt] == nil {
		fail(w, "12", fmt.Sprintf("system -> ssl-tls-service-profile '%s' is not a valid reference", mgmt))
		return
	}
	gp, err := readGP(root)
	if err == nil {
		err = checkGP(gp, profiles)
	}
	if err != nil {
		fail(w, "12", err.Error())
		return
	}
	d.candidate.profiles, d.candidate.mgmt, d.candidate.gp = profiles, mgmt, gp
	d.changed(user, touched...)
	reply(w, "success", "20", "<msg>command succeeded</msg>")
}

var tlsVersions = []string{"tls1-0", "tls1-1", "tls1-2", "tls1-3"}

func readProfiles(root *node) (map[string]*profile, string, error) {
	profiles := map[string]*profile{}
	if list := find(root, profileSteps); list != nil {
		for _, e := range list.children {
			name := e.attr("name")
			if e.name != "entry" || name == "" {
				return nil, "", fmt.Errorf("ssl-tls-service-profile -> %s unexpected here (entries are <entry name=\"…\">)", e.name)
			}
			if dup := profiles[name]; dup != nil {
				return nil, "", fmt.Errorf("ssl-tls-service-profile -> %s is not unique", name)
			}
			p := &profile{}
			for _, c := range e.children {
				switch c.name {
				case "certificate":
					if len(c.children) > 0 {
						return nil, "", fmt.Errorf("ssl-tls-service-profile -> %s -> certificate takes a name, not elements", name)
					}
					p.cert = c.value()
				case "protocol-settings":
					for _, v := range c.children {
						allowed := tlsVersions
						if v.name == "max-version" {
							allowed = append(slices.Clone(tlsVersions), "max")
						} else if v.name != "min-version" {
							return nil, "", fmt.Errorf("ssl-tls-service-profile -> %s -> protocol-settings -> %s is not simulated (min-version and max-version are)", name, v.name)
						}
						if !slices.Contains(allowed, v.value()) {
							return nil, "", fmt.Errorf("ssl-tls-service-profile -> %s -> protocol-settings -> %s '%s' is not a valid value", name, v.name, v.value())
						}
						if v.name == "min-version" {
							p.min = v.value()
						} else {
							p.max = v.value()
						}
					}
				default:
					return nil, "", fmt.Errorf("ssl-tls-service-profile -> %s -> %s is not simulated (certificate and protocol-settings are)", name, c.name)
				}
			}
			if p.min != "" && p.max != "" && p.max != "max" && slices.Index(tlsVersions, p.max) < slices.Index(tlsVersions, p.min) {
				return nil, "", fmt.Errorf("ssl-tls-service-profile -> %s -> protocol-settings: max-version %s is below min-version %s", name, p.max, p.min)
			}
			profiles[name] = p
		}
	}
	mgmt := ""
	if sys := find(root, systemSteps); sys != nil {
		for _, c := range sys.children {
			if c.name != "ssl-tls-service-profile" {
				return nil, "", fmt.Errorf("deviceconfig -> system -> %s is not simulated (ssl-tls-service-profile is)", c.name)
			}
			if len(c.children) > 0 {
				return nil, "", fmt.Errorf("deviceconfig -> system -> ssl-tls-service-profile takes a name, not elements")
			}
			mgmt = c.value()
		}
	}
	return profiles, mgmt, nil
}

func (d *Device) configDelete(w http.ResponseWriter, user, area string, steps []step) {
	if unkeyedEntry(steps) || steps[len(steps)-1].name == "@name" {
		fail(w, "6", "Bad xpath: delete needs the node it removes selected by name (entry[@name='…'])")
		return
	}
	gone := func() { reply(w, "success", "7", "<msg>Object doesn't exist</msg>") }
	if area == "certificate" {
		rest, _ := under(steps, certsSteps)
		if len(rest) != 1 {
			fail(w, "12", "deleting parts of certificate entries, or all of them at once, is not simulated; delete one "+stepsString(certsSteps)+"/entry[@name='…']")
			return
		}
		name := rest[0].key
		if d.candidate.certs[name] == nil {
			gone()
			return
		}
		for _, pn := range sortedKeys(d.candidate.profiles) {
			if d.candidate.profiles[pn].cert == name {
				fail(w, "10", fmt.Sprintf("%s cannot be deleted because of references from:\n ssl-tls-service-profile -> %s -> certificate", name, pn))
				return
			}
		}
		delete(d.candidate.certs, name)
		d.changed(user, objectKey("cert:"+name))
		reply(w, "success", "20", "<msg>command succeeded</msg>")
		return
	}
	root := d.candidate.tree()
	n := find(root, steps)
	if n == nil {
		gone()
		return
	}
	parent := find(root, steps[:len(steps)-1])
	parent.remove(n)
	profiles, mgmt, err := readProfiles(root)
	if err != nil {
		fail(w, "12", err.Error())
		return
	}
	if mgmt != "" && profiles[mgmt] == nil {
		fail(w, "10", fmt.Sprintf("%s cannot be deleted because of references from:\n deviceconfig -> system -> ssl-tls-service-profile", mgmt))
		return
	}
	gp, err := readGP(root)
	if err != nil {
		fail(w, "12", err.Error())
		return
	}
	for _, k := range sortedGP(gp) {
		if p := gp[k]; p != "" && profiles[p] == nil {
			fail(w, "10", fmt.Sprintf("%s cannot be deleted because of references from:\n %s -> ssl-tls-service-profile", p, k))
			return
		}
	}
	d.candidate.profiles, d.candidate.mgmt, d.candidate.gp = profiles, mgmt, gp
	d.changed(user, touchedObjects(deltaTree(steps, nil, false))...)
	reply(w, "success", "20", "<msg>command succeeded</msg>")
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
