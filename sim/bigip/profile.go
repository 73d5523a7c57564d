package bigip

import (
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ottr-dev/ottr"
)

func (d *Device) inUse(fp string) string {
	for pn, p := range d.profiles {
		if p.Cert == fp || p.Key == fp || p.Chain == fp {
			return pn
		}
	}
	return ""
}

func (d *Device) deleteObject(w http.ResponseWriter, m map[string][]*x509.Certificate, fp, kind string) {
	if m[fp] == nil {
		tmError(w, 404, fmt.Sprintf("01020036:3: The requested %s File (%s) was not found.", kind, fp))
		return
	}
	if pn := d.inUse(fp); pn != "" {
		tmError(w, 400, fmt.Sprintf("01070621:3: %s file %s is in use by client-ssl profile %s.", kind, fp, pn))
		return
	}
	delete(m, fp)
	w.WriteHeader(http.StatusOK)
}

func (d *Device) deleteKey(w http.ResponseWriter, fp string) {
	if d.keys[fp] == nil {
		tmError(w, 404, fmt.Sprintf("01020036:3: The requested Certificate Key File (%s) was not found.", fp))
		return
	}
	if pn := d.inUse(fp); pn != "" {
		tmError(w, 400, fmt.Sprintf("01070621:3: Key file %s is in use by client-ssl profile %s.", fp, pn))
		return
	}
	delete(d.keys, fp)
	w.WriteHeader(http.StatusOK)
}

type certKeyChain struct {
	Name  string `json:"name"`
	Cert  string `json:"cert"`
	Key   string `json:"key"`
	Chain string `json:"chain"`
}

func (d *Device) profile(w http.ResponseWriter, method, fp string, body []byte) {
	p := d.profiles[fp]
	if p == nil {
		tmError(w, 404, fmt.Sprintf("01020036:3: The requested ClientSSL Profile (%s) was not found.", fp))
		return
	}
	switch method {
	case http.MethodGet:
	case http.MethodPatch, http.MethodPut:
		var in struct {
			CertKeyChain []certKeyChain `json:"certKeyChain"`
		}
		if err := json.Unmarshal(body, &in); err != nil || len(in.CertKeyChain) == 0 {
			tmError(w, 400, "Found unexpected json pair")
			return
		}
		c := in.CertKeyChain[0]
		cert, key := d.certs[c.Cert], d.keys[c.Key]
		switch {
		case cert == nil:
			tmError(w, 400, fmt.Sprintf("010717e3:3: Client SSL profile (%s) refers to certificate file (%s) that does not exist.", fp, c.Cert))
			return
		case key == nil:
			tmError(w, 400, fmt.Sprintf("010717e3:3: Client SSL profile (%s) refers to key file (%s) that does not exist.", fp, c.Key))
			return
		case c.Chain != "" && c.Chain != "none" && d.certs[c.Chain] == nil:
			tmError(w, 400, fmt.Sprintf("010717e3:3: Client SSL profile (%s) refers to chain file (%s) that does not exist.", fp, c.Chain))
			return
		case !ottr.SamePublicKey(key.Public(), cert[0].PublicKey):
			tmError(w, 400, fmt.Sprintf("010717e5:3: Client SSL profile (%s): the key (%s) and certificate (%s) do not match.", fp, c.Key, c.Cert))
			return
		}
		if c.Chain == "" {
			c.Chain = "none"
		}
		*p = Profile{Cert: c.Cert, Key: c.Key, Chain: c.Chain}
	default:
		tmError(w, 405, "Method "+method+" is not allowed on "+fp)
		return
	}
	part, name, _ := strings.Cut(strings.TrimPrefix(fp, "/"), "/")
	writeJSON(w, 200, map[string]any{"kind": "tm:ltm:profile:client-ssl:client-sslstate", "name": name, "partition": part, "fullPath": fp,
		"cert": p.Cert, "key": p.Key, "chain": p.Chain,
		"certKeyChain": []map[string]string{{"name": "default", "appService": "none", "cert": p.Cert, "key": p.Key, "chain": p.Chain}}})
}
