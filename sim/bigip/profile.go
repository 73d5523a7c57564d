package bigip

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

func (p *clientSSL) item(fp string) map[string]any {
	part, name := splitPath(fp)
	chains := make([]map[string]any, 0, len(p.chains))
	for _, e := range p.chains {
		chains = append(chains, map[string]any{"name": e.Name, "appService": "none", "cert": e.Cert, "key": e.Key, "chain": e.Chain,
			"certReference": map[string]any{"link": selfLink("/mgmt/tm/sys/file/ssl-cert/" + urlName(e.Cert))},
			"keyReference":  map[string]any{"link": selfLink("/mgmt/tm/sys/file/ssl-key/" + urlName(e.Key))}})
	}
	// The settings below are the factory clientssl values; the simulator
	// keeps them fixed and refuses changes to them.
	return map[string]any{"kind": "tm:ltm:profile:client-ssl:client-sslstate", "name": name, "partition": part, "fullPath": fp,
		"generation": 1, "selfLink": selfLink("/mgmt/tm/ltm/profile/client-ssl/" + urlName(fp)),
		"certKeyChain": chains, "defaultsFrom": p.parent, "inheritCertkeychain": fmt.Sprint(p.inherit),
		"alertTimeout": "indefinite", "allowNonSsl": "disabled", "authenticate": "once", "authenticateDepth": 9,
		"cacheSize": 262144, "cacheTimeout": 3600, "caFile": "none", "ciphers": "DEFAULT", "cipherGroup": "none",
		"clientCertCa": "none", "crlFile": "none", "handshakeTimeout": "10", "mode": "enabled", "modSslMethods": "disabled",
		"peerCertMode": "ignore", "renegotiation": "enabled", "renegotiatePeriod": "indefinite", "renegotiateMaxRecordDelay": "indefinite",
		"retainCertificate": "true", "secureRenegotiation": "require", "serverName": "none", "sessionTicket": "disabled",
		"sniDefault": "false", "sniRequire": "false", "strictResume": "disabled", "uncleanShutdown": "enabled",
		"tmOptions": "{ dont-insert-empty-fragments no-tlsv1.3 }"}
}

// profileRequest is a client-ssl create or update; other properties are
// refused as not modelled.
type profileRequest struct {
	Name         string        `json:"name"`
	Partition    string        `json:"partition"`
	DefaultsFrom string        `json:"defaultsFrom"`
	CertKeyChain *[]chainEntry `json:"certKeyChain"`
}

func decodeProfile(body []byte) (profileRequest, int, any) {
	var in profileRequest
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		c, b := tmErr(400, "Found invalid JSON body: "+err.Error())
		return in, c, b
	}
	for k, v := range raw {
		switch k {
		case "name", "partition", "fullPath", "kind", "defaultsFrom", "certKeyChain":
		default:
			c, b := notModelled("client-ssl property " + k + " (" + string(v) + ")")
			return in, c, b
		}
	}
	if ckc, ok := raw["certKeyChain"]; ok {
		var entries []map[string]any
		if err := json.Unmarshal(ckc, &entries); err != nil {
			c, b := tmErr(400, "certKeyChain: want a list of {name, cert, key, chain}: "+err.Error())
			return in, c, b
		}
		for _, e := range entries {
			for k, v := range e {
				switch k {
				case "name", "cert", "key", "chain", "appService", "certReference", "keyReference", "chainReference":
				case "passphrase":
					if v != "" && v != nil {
						c, b := notModelled("certKeyChain passphrase")
						return in, c, b
					}
				default:
					c, b := notModelled("certKeyChain property " + k)
					return in, c, b
				}
			}
		}
	}
	if err := json.Unmarshal(body, &in); err != nil {
		c, b := tmErr(400, "Found invalid JSON body: "+err.Error())
		return in, c, b
	}
	return in, 0, nil
}

// chains checks and completes certKeyChain entries (chain defaults to
// none; cert and key are needed); that the objects exist and match is
// checked with the whole configuration afterwards.
func chains(fp string, in []chainEntry) ([]chainEntry, int, any) {
	out := make([]chainEntry, 0, len(in))
	seen := map[string]bool{}
	for i, e := range in {
		if e.Name == "" || e.Cert == "" || e.Key == "" {
			c, b := tmErr(400, fmt.Sprintf("01070734:3: Configuration error: Client SSL profile (%s): certKeyChain[%d] needs name, cert and key.", fp, i))
			return nil, c, b
		}
		if seen[e.Name] {
			c, b := tmErr(400, fmt.Sprintf("01070734:3: Configuration error: Client SSL profile (%s): certKeyChain name %s is used twice.", fp, e.Name))
			return nil, c, b
		}
		seen[e.Name] = true
		if e.Chain == "" {
			e.Chain = "none"
		}
		for _, f := range []*string{&e.Cert, &e.Key, &e.Chain} {
			if *f != "none" && !strings.HasPrefix(*f, "/") {
				*f = "/Common/" + *f
			}
		}
		out = append(out, e)
	}
	return out, 0, nil
}

// profiles is /mgmt/tm/ltm/profile/client-ssl[/~Common~name].
func (d *Device) profiles(req request, name string) (int, any) {
	if name == "" {
		switch req.method {
		case http.MethodGet:
			all := map[string]map[string]any{}
			for fp, p := range d.cfg.profiles {
				all[fp] = p.item(fp)
			}
			return collection("tm:ltm:profile:client-ssl:client-sslcollectionstate", "/mgmt/tm/ltm/profile/client-ssl", req.query, all)
		case http.MethodPost:
			return d.createProfile(req.body)
		}
		return tmErr(405, "Method "+req.method+" is not allowed on the client-ssl collection")
	}
	fp := fullPath(name)
	p := d.cfg.profiles[fp]
	if p == nil {
		return tmErr(404, fmt.Sprintf("01020036:3: The requested ClientSSL Profile (%s) was not found.", fp))
	}
	switch req.method {
	case http.MethodGet:
		return 200, p.item(fp)
	case http.MethodPatch, http.MethodPut:
		in, code, out := decodeProfile(req.body)
		if code != 0 {
			return code, out
		}
		np := *p
		if in.DefaultsFrom != "" && in.DefaultsFrom != p.parent {
			return notModelled("changing the parent (defaultsFrom) of a client-ssl profile")
		}
		if in.CertKeyChain != nil {
			if np.chains, code, out = chains(fp, *in.CertKeyChain); code != 0 {
				return code, out
			}
			np.inherit = false
		}
		d.cfg.profiles[fp] = &np
		return 200, np.item(fp)
	case http.MethodDelete:
		if fp == "/Common/"+d.ProfileName {
			return tmErr(400, fmt.Sprintf("01070621:3: Profile %s is in use by virtual server /Common/vs_https.", fp))
		}
		for n, o := range d.cfg.profiles {
			if o.parent == fp {
				return tmErr(400, fmt.Sprintf("01070621:3: Profile %s is the parent of profile %s.", fp, n))
			}
		}
		delete(d.cfg.profiles, fp)
		return 200, nil
	}
	return tmErr(405, "Method "+req.method+" is not allowed on "+fp)
}

func (d *Device) createProfile(body []byte) (int, any) {
	in, code, out := decodeProfile(body)
	if code != 0 {
		return code, out
	}
	fp, code, out := objectPath(fileRequest{Name: in.Name, Partition: in.Partition})
	if code != 0 {
		return code, out
	}
	if d.cfg.profiles[fp] != nil {
		return tmErr(409, fmt.Sprintf("01020066:3: The requested ClientSSL Profile (%s) already exists in partition Common.", fp))
	}
	parent := in.DefaultsFrom
	if parent == "" {
		parent = "/Common/clientssl"
	}
	if !strings.HasPrefix(parent, "/") {
		parent = "/Common/" + parent
	}
	pp := d.cfg.profiles[parent]
	if pp == nil {
		return tmErr(400, fmt.Sprintf("01070734:3: Configuration error: Client SSL profile (%s): parent profile (%s) was not found.", fp, parent))
	}
	// Without a certKeyChain of its own, a profile takes its parent's.
	p := &clientSSL{parent: parent, chains: append([]chainEntry(nil), pp.chains...), inherit: true}
	if in.CertKeyChain != nil {
		if p.chains, code, out = chains(fp, *in.CertKeyChain); code != 0 {
			return code, out
		}
		p.inherit = false
	}
	d.cfg.profiles[fp] = p
	return 200, p.item(fp)
}
