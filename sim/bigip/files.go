package bigip

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

const downloads = "/var/config/rest/downloads/"

func newKeyFile(k crypto.Signer, source string, now time.Time) *keyFile {
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	return &keyFile{signer: k, data: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), source: source, created: now, updated: now}
}

func newCertFile(chain []*x509.Certificate, data []byte, source string, now time.Time) *certFile {
	if data == nil {
		data = ottr.EncodeChain(chain)
	}
	return &certFile{chain: chain, data: data, source: source, created: now, updated: now}
}

var errEncrypted = errors.New("encrypted keys (passphrase, securityType password) are not modelled by this BIG-IP simulator")

// parseKey reads a PEM private key as the device accepts it: PKCS#1 RSA,
// SEC 1 EC, or PKCS#8.
func parseKey(b []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM private key in the file")
	}
	if block.Type == "ENCRYPTED PRIVATE KEY" || strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") {
		return nil, errEncrypted
	}
	var k any
	var err error
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("unsupported key algorithm")
	}
	return s, nil
}

// localFile reads a file named by a sourcePath (file:///var/config/rest/
// downloads/x) or a from-local-file path. Only the REST download area,
// where uploads land, is modelled.
func (d *Device) localFile(path string) ([]byte, int, any) {
	p := strings.TrimPrefix(path, "file://")
	if !strings.HasPrefix(p, downloads) {
		if strings.HasPrefix(path, "file://") || strings.HasPrefix(path, "/") {
			c, b := notModelled(fmt.Sprintf("reading %s (only files uploaded to %s)", path, downloads))
			return nil, c, b
		}
		c, b := tmErr(400, fmt.Sprintf("01070712:3: Caught configuration exception (0), Invalid source path (%s): use a file:, http: or ftp: URL.", path))
		return nil, c, b
	}
	b, ok := d.uploads[strings.TrimPrefix(p, downloads)]
	if !ok {
		c, out := tmErr(400, fmt.Sprintf("01070712:3: Caught configuration exception (0), File (%s) does not exist.", p))
		return nil, c, out
	}
	return b, 0, nil
}

// fileRequest is the body of a sys file ssl-cert/ssl-key create or update.
type fileRequest struct {
	Name       string  `json:"name"`
	Partition  string  `json:"partition"`
	SourcePath string  `json:"sourcePath"`
	Passphrase *string `json:"passphrase"`
	IssuerCert *string `json:"issuerCert"`
}

// decodeFile reads a create/update body; properties other than these are
// refused as not modelled.
func decodeFile(body []byte, allowed ...string) (fileRequest, int, any) {
	var in fileRequest
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		c, b := tmErr(400, "Found invalid JSON body: "+err.Error())
		return in, c, b
	}
	ok := map[string]bool{"name": true, "partition": true, "fullPath": true, "kind": true, "sourcePath": true}
	for _, a := range allowed {
		ok[a] = true
	}
	for k := range raw {
		if !ok[k] {
			c, b := notModelled("property " + k)
			return in, c, b
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		c, b := tmErr(400, "Found invalid JSON body: "+err.Error())
		return in, c, b
	}
	return in, 0, nil
}

// objectPath is the full path a create names, or an error body.
func objectPath(in fileRequest) (string, int, any) {
	if in.Name == "" {
		c, b := tmErr(400, "01070734:3: Configuration error: name is required")
		return "", c, b
	}
	fp := in.Name
	if !strings.HasPrefix(fp, "/") {
		part := in.Partition
		if part == "" {
			part = "Common"
		}
		fp = "/" + part + "/" + in.Name
	}
	if part, name := splitPath(fp); part != "Common" || name == "" || strings.Contains(name, "/") {
		c, b := tmErr(400, fmt.Sprintf("01020036:3: The requested folder (/%s) was not found.", part))
		return "", c, b
	}
	return fp, 0, nil
}

func (k *keyFile) item(fp string) map[string]any {
	part, name := splitPath(fp)
	kt, size, curve := keyFacts(k.signer.Public(), true)
	m := map[string]any{"kind": "tm:sys:file:ssl-key:ssl-keystate", "name": name, "partition": part, "fullPath": fp, "generation": 1,
		"selfLink": selfLink("/mgmt/tm/sys/file/ssl-key/" + urlName(fp)), "checksum": checksum(k.data),
		"createTime": k.created.UTC().Format(time.RFC3339), "createdBy": "admin", "curveName": curve, "keySize": size, "keyType": kt,
		"lastUpdateTime": k.updated.UTC().Format(time.RFC3339), "mode": 33184, "revision": 1, "securityType": "normal",
		"size": len(k.data), "updatedBy": "admin", "systemPath": "/config/ssl/ssl.key/" + name,
		"cachePath": "/config/filestore/files_d/" + part + "_d/certificate_key_d/:" + part + ":" + name + "_1"}
	if k.source != "" {
		m["sourcePath"] = k.source
	}
	return m
}

func (c *certFile) item(fp string) map[string]any {
	part, name := splitPath(fp)
	leaf := c.chain[0]
	kt, size, curve := keyFacts(leaf.PublicKey, false)
	m := map[string]any{"kind": "tm:sys:file:ssl-cert:ssl-certstate", "name": name, "partition": part, "fullPath": fp, "generation": 1,
		"selfLink": selfLink("/mgmt/tm/sys/file/ssl-cert/" + urlName(fp)), "certificateKeyCurveName": curve, "certificateKeySize": size,
		"checksum": checksum(c.data), "createTime": c.created.UTC().Format(time.RFC3339), "createdBy": "admin",
		"expirationDate": leaf.NotAfter.Unix(), "expirationString": leaf.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT"),
		"fingerprint": fingerprintOf(leaf), "isBundle": strconv.FormatBool(len(c.chain) > 1), "issuer": leaf.Issuer.String(),
		"keyType": kt, "lastUpdateTime": c.updated.UTC().Format(time.RFC3339), "mode": 33188, "revision": 1,
		"serialNumber": leaf.SerialNumber.String(), "size": len(c.data), "subject": leaf.Subject.String(), "updatedBy": "admin",
		"version": leaf.Version, "systemPath": "/config/ssl/ssl.crt/" + name}
	if len(leaf.DNSNames) > 0 {
		sans := make([]string, len(leaf.DNSNames))
		for i, n := range leaf.DNSNames {
			sans[i] = "DNS:" + n
		}
		m["subjectAlternativeName"] = strings.Join(sans, ", ")
	}
	if c.source != "" {
		m["sourcePath"] = c.source
	}
	return m
}

// certObjects is /mgmt/tm/sys/file/ssl-cert[/~Common~name].
func (d *Device) certObjects(req request, name string) (int, any) {
	const kind = "Certificate"
	if name == "" {
		switch req.method {
		case http.MethodGet:
			all := map[string]map[string]any{}
			for fp, c := range d.cfg.certs {
				all[fp] = c.item(fp)
			}
			return collection("tm:sys:file:ssl-cert:ssl-certcollectionstate", "/mgmt/tm/sys/file/ssl-cert", req.query, all)
		case http.MethodPost:
			in, code, out := decodeFile(req.body, "issuerCert")
			if code != 0 {
				return code, out
			}
			fp, code, out := objectPath(in)
			if code != 0 {
				return code, out
			}
			if d.cfg.certs[fp] != nil {
				part, _ := splitPath(fp)
				return tmErr(409, fmt.Sprintf("01020066:3: The requested %s File (%s) already exists in partition %s.", kind, fp, part))
			}
			return d.putCert(fp, in, nil)
		}
		return tmErr(405, "Method "+req.method+" is not allowed on the ssl-cert collection")
	}
	if strings.Contains(name, "/") {
		return notModelled("sub-collections of ssl-cert (" + name + ")")
	}
	fp := fullPath(name)
	cur := d.cfg.certs[fp]
	if cur == nil {
		return tmErr(404, fmt.Sprintf("01020036:3: The requested %s File (%s) was not found.", kind, fp))
	}
	switch req.method {
	case http.MethodGet:
		return 200, cur.item(fp)
	case http.MethodPut, http.MethodPatch:
		in, code, out := decodeFile(req.body, "issuerCert")
		if code != 0 {
			return code, out
		}
		if in.SourcePath == "" {
			in.SourcePath = cur.source
		}
		return d.putCert(fp, in, cur)
	case http.MethodDelete:
		if pn := d.cfg.inUse(fp); pn != "" {
			return tmErr(400, fmt.Sprintf("01070621:3: %s file %s is in use by client-ssl profile %s.", kind, fp, pn))
		}
		delete(d.cfg.certs, fp)
		return 200, nil
	}
	return tmErr(405, "Method "+req.method+" is not allowed on "+fp)
}

// putCert installs the certificate file in.SourcePath as fp.
func (d *Device) putCert(fp string, in fileRequest, cur *certFile) (int, any) {
	if in.IssuerCert != nil && *in.IssuerCert != "" && *in.IssuerCert != "none" {
		return notModelled("issuerCert")
	}
	if in.SourcePath == "" {
		return tmErr(400, "01070712:3: Caught configuration exception (0), sourcePath is required to import a certificate.")
	}
	b, code, out := d.localFile(in.SourcePath)
	if code != 0 {
		return code, out
	}
	chain, err := ottr.ParseChain(b)
	if err != nil || len(chain) == 0 {
		return tmErr(400, fmt.Sprintf("01070712:3: Caught configuration exception (0), Unable to parse certificate file %s.", in.SourcePath))
	}
	now := time.Now()
	c := newCertFile(chain, append([]byte(nil), b...), in.SourcePath, now)
	if cur != nil {
		c.created = cur.created
	}
	d.cfg.certs[fp] = c
	return 200, c.item(fp)
}

// keyObjects is /mgmt/tm/sys/file/ssl-key[/~Common~name].
func (d *Device) keyObjects(req request, name string) (int, any) {
	const kind = "Certificate Key"
	if name == "" {
		switch req.method {
		case http.MethodGet:
			all := map[string]map[string]any{}
			for fp, k := range d.cfg.keys {
				all[fp] = k.item(fp)
			}
			return collection("tm:sys:file:ssl-key:ssl-keycollectionstate", "/mgmt/tm/sys/file/ssl-key", req.query, all)
		case http.MethodPost:
			in, code, out := decodeFile(req.body, "passphrase", "securityType")
			if code != 0 {
				return code, out
			}
			fp, code, out := objectPath(in)
			if code != 0 {
				return code, out
			}
			if d.cfg.keys[fp] != nil {
				part, _ := splitPath(fp)
				return tmErr(409, fmt.Sprintf("01020066:3: The requested %s File (%s) already exists in partition %s.", kind, fp, part))
			}
			return d.putKey(fp, in, nil, req.body)
		}
		return tmErr(405, "Method "+req.method+" is not allowed on the ssl-key collection")
	}
	if strings.Contains(name, "/") {
		return notModelled("sub-collections of ssl-key (" + name + ")")
	}
	fp := fullPath(name)
	cur := d.cfg.keys[fp]
	if cur == nil {
		return tmErr(404, fmt.Sprintf("01020036:3: The requested %s File (%s) was not found.", kind, fp))
	}
	switch req.method {
	case http.MethodGet:
		return 200, cur.item(fp)
	case http.MethodPut, http.MethodPatch:
		in, code, out := decodeFile(req.body, "passphrase", "securityType")
		if code != 0 {
			return code, out
		}
		if in.SourcePath == "" {
			in.SourcePath = cur.source
		}
		return d.putKey(fp, in, cur, req.body)
	case http.MethodDelete:
		if pn := d.cfg.inUse(fp); pn != "" {
			return tmErr(400, fmt.Sprintf("01070621:3: Key file %s is in use by client-ssl profile %s.", fp, pn))
		}
		delete(d.cfg.keys, fp)
		return 200, nil
	}
	return tmErr(405, "Method "+req.method+" is not allowed on "+fp)
}

// putKey installs the key file in.SourcePath as fp.
func (d *Device) putKey(fp string, in fileRequest, cur *keyFile, body []byte) (int, any) {
	var st struct {
		SecurityType string `json:"securityType"`
	}
	_ = json.Unmarshal(body, &st)
	if (in.Passphrase != nil && *in.Passphrase != "") || (st.SecurityType != "" && st.SecurityType != "normal") {
		return notModelled("passphrase-protected and FIPS keys (securityType " + st.SecurityType + ")")
	}
	if in.SourcePath == "" {
		return tmErr(400, "01070712:3: Caught configuration exception (0), sourcePath is required to import a key.")
	}
	b, code, out := d.localFile(in.SourcePath)
	if code != 0 {
		return code, out
	}
	k, err := parseKey(b)
	if errors.Is(err, errEncrypted) {
		return notModelled("passphrase-protected keys")
	}
	if err != nil {
		return tmErr(400, fmt.Sprintf("01070712:3: Caught configuration exception (0), Unable to parse key file %s: %s.", in.SourcePath, err))
	}
	now := time.Now()
	kf := &keyFile{signer: k, data: append([]byte(nil), b...), source: in.SourcePath, created: now, updated: now}
	if cur != nil {
		kf.created = cur.created
	}
	d.cfg.keys[fp] = kf
	return 200, kf.item(fp)
}

// installCert is "install sys crypto cert <name> from-local-file <path>":
// a new object, or the same name replaced in place.
func (d *Device) installCert(body []byte) (int, any) {
	var in struct {
		Command       string `json:"command"`
		Name          string `json:"name"`
		FromLocalFile string `json:"from-local-file"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Command != "install" || in.Name == "" {
		return notModelled(fmt.Sprintf("crypto cert command %q (only install with name and from-local-file)", in.Command))
	}
	if in.FromLocalFile == "" {
		return notModelled("crypto cert install from other than from-local-file")
	}
	fp, code, out := objectPath(fileRequest{Name: in.Name})
	if code != 0 {
		return code, out
	}
	code, out = d.putCert(fp, fileRequest{SourcePath: "file://" + strings.TrimPrefix(in.FromLocalFile, "file://")}, d.cfg.certs[fp])
	if code != 200 {
		return code, out
	}
	return 200, map[string]any{"kind": "tm:sys:crypto:cert:certstate", "command": "install", "name": in.Name, "from-local-file": in.FromLocalFile}
}

// installKey is "install sys crypto key <name> from-local-file <path>":
// the key in the file, not a new one.
func (d *Device) installKey(in keyRequest) (int, any) {
	if in.FromLocalFile == "" {
		return notModelled("crypto key install from other than from-local-file")
	}
	fp, code, out := objectPath(fileRequest{Name: in.Name, Partition: in.Partition})
	if code != 0 {
		return code, out
	}
	code, out = d.putKey(fp, fileRequest{SourcePath: "file://" + strings.TrimPrefix(in.FromLocalFile, "file://")}, d.cfg.keys[fp], nil)
	if code != 200 {
		return code, out
	}
	return 200, map[string]any{"kind": "tm:sys:crypto:key:keystate", "command": "install", "name": in.Name, "from-local-file": in.FromLocalFile}
}
