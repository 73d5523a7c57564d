package netscaler

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// config is the part of the running configuration modelled: certificate
// key pairs with their links, and SSL virtual servers' bindings.
type config struct {
	certKeys map[string]*certKey
	bindings map[string][]binding // by virtual server
}

func newConfig() config {
	return config{certKeys: map[string]*certKey{}, bindings: map[string][]binding{}}
}

// certKey is an sslcertkey: its files as configured and the certificate
// and key loaded from them when it was added or last updated (later
// changes to the files do not reach the packet engine until an update).
type certKey struct {
	Name, Cert, Key, Inform, Link string
	ExpiryMonitor                 string
	NotificationPeriod            int
	leaf                          *x509.Certificate
	signer                        crypto.Signer
}

type binding struct {
	CertKey string
	CA      bool
}

// serverCert is the server certificate key pair bound to a virtual server.
func (c config) serverCert(vs string) string {
	for _, b := range c.bindings[vs] {
		if !b.CA {
			return b.CertKey
		}
	}
	return ""
}

// String renders the configuration as ns.conf's CLI lines, in a stable
// order: what nsconfig save writes.
func (c config) String() string {
	var lines []string
	names := make([]string, 0, len(c.certKeys))
	for n := range c.certKeys {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		ck := c.certKeys[n]
		l := fmt.Sprintf("add ssl certKey %s -cert %s", n, ck.Cert)
		if ck.Key != "" {
			l += " -key " + ck.Key
		}
		if ck.ExpiryMonitor == "ENABLED" {
			l += fmt.Sprintf(" -expiryMonitor ENABLED -notificationPeriod %d", ck.NotificationPeriod)
		}
		lines = append(lines, l)
	}
	for _, n := range names {
		if l := c.certKeys[n].Link; l != "" {
			lines = append(lines, fmt.Sprintf("link ssl certKey %s %s", n, l))
		}
	}
	vss := make([]string, 0, len(c.bindings))
	for vs := range c.bindings {
		vss = append(vss, vs)
	}
	sort.Strings(vss)
	for _, vs := range vss {
		for _, b := range c.bindings[vs] {
			l := fmt.Sprintf("bind ssl vserver %s -certkeyName %s", vs, b.CertKey)
			if b.CA {
				l += " -CA"
			}
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// certKeyName is the form NITRO allows for a certificate key pair's name;
// 31 characters is the longest older releases take.
var certKeyName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_#. :@=-]{0,30}$`)

// load reads a pair's files: the certificate and, if named, the key, which
// must match it.
func (d *Device) load(certFile, keyFile string) (*x509.Certificate, crypto.Signer, *nitroErr) {
	cf, ok := d.files[filePath(certFile)]
	if !ok {
		return nil, nil, errNoInputFile
	}
	leaf := firstCert(cf.data)
	if leaf == nil {
		return nil, nil, errBadCert
	}
	if keyFile == "" {
		return leaf, nil, nil
	}
	kf, ok := d.files[filePath(keyFile)]
	if !ok {
		return nil, nil, errNoInputFile
	}
	key, ok := parseKey(kf.data)
	if !ok {
		return nil, nil, errBadKey
	}
	if !samePublic(leaf.PublicKey, key.Public()) {
		return nil, nil, errNoMatch
	}
	return leaf, key, nil
}

func samePublic(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// addCertKey adds a pair; a certificate already installed under another
// name is refused, as the appliance refuses duplicate contents.
func (d *Device) addCertKey(in certKey) (int, string) {
	if e := d.addPair(in); e != nil {
		return e.code, e.msg
	}
	return 0, ""
}

func (d *Device) addPair(in certKey) *nitroErr {
	switch {
	case in.Name == "":
		return errArgMissing("certkeyName")
	case in.Cert == "":
		return errArgMissing("cert")
	case !certKeyName.MatchString(in.Name):
		return errArgValue("certkeyName")
	case in.Inform != "" && in.Inform != "PEM":
		return errNotModelled("inform " + in.Inform)
	}
	if _, ok := d.run.certKeys[in.Name]; ok {
		return errExists("certkeyName Contents, " + in.Name)
	}
	leaf, key, e := d.load(in.Cert, in.Key)
	if e != nil {
		return e
	}
	for _, other := range d.run.certKeys {
		if other.leaf.Equal(leaf) {
			return errExists("certkeyName Contents, " + other.Name)
		}
	}
	if in.ExpiryMonitor == "" {
		in.ExpiryMonitor = "DISABLED"
	}
	in.Inform, in.leaf, in.signer, in.Link = "PEM", leaf, key, ""
	d.run.certKeys[in.Name] = &in
	return nil
}

// certKeyCall is the sslcertkey resource.
func (d *Device) certKeyCall(req request) (int, any, *nitroErr) {
	var in struct {
		Certkey                    string  `json:"certkey"`
		Cert                       string  `json:"cert"`
		Key                        string  `json:"key"`
		Inform                     string  `json:"inform"`
		Linkcertkeyname            string  `json:"linkcertkeyname"`
		Nodomaincheck              bool    `json:"nodomaincheck"`
		Expirymonitor              string  `json:"expirymonitor"`
		Notificationperiod         number  `json:"notificationperiod"`
		Password                   *bool   `json:"password"`
		Passplain                  string  `json:"passplain"`
		Fipskey                    string  `json:"fipskey"`
		Hsmkey                     string  `json:"hsmkey"`
		Bundle                     string  `json:"bundle"`
		Deletecertkeyfilesonremove *string `json:"deletecertkeyfilesonremoval"`
		Ocspstaplingcache          *bool   `json:"ocspstaplingcache"`
	}
	if req.method == http.MethodPost || req.method == http.MethodPut {
		if e := req.object(&in); e != nil {
			return 0, nil, e
		}
		switch {
		case in.Fipskey != "" || in.Hsmkey != "":
			return 0, nil, errFIPS
		case (in.Password != nil && *in.Password) || in.Passplain != "":
			return 0, nil, errPassphrase
		case in.Bundle == "YES":
			return 0, nil, errBundle
		case in.Deletecertkeyfilesonremove != nil || in.Ocspstaplingcache != nil:
			return 0, nil, errNotModelled("deletecertkeyfilesonremoval and ocspstaplingcache")
		case in.Expirymonitor != "" && in.Expirymonitor != "ENABLED" && in.Expirymonitor != "DISABLED":
			return 0, nil, errArgValue("expiryMonitor")
		}
	}
	switch {
	case req.method == http.MethodGet:
		return d.getCertKeys(req)
	case req.method == http.MethodDelete:
		return d.deleteCertKey(req)
	case req.method == http.MethodPost && req.action == "":
		if in.Linkcertkeyname != "" || in.Nodomaincheck {
			return 0, nil, errArgUnknown(map[bool]string{true: "linkcertkeyName", false: "noDomainCheck"}[in.Linkcertkeyname != ""])
		}
		if e := d.addPair(certKey{Name: in.Certkey, Cert: in.Cert, Key: in.Key, Inform: in.Inform,
			ExpiryMonitor: in.Expirymonitor, NotificationPeriod: int(in.Notificationperiod)}); e != nil {
			return 0, nil, e
		}
		return http.StatusCreated, nil, nil
	case req.method == http.MethodPost && req.action == "update":
		return d.updateCertKey(in.Certkey, in.Cert, in.Key, in.Inform, in.Nodomaincheck)
	case req.method == http.MethodPost && req.action == "link":
		return d.link(in.Certkey, in.Linkcertkeyname)
	case req.method == http.MethodPost && req.action == "unlink":
		ck := d.run.certKeys[in.Certkey]
		if ck == nil {
			return 0, nil, &nitroErr{599, 1540, "Certificate does not exist"}
		}
		if ck.Link == "" {
			return 0, nil, errNoLink
		}
		ck.Link = ""
		return 200, nil, nil
	case req.method == http.MethodPost && req.action == "unset":
		return 0, nil, errCertkeyUnset
	case req.method == http.MethodPut:
		ck := d.run.certKeys[in.Certkey]
		if ck == nil {
			return 0, nil, errNoEntry(in.Certkey)
		}
		if in.Cert != "" || in.Key != "" || in.Linkcertkeyname != "" {
			return 0, nil, errArgUnknown("cert")
		}
		if in.Expirymonitor != "" {
			ck.ExpiryMonitor = in.Expirymonitor
		}
		if in.Notificationperiod != 0 {
			ck.NotificationPeriod = int(in.Notificationperiod)
		}
		return 200, nil, nil
	}
	return 0, nil, errNotModelled(req.method + " sslcertkey" + actionSuffix(req.action))
}

// updateCertKey replaces a pair's certificate (and key) in place: every
// binding stays. Without nodomaincheck the new certificate must be for
// the same domain (its common name); a link the new certificate's issuer
// no longer matches is broken, as the appliance reports.
func (d *Device) updateCertKey(name, cert, key, inform string, noDomainCheck bool) (int, any, *nitroErr) {
	if name == "" {
		return 0, nil, errArgMissing("certkeyName")
	}
	ck := d.run.certKeys[name]
	if ck == nil {
		return 0, nil, &nitroErr{599, 1540, "Certificate does not exist"}
	}
	if inform != "" && inform != "PEM" {
		return 0, nil, errNotModelled("inform " + inform)
	}
	if cert == "" {
		cert = ck.Cert
	}
	if key == "" {
		key = ck.Key
	}
	leaf, _, e := d.load(cert, "")
	if e != nil {
		return 0, nil, e
	}
	if !noDomainCheck && leaf.Subject.CommonName != ck.leaf.Subject.CommonName {
		return 0, nil, &nitroErr{599, 3585, "Certificate is registered to a different domain; use the no domain checkoption to force the operation"}
	}
	leaf, signer, e := d.load(cert, key)
	if e != nil {
		return 0, nil, e
	}
	for _, other := range d.run.certKeys {
		if other != ck && other.leaf.Equal(leaf) {
			return 0, nil, errExists("certkeyName Contents, " + other.Name)
		}
	}
	ck.Cert, ck.Key, ck.leaf, ck.signer = cert, key, leaf, signer
	if ca := d.run.certKeys[ck.Link]; ca != nil && leaf.CheckSignatureFrom(ca.leaf) != nil {
		ck.Link = ""
	}
	return 200, nil, nil
}

// link makes ca the issuer sent after name's certificate.
func (d *Device) link(name, ca string) (int, any, *nitroErr) {
	switch {
	case name == "":
		return 0, nil, errArgMissing("certkeyName")
	case ca == "":
		return 0, nil, errArgMissing("linkCertKeyName")
	case name == ca:
		return 0, nil, errLinkSelf
	}
	ck, issuer := d.run.certKeys[name], d.run.certKeys[ca]
	if ck == nil || issuer == nil {
		return 0, nil, &nitroErr{599, 1540, "Certificate does not exist"}
	}
	if ck.Link == ca {
		return 0, nil, errExists("linkCertKeyName, " + ca)
	}
	if ck.leaf.CheckSignatureFrom(issuer.leaf) != nil {
		return 0, nil, errIssuer
	}
	for l := issuer.Link; l != ""; l = d.run.certKeys[l].Link {
		if l == name {
			return 0, nil, errLinkLoop
		}
		if d.run.certKeys[l] == nil {
			break
		}
	}
	ck.Link = ca
	return 200, nil, nil
}

// deleteCertKey removes a pair nothing refers to; its files stay.
func (d *Device) deleteCertKey(req request) (int, any, *nitroErr) {
	if len(req.args) > 0 {
		return 0, nil, errNotModelled("sslcertkey delete arguments")
	}
	ck := d.run.certKeys[req.name]
	if ck == nil {
		return 0, nil, errNoEntry(req.name)
	}
	if ck.Name == "ns-server-certificate" {
		return 0, nil, errDefaultCert
	}
	for _, other := range d.run.certKeys {
		if other.Link == ck.Name {
			return 0, nil, errReferenced
		}
	}
	for _, bs := range d.run.bindings {
		for _, b := range bs {
			if b.CertKey == ck.Name {
				return 0, nil, errReferenced
			}
		}
	}
	delete(d.run.certKeys, ck.Name)
	return 200, nil, nil
}

// certKeyObject is an sslcertkey as GET shows it.
func certKeyObject(ck *certKey, now time.Time) map[string]any {
	c := ck.leaf
	status := "Valid"
	switch {
	case now.After(c.NotAfter):
		status = "Expired"
	case now.Before(c.NotBefore):
		status = "Not yet valid"
	}
	types := []string{"CLNT_CERT", "SRVR_CERT"}
	if c.IsCA {
		types = []string{"INTM_CERT"}
		if c.CheckSignatureFrom(c) == nil {
			types = []string{"ROOT_CERT"}
		}
	}
	pub, size := "rsaEncryption", 0
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		size = k.N.BitLen()
	case *ecdsa.PublicKey:
		pub, size = "id-ecPublicKey", k.Curve.Params().BitSize
	}
	o := map[string]any{"certkey": ck.Name, "cert": ck.Cert, "inform": ck.Inform, "signaturealg": sigAlg(c.SignatureAlgorithm),
		"certificatetype": types, "serial": strings.ToUpper(c.SerialNumber.Text(16)), "issuer": " " + dn(c.Issuer.String()),
		"clientcertnotbefore": c.NotBefore.UTC().Format("Jan _2 15:04:05 2006 GMT"), "clientcertnotafter": c.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT"),
		"daystoexpiration": int(time.Until(c.NotAfter).Hours() / 24), "subject": " " + dn(c.Subject.String()), "publickey": pub,
		"publickeysize": size, "version": c.Version, "priority": "0", "status": status, "expirymonitor": ck.ExpiryMonitor,
		"notificationperiod": ck.NotificationPeriod, "ocspresponsestatus": "NONE", "data": "0"}
	if ck.Key != "" {
		o["key"] = ck.Key
	}
	if ck.Link != "" {
		o["linkcertkeyname"] = ck.Link
	}
	return o
}

// dn writes a distinguished name as the appliance does, most general
// first (C=US,O=…,CN=…).
func dn(rfc2253 string) string {
	parts := strings.Split(rfc2253, ",")
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, ",")
}

func sigAlg(a x509.SignatureAlgorithm) string {
	switch a {
	case x509.SHA256WithRSA:
		return "sha256WithRSAEncryption"
	case x509.SHA384WithRSA:
		return "sha384WithRSAEncryption"
	case x509.ECDSAWithSHA256:
		return "ecdsa-with-SHA256"
	case x509.ECDSAWithSHA384:
		return "ecdsa-with-SHA384"
	}
	return a.String()
}

// getCertKeys lists pairs (all, one by name, or by filter=certkey:…).
func (d *Device) getCertKeys(req request) (int, any, *nitroErr) {
	name := req.name
	if f, ok := req.filter["certkey"]; ok {
		name = f
	}
	for k := range req.filter {
		if k != "certkey" {
			return 0, nil, errNotModelled("sslcertkey filter on " + k)
		}
	}
	now := time.Now()
	if name != "" {
		ck := d.run.certKeys[name]
		if ck == nil {
			if req.name == "" {
				return 200, done("", nil), nil // a filter that matches nothing
			}
			return 0, nil, errNoEntry(name)
		}
		return 200, done("sslcertkey", []map[string]any{certKeyObject(ck, now)}), nil
	}
	names := make([]string, 0, len(d.run.certKeys))
	for n := range d.run.certKeys {
		names = append(names, n)
	}
	sort.Strings(names)
	list := []map[string]any{}
	for _, n := range names {
		list = append(list, certKeyObject(d.run.certKeys[n], now))
	}
	return 200, done("sslcertkey", list), nil
}
