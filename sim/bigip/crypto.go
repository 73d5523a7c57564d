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
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
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
		"totalByteCount": total, "localFilePath": downloads + name,
		"temporaryFilePath": downloads + "tmp/" + name, "generation": 0, "lastUpdateMicros": time.Now().UnixMicro()})
}

// download serves a file from the bulk area; a Content-Range asks for
// part of it (F5's clients first ask with a total of 0 to learn the size).
func (d *Device) download(w http.ResponseWriter, r *http.Request, name string) {
	b, ok := d.uploads["bulk/"+name]
	if !ok {
		tmError(w, 404, "File "+name+" not found")
		return
	}
	start, end := 0, len(b)-1
	if m := contentRange.FindStringSubmatch(r.Header.Get("Content-Range")); m != nil {
		s, _ := strconv.Atoi(m[1])
		e, _ := strconv.Atoi(m[2])
		if s < len(b) && s <= e {
			start, end = s, min(e, len(b)-1)
		}
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Range", fmt.Sprintf("%d-%d/%d", start, end, len(b)))
	_, _ = w.Write(b[start : end+1])
}

// keyRequest is "create sys crypto key … gen-csr" or "install sys crypto
// key … from-local-file" as JSON.
type keyRequest struct {
	Command                string              `json:"command"`
	Name                   string              `json:"name"`
	Partition              string              `json:"partition"`
	KeyType                string              `json:"keyType"`
	KeySize                string              `json:"keySize"`
	CurveName              string              `json:"curveName"`
	CommonName             string              `json:"commonName"`
	SubjectAlternativeName string              `json:"subjectAlternativeName"`
	SecurityType           string              `json:"securityType"`
	FromLocalFile          string              `json:"from-local-file"`
	Options                []map[string]string `json:"options"`
}

// cryptoKey is POST /mgmt/tm/sys/crypto/key: install a key from a file,
// or make one (and a CSR with gen-csr).
func (d *Device) cryptoKey(body []byte) (int, any) {
	var in keyRequest
	if err := json.Unmarshal(body, &in); err != nil {
		return tmErr(400, "Found invalid JSON body: "+err.Error())
	}
	if in.Name == "" {
		return tmErr(400, "01070734:3: Configuration error: key name is required")
	}
	for _, o := range in.Options {
		if v, ok := o["from-local-file"]; ok && in.FromLocalFile == "" {
			in.FromLocalFile = v
		}
	}
	switch in.Command {
	case "install":
		return d.installKey(in)
	case "":
		if in.FromLocalFile != "" {
			return d.installKey(in)
		}
	default:
		return notModelled(fmt.Sprintf("crypto key command %q", in.Command))
	}
	if in.SecurityType != "" && in.SecurityType != "normal" {
		return notModelled("securityType " + in.SecurityType)
	}
	fp, code, out := objectPath(fileRequest{Name: in.Name, Partition: in.Partition})
	if code != 0 {
		return code, out
	}
	if d.cfg.keys[fp] != nil {
		part, _ := splitPath(fp)
		return tmErr(409, fmt.Sprintf("01020066:3: The requested Certificate Key File (%s) already exists in partition %s.", fp, part))
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
			return tmErr(400, fmt.Sprintf("01071ac4:3: Invalid key size %q", in.KeySize))
		}
		key, err = rsa.GenerateKey(rand.Reader, size)
	default:
		return tmErr(400, fmt.Sprintf("01071ac5:3: Invalid key type %q", in.KeyType))
	}
	if err != nil {
		return tmErr(500, "01070711:3: Caught error generating the key")
	}
	csrName := ""
	for _, o := range in.Options {
		for k, v := range o {
			switch k {
			case "gen-csr":
				csrName = v
			case "from-local-file":
			default:
				return notModelled("crypto key option " + k)
			}
		}
	}
	if csrName != "" {
		if in.CommonName == "" {
			return tmErr(400, "01070734:3: Configuration error: common-name is required to generate a CSR")
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
			return tmErr(500, "01070711:3: Caught error generating the CSR")
		}
		d.csrs[csrName], _ = x509.ParseCertificateRequest(der)
	}
	d.cfg.keys[fp] = newKeyFile(key, "", time.Now())
	part, name := splitPath(fp)
	return 200, map[string]any{"kind": "tm:sys:crypto:key:keystate", "name": name, "partition": part, "fullPath": fp,
		"keyType": in.KeyType, "keySize": in.KeySize, "securityType": "normal"}
}

// unix runs unix-cp/unix-mv/unix-rm on the few paths modelled: CSRs
// copied to the REST bulk area, and files removed from the REST areas.
func (d *Device) unix(cmd string, body []byte) (int, any) {
	var in struct{ Command, UtilCmdArgs string }
	if err := json.Unmarshal(body, &in); err != nil || in.Command != "run" {
		return tmErr(400, "Found invalid command id "+in.Command)
	}
	args := strings.Fields(in.UtilCmdArgs)
	ok := map[string]any{"kind": "tm:util:" + cmd + ":runstate", "command": "run", "utilCmdArgs": in.UtilCmdArgs}
	switch {
	case (cmd == "unix-cp" || cmd == "unix-mv") && len(args) == 2 && strings.HasPrefix(args[0], "/config/ssl/ssl.csr/") && strings.HasPrefix(args[1], "/var/config/rest/bulk/"):
		name := strings.TrimPrefix(args[0], "/config/ssl/ssl.csr/")
		csr := d.csrs[name]
		if csr == nil {
			ok["commandResult"] = fmt.Sprintf("%s: cannot stat '%s': No such file or directory\n", strings.TrimPrefix(cmd, "unix-"), args[0])
			return 200, ok
		}
		d.uploads["bulk/"+strings.TrimPrefix(args[1], "/var/config/rest/bulk/")] = pemCSR(csr)
		if cmd == "unix-mv" {
			delete(d.csrs, name)
		}
	case cmd == "unix-rm" && len(args) == 1 && strings.HasPrefix(args[0], "/var/config/rest/"):
		rel := strings.TrimPrefix(args[0], "/var/config/rest/")
		rel = strings.TrimPrefix(rel, "downloads/")
		if _, there := d.uploads[rel]; !there {
			ok["commandResult"] = fmt.Sprintf("rm: cannot remove '%s': No such file or directory\n", args[0])
			return 200, ok
		}
		delete(d.uploads, rel)
	default:
		return notModelled(cmd + " " + in.UtilCmdArgs)
	}
	return 200, ok
}
