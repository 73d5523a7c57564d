package fortigate

import (
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// cmdb answers /api/v2/cmdb/<path>/<name>[/<mkey>] for the three tables
// certificate rotation touches; any other is 404.
func (d *Device) cmdb(c *call) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if c.r.Method != http.MethodGet {
		c.rev = d.rev()
	}
	if a := c.q.Get("action"); a != "" && a != "select" {
		c.refuse(http.StatusBadRequest, "the simulator does not model action=%s", a)
		return
	}
	// {"json": {...}} carries the object when its attributes clash with
	// the API's reserved parameter names.
	if inner, ok := c.body["json"].(map[string]any); ok && len(c.body) == 1 {
		c.body = inner
	}
	switch c.path + "/" + c.name {
	case "vpn.certificate/local":
		d.localTable(c)
	case "system/global":
		d.singleton(c, d.globalJSON, map[string]*string{"admin-server-cert": &d.admin}, []string{"hostname", "admin-sport"})
	case "vpn.ssl/settings":
		d.singleton(c, d.sslJSON, map[string]*string{"servercert": &d.vpn}, []string{"port"})
	default:
		c.fail(http.StatusNotFound, 0, "")
	}
}

func (d *Device) globalJSON() map[string]any {
	_, port, _ := strings.Cut(d.Addr, ":")
	p, _ := strconv.Atoi(port)
	return map[string]any{"hostname": Hostname, "admin-server-cert": d.admin, "admin-sport": p}
}

func (d *Device) sslJSON() map[string]any {
	_, port, _ := strings.Cut(d.VPNAddr, ":")
	p, _ := strconv.Atoi(port)
	return map[string]any{"servercert": d.vpn, "port": p}
}

// singleton answers a table of one object (system global, vpn.ssl
// settings): GET returns it, PUT changes the certificate attributes
// certs names; readOnly attributes may be sent only with their current
// value. POST and DELETE are not allowed on such a table (405).
func (d *Device) singleton(c *call, view func() map[string]any, certs map[string]*string, readOnly []string) {
	if c.rest != "" {
		c.fail(http.StatusNotFound, -3, "")
		return
	}
	switch c.r.Method {
	case http.MethodGet:
		if !c.params("format", "datasource", "with_meta", "skip") || !c.noMeta() {
			return
		}
		e := c.base(http.StatusOK)
		e.Revision, e.Results = d.rev(), formatted(view(), c.q.Get("format"))
		c.reply(e)
	case http.MethodPut:
		if !c.params() {
			return
		}
		cur := view()
		changes := map[string]string{}
		for k, v := range c.body {
			if _, ok := certs[k]; ok {
				s, ok := v.(string)
				if !ok {
					c.refuse(http.StatusFailedDependency, "%s: want a certificate name", k)
					return
				}
				ref := d.find(s)
				if ref == nil {
					c.fail(http.StatusInternalServerError, -651, cliFail(-651, "node_check_object fail! for "+k+" "+s, "", "value parse error before '"+s+"'"))
					return
				}
				if ref.chain == nil {
					c.fail(http.StatusInternalServerError, -651, cliFail(-651, "node_check_object fail! for "+k+" "+s,
						"certificate "+s+" is a request waiting for its certificate"))
					return
				}
				changes[k] = s
				continue
			}
			if slices.Contains(readOnly, k) && fmt.Sprint(v) == fmt.Sprint(cur[k]) {
				continue
			}
			c.refuse(http.StatusBadRequest, "the simulator does not model changing %s of %s %s", k, c.path, c.name)
			return
		}
		old := d.rev()
		changed := false
		for k, s := range changes {
			if *certs[k] == s {
				continue
			}
			changed = true
			if k == "admin-server-cert" {
				d.setAdmin(s)
			} else {
				*certs[k] = s
			}
		}
		d.written(c, changed, old, "")
	default:
		c.fail(http.StatusMethodNotAllowed, 0, "")
	}
}

// written answers a successful change, with the revision before and after.
func (d *Device) written(c *call, changed bool, old, mkey string) {
	if changed {
		d.revision++
	}
	e := c.base(http.StatusOK)
	e.Revision, e.OldRevision, e.RevisionChanged, e.Mkey = d.rev(), old, &changed, mkey
	c.reply(e)
}

// noMeta refuses the flags that would add meta information the simulator
// does not produce.
func (c *call) noMeta() bool {
	for _, k := range []string{"datasource", "with_meta", "skip"} {
		if v := c.q.Get(k); v != "" && v != "0" && v != "false" {
			c.refuse(http.StatusBadRequest, "the simulator does not model %s=%s", k, v)
			return false
		}
	}
	return true
}

// localJSON is an entry as the CMDB returns it. The private key is never
// returned: FortiOS answers it encrypted with its own key, the simulator
// leaves it empty.
func localJSON(e *entry) map[string]any {
	var csr, cert string
	if e.csr != nil {
		csr = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: e.csr.Raw}))
	}
	if e.chain != nil {
		cert = string(ottr.EncodeChain(e.chain))
	}
	return map[string]any{"name": e.name, "q_origin_key": e.name, "password": "", "comments": e.comments,
		"private-key": "", "certificate": cert, "csr": csr, "range": e.rng, "source": e.source,
		"last-updated": e.updated.Unix()}
}

// localTable answers the vpn.certificate local table.
func (d *Device) localTable(c *call) {
	switch {
	case c.r.Method == http.MethodGet && c.rest == "":
		if !c.params("format", "filter", "scope", "datasource", "with_meta", "skip") || !c.noMeta() {
			return
		}
		filters, err := parseFilters(c.q["filter"])
		if err != nil {
			c.refuse(http.StatusBadRequest, "filter: %v", err)
			return
		}
		var list []any
		for _, e := range d.certs {
			if !inScope(e, c.q.Get("scope")) {
				continue
			}
			obj := localJSON(e)
			if filters.match(obj) {
				list = append(list, formatted(obj, c.q.Get("format")))
			}
		}
		if list == nil {
			list = []any{}
		}
		n, next := len(list), len(list)-1
		e := c.base(http.StatusOK)
		e.Size, e.MatchedCount, e.NextIdx, e.Revision, e.Results = &n, &n, &next, d.rev(), list
		c.reply(e)
	case c.r.Method == http.MethodGet:
		if !c.params("format", "datasource", "with_meta", "skip") || !c.noMeta() {
			return
		}
		ent := d.find(c.rest)
		if ent == nil {
			e := c.base(http.StatusNotFound)
			e.Error, e.Mkey = -3, c.rest
			c.reply(e)
			return
		}
		e := c.base(http.StatusOK)
		e.Revision, e.Results = d.rev(), []any{formatted(localJSON(ent), c.q.Get("format"))}
		c.reply(e)
	case c.r.Method == http.MethodPost && c.rest == "":
		if c.params() {
			d.createLocal(c)
		}
	case c.r.Method == http.MethodPut && c.rest != "":
		if c.params() {
			d.editLocal(c)
		}
	case c.r.Method == http.MethodDelete && c.rest != "":
		if c.params() {
			d.deleteLocal(c)
		}
	default:
		c.fail(http.StatusMethodNotAllowed, 0, "")
	}
}

func inScope(e *entry, scope string) bool {
	switch scope {
	case "global":
		return e.rng == "global"
	case "vdom":
		return e.rng == "vdom"
	}
	return true
}

// writable are the vpn.certificate local attributes a PUT or POST may set.
var writable = []string{"name", "comments", "certificate", "private-key", "password", "range"}

// pair checks the certificate and private-key attributes of a body:
// both or neither, PEM, matching.
func (c *call) pair() (crypto.Signer, []*x509.Certificate, bool) {
	certPEM, ok1 := c.str("certificate")
	keyPEM, ok2 := c.str("private-key")
	pass, ok3 := c.str("password")
	if !ok1 || !ok2 || !ok3 {
		return nil, nil, false
	}
	if pass != "" {
		c.refuse(http.StatusBadRequest, "password: the simulator does not model encrypted private keys")
		return nil, nil, false
	}
	if certPEM == "" && keyPEM == "" {
		return nil, nil, true
	}
	if certPEM == "" || keyPEM == "" {
		missing := "certificate"
		if keyPEM == "" {
			missing = "private-key"
		}
		c.fail(http.StatusInternalServerError, -651, cliFail(-651, "Attribute '"+missing+"' MUST be set."))
		return nil, nil, false
	}
	chain, err := parseChain([]byte(certPEM))
	if err != nil {
		c.fail(http.StatusInternalServerError, -651, cliFail(-651, "Input is not a valid certificate."))
		return nil, nil, false
	}
	key, err := parseKey([]byte(keyPEM))
	if err != nil {
		c.fail(http.StatusInternalServerError, -651, cliFail(-651, "Input is not a valid private key."))
		return nil, nil, false
	}
	if !ottr.SamePublicKey(key.Public(), chain[0].PublicKey) {
		c.fail(http.StatusInternalServerError, -651, cliFail(-651, "The private key does not match the certificate."))
		return nil, nil, false
	}
	return key, chain, true
}

func (c *call) onlyWritable() bool {
	for k := range c.body {
		if !slices.Contains(writable, k) {
			c.refuse(http.StatusBadRequest, "the simulator does not model setting %s of vpn.certificate local", k)
			return false
		}
	}
	return true
}

// createLocal is POST: a new entry from a PEM certificate and its key.
func (d *Device) createLocal(c *call) {
	if !c.onlyWritable() {
		return
	}
	name, ok := c.str("name")
	if !ok {
		return
	}
	if name == "" {
		c.fail(http.StatusInternalServerError, -651, cliFail(-651, "Attribute 'name' MUST be set."))
		return
	}
	if d.find(name) != nil {
		c.fail(http.StatusInternalServerError, -5, cliFail(-5, "A duplicate entry already exists."))
		return
	}
	rng, ok := c.str("range")
	if !ok {
		return
	}
	if rng == "" {
		rng = "global"
	}
	if rng != "global" && rng != "vdom" {
		c.fail(http.StatusInternalServerError, -651, cliFail(-651, "range: want global or vdom"))
		return
	}
	key, chain, ok := c.pair()
	if !ok {
		return
	}
	if key == nil {
		c.fail(http.StatusInternalServerError, -651, cliFail(-651, "Attribute 'certificate' MUST be set."))
		return
	}
	comments, ok := c.str("comments")
	if !ok {
		return
	}
	old := d.rev()
	d.certs = append(d.certs, &entry{name: name, source: "user", rng: rng, comments: comments, key: key, chain: chain, updated: time.Now()})
	d.written(c, true, old, name)
}

// editLocal is PUT on an entry: its comments, or a new certificate with
// its key.
func (d *Device) editLocal(c *call) {
	e := d.find(c.rest)
	if e == nil {
		env := c.base(http.StatusNotFound)
		env.Error, env.Mkey = -3, c.rest
		c.reply(env)
		return
	}
	if !c.onlyWritable() {
		return
	}
	if n, ok := c.str("name"); !ok || (n != "" && n != e.name) {
		if ok {
			c.refuse(http.StatusBadRequest, "the simulator does not model renaming a certificate")
		}
		return
	}
	if r, ok := c.str("range"); !ok || (r != "" && r != e.rng) {
		if ok {
			c.refuse(http.StatusBadRequest, "the simulator does not model changing a certificate's range")
		}
		return
	}
	_, newCert := c.body["certificate"]
	if _, newKey := c.body["private-key"]; e.source == "factory" && (newCert || newKey) {
		c.fail(http.StatusInternalServerError, -37, cliFail(-37, "Permission denied: "+e.name+" is a factory certificate."))
		return
	}
	key, chain, ok := c.pair()
	if !ok {
		return
	}
	comments, ok := c.str("comments")
	if !ok {
		return
	}
	old := d.rev()
	changed := false
	if _, sent := c.body["comments"]; sent && comments != e.comments {
		e.comments, changed = comments, true
	}
	if key != nil && (e.chain == nil || !e.chain[0].Equal(chain[0])) {
		e.key, e.chain, e.csr, e.updated, changed = key, chain, nil, time.Now(), true
	}
	d.written(c, changed, old, e.name)
}

// deleteLocal is DELETE on an entry, refused while anything uses it and
// for factory certificates.
func (d *Device) deleteLocal(c *call) {
	e := d.find(c.rest)
	if e == nil {
		env := c.base(http.StatusNotFound)
		env.Error, env.Mkey = -3, c.rest
		c.reply(env)
		return
	}
	if users := d.users(e.name); len(users) > 0 {
		env := c.base(http.StatusInternalServerError)
		env.Error, env.Mkey = -23, e.name
		env.CLIError = cliFail(-23, fmt.Sprintf("The entry is used by other %d entries", len(users)))
		c.reply(env)
		return
	}
	if e.source == "factory" {
		c.fail(http.StatusInternalServerError, -37, cliFail(-37, "Permission denied: "+e.name+" is a factory certificate."))
		return
	}
	old := d.rev()
	d.certs = slices.DeleteFunc(d.certs, func(x *entry) bool { return x == e })
	d.written(c, true, old, e.name)
}

// formatted keeps only the attributes format names ("name|source").
func formatted(obj map[string]any, format string) map[string]any {
	if format == "" {
		return obj
	}
	out := map[string]any{}
	for _, k := range strings.Split(format, "|") {
		if v, ok := obj[k]; ok {
			out[k] = v
		}
	}
	return out
}
