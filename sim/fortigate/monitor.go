package fortigate

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the fingerprint FortiOS shows
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// monitor answers /api/v2/monitor/<path>/<name>[/<action>] for the
// operations certificate rotation uses; any other is 404. GET endpoints
// also answer under their FortiOS 6.x name ending in /select.
func (d *Device) monitor(c *call) {
	d.mu.Lock()
	defer d.mu.Unlock()
	op := c.path + "/" + c.name
	if c.rest != "" {
		op += "/" + c.rest
	}
	type endpoint struct {
		method string
		serve  func(*call)
	}
	endpoints := map[string]endpoint{
		"system/status":                        {http.MethodGet, d.status},
		"system/status/select":                 {http.MethodGet, d.status},
		"system/available-certificates":        {http.MethodGet, d.available},
		"system/available-certificates/select": {http.MethodGet, d.available},
		"system/certificate/download":          {http.MethodGet, d.download},
		"vpn-certificate/csr/generate":         {http.MethodPost, d.csrGenerate},
		"vpn-certificate/local/import":         {http.MethodPost, d.importLocal},
	}
	ep, ok := endpoints[op]
	switch {
	case !ok:
		c.fail(http.StatusNotFound, 0, "")
	case c.r.Method != ep.method:
		c.fail(http.StatusMethodNotAllowed, 0, "")
	default:
		ep.serve(c)
	}
}

// status is system/status: the model, hostname and (in the envelope) the
// serial number and firmware version.
func (d *Device) status(c *call) {
	if !c.params() {
		return
	}
	e := c.base(http.StatusOK)
	e.Action = c.rest
	e.Results = map[string]any{"model_name": "FortiGate", "model_number": "VM64", "model": "FGVM64",
		"hostname": Hostname, "log_disk_status": "available"}
	c.reply(e)
}

// importLocal is POST monitor/vpn-certificate/local/import. Type "local"
// is a certificate for a request the device made: it is stored in the
// entry holding the request's key (certname is not used, as FortiOS's
// reference says). Type "regular" is a certificate with its key in a new
// entry named certname. A certificate some entry already holds is
// refused with -23, as FortiOS refuses a repeated import.
func (d *Device) importLocal(c *call) {
	for k := range c.body {
		if !strings.Contains(" type certname password key_file_content scope file_content ", " "+k+" ") {
			c.refuse(http.StatusFailedDependency, "the simulator does not model the parameter %q (ACME enrollment is not modelled)", k)
			return
		}
	}
	typ, ok1 := c.str("type")
	content, ok2 := c.str("file_content")
	keyContent, ok3 := c.str("key_file_content")
	certname, ok4 := c.str("certname")
	password, ok5 := c.str("password")
	scope, ok6 := c.str("scope")
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return
	}
	rng, ok := rangeOf(c, scope)
	if !ok {
		return
	}
	switch typ {
	case "local", "regular":
	case "":
		c.refuse(http.StatusFailedDependency, "type is required")
		return
	case "pkcs12":
		c.refuse(http.StatusFailedDependency, "type pkcs12: the simulator does not model PKCS #12 imports")
		return
	default:
		c.refuse(http.StatusFailedDependency, "type %q: want local, pkcs12 or regular", typ)
		return
	}
	if password != "" {
		c.refuse(http.StatusFailedDependency, "password: the simulator does not model encrypted keys")
		return
	}
	raw, err := decode64("file_content", content)
	if err != nil {
		c.refuse(http.StatusFailedDependency, "%v", err)
		return
	}
	chain, err := parseChain(raw)
	if err != nil {
		c.fail(http.StatusInternalServerError, -1, "")
		return
	}
	if d.faults.DropImport {
		drop(c.w)
		return
	}
	for _, e := range d.certs {
		if e.chain != nil && e.chain[0].Equal(chain[0]) {
			c.fail(http.StatusInternalServerError, -23, "")
			return
		}
	}
	var target *entry
	switch typ {
	case "local":
		for _, e := range d.certs {
			if e.csr != nil && ottr.SamePublicKey(e.key.Public(), chain[0].PublicKey) {
				target = e
				break
			}
		}
		if target == nil {
			// No request the device made is for this key: nothing to
			// import the certificate into.
			c.fail(http.StatusInternalServerError, -1, "")
			return
		}
		target.chain, target.csr, target.updated = chain, nil, time.Now()
	case "regular":
		if certname == "" {
			c.refuse(http.StatusFailedDependency, "certname is required for type regular")
			return
		}
		if d.find(certname) != nil {
			c.fail(http.StatusInternalServerError, -5, "")
			return
		}
		kb, err := decode64("key_file_content", keyContent)
		if err != nil {
			c.refuse(http.StatusFailedDependency, "%v", err)
			return
		}
		key, err := parseKey(kb)
		if err != nil || !ottr.SamePublicKey(key.Public(), chain[0].PublicKey) {
			c.fail(http.StatusInternalServerError, -1, "")
			return
		}
		target = &entry{name: certname, source: "user", rng: rng, key: key, chain: chain, updated: time.Now()}
		d.certs = append(d.certs, target)
	}
	d.revision++
	if d.faults.DropImportAnswer {
		drop(c.w)
		return
	}
	e := c.base(http.StatusOK)
	e.Action = c.rest
	c.reply(e)
}

// decode64 reads a base64 file_content; FortiOS's reference says it must
// not contain whitespace.
func decode64(field, s string) ([]byte, error) {
	if s == "" {
		return nil, fmt.Errorf("%s is required", field)
	}
	if strings.ContainsAny(s, " \t\r\n") {
		return nil, fmt.Errorf("%s must not contain whitespace", field)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s is not base64", field)
	}
	return b, nil
}

// drop closes the connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// download is GET monitor/system/certificate/download: the certificate
// (type local, or local-cer as FortiOS 7.6 names it) or the pending
// request (type csr) as a file.
func (d *Device) download(c *call) {
	if !c.params("mkey", "type", "scope") {
		return
	}
	e := d.find(c.q.Get("mkey"))
	if e == nil || !inScope(e, c.q.Get("scope")) {
		c.fail(http.StatusNotFound, 0, "")
		return
	}
	var body []byte
	ext := ".cer"
	switch c.q.Get("type") {
	case "local", "local-cer":
		if e.chain == nil {
			c.fail(http.StatusNotFound, 0, "")
			return
		}
		body = ottr.EncodeChain(e.chain[:1])
	case "csr":
		if e.csr == nil {
			c.fail(http.StatusNotFound, 0, "")
			return
		}
		body, ext = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: e.csr.Raw}), ".csr"
	default:
		c.refuse(http.StatusFailedDependency, "type %q: the simulator models local, local-cer and csr", c.q.Get("type"))
		return
	}
	c.w.Header().Set("Content-Type", "application/octet-stream")
	c.w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", e.name+ext))
	c.w.WriteHeader(http.StatusOK)
	c.w.Write(body) //nolint:errcheck // the client went away
}

// available is GET monitor/system/available-certificates: the local
// certificates with what the GUI shows of them (status "pending" for a
// request, "valid" once its certificate is imported) and q_ref, how many
// configuration objects use each.
func (d *Device) available(c *call) {
	if !c.params("scope", "mkey", "with_remote", "with_ca", "with_crl", "find_all_references") {
		return
	}
	list := []any{}
	for _, e := range d.certs {
		if !inScope(e, c.q.Get("scope")) || (c.q.Get("mkey") != "" && e.name != c.q.Get("mkey")) {
			continue
		}
		list = append(list, d.describe(e))
	}
	env := c.base(http.StatusOK)
	env.Results = list
	c.reply(env)
}

func (d *Device) describe(e *entry) map[string]any {
	out := map[string]any{"name": e.name, "source": e.source, "comments": e.comments, "range": e.rng, "exists": true,
		"is_built_in": e.source == "factory", "has_valid_cert_key": e.chain != nil, "is_ssl_server_cert": e.chain != nil,
		"q_path": "vpn.certificate", "q_name": "local", "q_ref": len(d.users(e.name)), "q_static": e.source == "factory", "q_type": 155}
	switch k := e.key.Public().(type) {
	case *rsa.PublicKey:
		out["key_type"], out["key_size"] = "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		out["key_type"], out["key_size"] = "ECDSA", k.Curve.Params().BitSize
	}
	if e.chain == nil {
		out["status"] = "pending"
		out["subject"], out["subject_raw"] = nameJSON(e.csr.Subject), e.csr.Subject.String()
		return out
	}
	leaf := e.chain[0]
	fp := sha1.Sum(leaf.Raw) //nolint:gosec // the fingerprint FortiOS shows
	out["status"] = "valid"
	if time.Now().After(leaf.NotAfter) {
		out["status"] = "expired"
	}
	out["valid_from"], out["valid_from_raw"] = leaf.NotBefore.Unix(), leaf.NotBefore.UTC().Format("2006-01-02 15:04:05  GMT")
	out["valid_to"], out["valid_to_raw"] = leaf.NotAfter.Unix(), leaf.NotAfter.UTC().Format("2006-01-02 15:04:05  GMT")
	out["subject"], out["subject_raw"] = nameJSON(leaf.Subject), leaf.Subject.String()
	out["issuer"], out["issuer_raw"] = nameJSON(leaf.Issuer), leaf.Issuer.String()
	out["fingerprint"], out["serial_number"] = colonHex(fp[:]), colonHex(leaf.SerialNumber.Bytes())
	out["version"], out["is_ca"] = leaf.Version, leaf.IsCA
	return out
}

func nameJSON(n pkix.Name) map[string]string {
	out := map[string]string{}
	add := func(k string, v []string) {
		if len(v) > 0 {
			out[k] = strings.Join(v, ", ")
		}
	}
	add("C", n.Country)
	add("ST", n.Province)
	add("L", n.Locality)
	add("O", n.Organization)
	add("OU", n.OrganizationalUnit)
	if n.CommonName != "" {
		out["CN"] = n.CommonName
	}
	for _, a := range n.Names {
		if v, ok := a.Value.(string); ok && a.Type.Equal(oidEmailAddress) {
			out["emailAddress"] = v
		}
	}
	return out
}

func colonHex(b []byte) string {
	parts := make([]string, len(b))
	for i, x := range b {
		parts[i] = fmt.Sprintf("%02X", x)
	}
	return strings.Join(parts, ":")
}
