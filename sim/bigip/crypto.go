package bigip

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

func (d *Device) upload(w http.ResponseWriter, r *http.Request, name string, body []byte) {
	if d.faults.DropUpload {
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
	}
	m := contentRange.FindStringSubmatch(r.Header.Get("Content-Range"))
	if m == nil || name == "" || strings.Contains(name, "/") {
		tmError(w, 400, "Content-Range header is missing or malformed")
		return
	}
	start, _ := strconv.Atoi(m[1])
	end, _ := strconv.Atoi(m[2])
	total, _ := strconv.Atoi(m[3])
	if end-start+1 != len(body) || end >= total {
		tmError(w, 400, fmt.Sprintf("Content-Range %s does not match the %d bytes sent", m[0], len(body)))
		return
	}
	cur := d.uploads[name]
	if start == 0 {
		cur = nil
	}
	if len(cur) != start {
		tmError(w, 400, fmt.Sprintf("Chunk starting at %d does not follow the %d bytes received", start, len(cur)))
		return
	}
	d.uploads[name] = append(cur, body...)
	writeJSON(w, 200, map[string]any{"remainingByteCount": total - end - 1, "usedChunks": map[string]int{"0": len(body)},
		"totalByteCount": total, "localFilePath": "/var/config/rest/downloads/" + name,
		"temporaryFilePath": "/var/config/rest/downloads/tmp/" + name, "generation": 0, "lastUpdateMicros": time.Now().UnixMicro()})
}

func (d *Device) download(w http.ResponseWriter, name string) {
	b, ok := d.uploads["bulk/"+name]
	if !ok {
		tmError(w, 404, "File "+name+" not found")
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Range", fmt.Sprintf("0-%d/%d", len(b)-1, len(b)))
	_, _ = w.Write(b)
}

// keyRequest is "create sys crypto key … gen-csr" as JSON.
type keyRequest struct {
	Name                   string              `json:"name"`
	Partition              string              `json:"partition"`
	KeyType                string              `json:"keyType"`
	KeySize                string              `json:"keySize"`
	CurveName              string              `json:"curveName"`
	CommonName             string              `json:"commonName"`
	SubjectAlternativeName string              `json:"subjectAlternativeName"`
	Options                []map[string]string `json:"options"`
}

func (d *Device) createKey(w http.ResponseWriter, body []byte) {
	var in keyRequest
	if err := json.Unmarshal(body, &in); err != nil || in.Name == "" {
		tmError(w, 400, "01070734:3: Configuration error: key name is required")
		return
	}
	part := in.Partition
	if part == "" {
		part = "Common"
	}
	fp := "/" + part + "/" + in.Name
	if d.keys[fp] != nil {
		tmError(w, 409, fmt.Sprintf("01020066:3: The requested Certificate Key File (%s) already exists in partition %s.", fp, part))
		return
	}
	var key crypto.Signer
	var err error
	switch {
	case in.KeyType == "ec-private" && (in.CurveName == "" || in.CurveName == "prime256v1"):
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case in.KeyType == "ec-private" && in.CurveName == "secp384r1":
		key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case in.KeyType == "" || in.KeyType == "rsa-private":
		size := 2048
		if in.KeySize != "" {
			size, _ = strconv.Atoi(in.KeySize)
		}
		if size != 2048 && size != 3072 && size != 4096 {
			tmError(w, 400, fmt.Sprintf("01071ac4:3: Invalid key size %q", in.KeySize))
			return
		}
		key, err = rsa.GenerateKey(rand.Reader, size)
	default:
		tmError(w, 400, fmt.Sprintf("01071ac5:3: Invalid key type %q", in.KeyType))
		return
	}
	if err != nil {
		tmError(w, 500, "01070711:3: Caught error generating the key")
		return
	}
	csrName := ""
	for _, o := range in.Options {
		if v, ok := o["gen-csr"]; ok {
			csrName = v
		}
	}
	if csrName != "" {
		if in.CommonName == "" {
			tmError(w, 400, "01070734:3: Configuration error: common-name is required to generate a CSR")
			return
		}
		var sans []string
		for _, s := range strings.Split(in.SubjectAlternativeName, ",") {
			if s = strings.TrimSpace(s); strings.HasPrefix(s, "DNS:") {
				sans = append(sans, strings.TrimPrefix(s, "DNS:"))
			}
		}
		if d.faults.DropSANs {
			sans = nil
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: in.CommonName}, DNSNames: sans}, key)
		if err != nil {
			tmError(w, 500, "01070711:3: Caught error generating the CSR")
			return
		}
		d.csrs[csrName], _ = x509.ParseCertificateRequest(der)
	}
	d.keys[fp] = key
	writeJSON(w, 200, map[string]any{"kind": "tm:sys:crypto:key:keystate", "name": in.Name, "partition": part, "fullPath": fp,
		"keyType": in.KeyType, "keySize": in.KeySize, "securityType": "normal"})
}

func (d *Device) installCert(w http.ResponseWriter, body []byte) {
	var in struct {
		Command       string `json:"command"`
		Name          string `json:"name"`
		FromLocalFile string `json:"from-local-file"`
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Command != "install" || in.Name == "" {
		tmError(w, 400, "Found invalid command id "+in.Command)
		return
	}
	file := strings.TrimPrefix(in.FromLocalFile, "/var/config/rest/downloads/")
	b, ok := d.uploads[file]
	if !ok {
		tmError(w, 400, fmt.Sprintf("01070712:3: Caught configuration exception (0), File (%s) does not exist.", in.FromLocalFile))
		return
	}
	chain, err := ottr.ParseChain(b)
	if err != nil || len(chain) == 0 {
		tmError(w, 400, "01070712:3: Caught configuration exception (0), Unable to parse certificate file.")
		return
	}
	fp := "/Common/" + in.Name
	d.certs[fp] = chain
	writeJSON(w, 200, map[string]any{"kind": "tm:sys:crypto:cert:certstate", "command": "install", "name": in.Name, "from-local-file": in.FromLocalFile})
}

// unix runs unix-cp/unix-mv/unix-rm on the few paths rotation uses.
func (d *Device) unix(w http.ResponseWriter, cmd string, body []byte) {
	var in struct{ Command, UtilCmdArgs string }
	if err := json.Unmarshal(body, &in); err != nil || in.Command != "run" {
		tmError(w, 400, "Found invalid command id")
		return
	}
	args := strings.Fields(in.UtilCmdArgs)
	switch {
	case (cmd == "unix-cp" || cmd == "unix-mv") && len(args) == 2 && strings.HasPrefix(args[0], "/config/ssl/ssl.csr/") && strings.HasPrefix(args[1], "/var/config/rest/bulk/"):
		csr := d.csrs[strings.TrimPrefix(args[0], "/config/ssl/ssl.csr/")]
		if csr == nil {
			writeJSON(w, 200, map[string]any{"kind": "tm:util:" + cmd + ":runstate", "command": "run", "utilCmdArgs": in.UtilCmdArgs,
				"commandResult": fmt.Sprintf("cp: cannot stat '%s': No such file or directory\n", args[0])})
			return
		}
		d.uploads["bulk/"+strings.TrimPrefix(args[1], "/var/config/rest/bulk/")] = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})
	case cmd == "unix-rm" && len(args) == 1 && strings.HasPrefix(args[0], "/var/config/rest/"):
		delete(d.uploads, strings.TrimPrefix(strings.TrimPrefix(args[0], "/var/config/rest/downloads/"), "/var/config/rest/"))
	default:
		tmError(w, 400, "01070920:3: Application error for "+cmd+": operation not permitted")
		return
	}
	writeJSON(w, 200, map[string]any{"kind": "tm:util:" + cmd + ":runstate", "command": "run", "utilCmdArgs": in.UtilCmdArgs})
}

// bash answers Ottr's one use of the advanced shell: listing a CSR.
func (d *Device) bash(w http.ResponseWriter, body []byte) {
	var in struct{ Command, UtilCmdArgs string }
	_ = json.Unmarshal(body, &in)
	m := listCSR.FindStringSubmatch(in.UtilCmdArgs)
	if in.Command != "run" || m == nil || d.csrs[m[1]] == nil {
		tmError(w, 400, "01070920:3: Application error for bash: not simulated")
		return
	}
	csr := d.csrs[m[1]]
	res := fmt.Sprintf("sys crypto csr %s {\n    common-name %s\n}\n%s", m[1], csr.Subject.CommonName,
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw}))
	writeJSON(w, 200, map[string]any{"kind": "tm:util:bash:runstate", "command": "run", "utilCmdArgs": in.UtilCmdArgs, "commandResult": res})
}

func (d *Device) listCerts(w http.ResponseWriter) {
	names := make([]string, 0, len(d.certs))
	for n := range d.certs {
		names = append(names, n)
	}
	sort.Strings(names)
	items := []map[string]any{}
	for _, n := range names {
		c := d.certs[n][0]
		part, name, _ := strings.Cut(strings.TrimPrefix(n, "/"), "/")
		items = append(items, map[string]any{"kind": "tm:sys:file:ssl-cert:ssl-certstate", "name": name, "partition": part, "fullPath": n,
			"expirationDate": c.NotAfter.Unix(), "expirationString": c.NotAfter.UTC().Format("Jan _2 15:04:05 2006 GMT"),
			"subject": "CN=" + c.Subject.CommonName, "issuer": "CN=" + c.Issuer.CommonName, "serialNumber": c.SerialNumber.Text(16),
			"isBundle": strconv.FormatBool(len(d.certs[n]) > 1), "certificate": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}))})
	}
	writeJSON(w, 200, map[string]any{"kind": "tm:sys:file:ssl-cert:ssl-certcollectionstate", "selfLink": "https://localhost/mgmt/tm/sys/file/ssl-cert?ver=15.1.8", "items": items})
}

func (d *Device) listKeys(w http.ResponseWriter) {
	names := make([]string, 0, len(d.keys))
	for n := range d.keys {
		names = append(names, n)
	}
	sort.Strings(names)
	items := []map[string]any{}
	for _, n := range names {
		part, name, _ := strings.Cut(strings.TrimPrefix(n, "/"), "/")
		kt := "rsa-private"
		if _, ok := d.keys[n].(*ecdsa.PrivateKey); ok {
			kt = "ec-private"
		}
		items = append(items, map[string]any{"kind": "tm:sys:file:ssl-key:ssl-keystate", "name": name, "partition": part, "fullPath": n,
			"keyType": kt, "securityType": "normal", "cachePath": "/config/filestore/files_d/" + part + "_d/certificate_key_d/:" + part + ":" + name + "_1"})
	}
	writeJSON(w, 200, map[string]any{"kind": "tm:sys:file:ssl-key:ssl-keycollectionstate", "items": items})
}
