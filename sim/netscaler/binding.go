package netscaler

import (
	"net/http"
	"sort"
)

// bindingObject is an sslvserver_sslcertkey_binding as GET shows it.
func bindingObject(vs string, b binding) map[string]any {
	return map[string]any{"vservername": vs, "certkeyname": b.CertKey, "ca": b.CA, "snicert": false, "skipcaname": false}
}

// bindingCall is the sslvserver_sslcertkey_binding resource: bind (PUT,
// as documented, or POST, as SDKs send it), list, unbind.
//
// SNI is not enabled on the simulated virtual servers, so one server
// certificate is bound at a time: binding another replaces it, as the
// appliance does (with ?warning=yes it answers 209 with the warning
// 1546 "Current certificate replaces the previous binding").
func (d *Device) bindingCall(req request) (int, any, *nitroErr) {
	switch req.method {
	case http.MethodGet:
		if req.name == "" {
			var vss []string
			for vs := range d.run.bindings {
				vss = append(vss, vs)
			}
			sort.Strings(vss)
			list := []map[string]any{}
			for _, vs := range vss {
				for _, b := range d.run.bindings[vs] {
					list = append(list, bindingObject(vs, b))
				}
			}
			return 200, done("sslvserver_sslcertkey_binding", list), nil
		}
		if d.vservers[req.name] == nil {
			return 0, nil, errNoEntry("vservername, " + req.name)
		}
		if len(d.run.bindings[req.name]) == 0 {
			return 200, done("", nil), nil
		}
		list := []map[string]any{}
		for _, b := range d.run.bindings[req.name] {
			list = append(list, bindingObject(req.name, b))
		}
		return 200, done("sslvserver_sslcertkey_binding", list), nil
	case http.MethodPut, http.MethodPost:
		if req.action != "" {
			return 0, nil, errNotModelled("sslvserver_sslcertkey_binding?action=" + req.action)
		}
		var in struct {
			Vservername string  `json:"vservername"`
			Certkeyname string  `json:"certkeyname"`
			CA          bool    `json:"ca"`
			Snicert     bool    `json:"snicert"`
			Crlcheck    string  `json:"crlcheck"`
			Ocspcheck   string  `json:"ocspcheck"`
			Skipcaname  *bool   `json:"skipcaname"`
			Priority    *number `json:"priority"`
		}
		if e := req.object(&in); e != nil {
			return 0, nil, e
		}
		switch {
		case in.Vservername == "":
			return 0, nil, errArgMissing("vServerName")
		case in.Certkeyname == "":
			return 0, nil, errArgMissing("certkeyName")
		case d.vservers[in.Vservername] == nil:
			return 0, nil, errNoVServer
		case in.Snicert:
			return 0, nil, &nitroErr{599, 3627, "SNI feature not enabled on the vserver/service"}
		case !in.CA && (in.Crlcheck != "" || in.Ocspcheck != "" || in.Skipcaname != nil):
			return 0, nil, &nitroErr{400, 1093, "Argument pre-requisite missing [CA]"}
		case in.Crlcheck != "" || in.Ocspcheck != "" || in.Priority != nil:
			return 0, nil, errNotModelled("CRL and OCSP checks")
		}
		ck := d.run.certKeys[in.Certkeyname]
		if ck == nil {
			return 0, nil, &nitroErr{599, 1540, "Certificate does not exist"}
		}
		bs := d.run.bindings[in.Vservername]
		for _, b := range bs {
			if b.CertKey == in.Certkeyname && b.CA == in.CA {
				return 0, nil, errExists("certkeyName, " + in.Certkeyname)
			}
		}
		if in.CA {
			d.run.bindings[in.Vservername] = append(bs, binding{CertKey: in.Certkeyname, CA: true})
			return http.StatusCreated, nil, nil
		}
		if ck.signer == nil {
			return 0, nil, &nitroErr{599, 1547, "Certificate is not a server certificate"}
		}
		replaced := false
		kept := []binding{{CertKey: in.Certkeyname}}
		for _, b := range bs {
			if b.CA {
				kept = append(kept, b)
			} else {
				replaced = true
			}
		}
		d.run.bindings[in.Vservername] = kept
		if replaced && req.warning {
			return 209, map[string]any{"errorcode": 1546, "message": "Current certificate replaces the previous binding", "severity": "WARNING"}, nil
		}
		return http.StatusCreated, nil, nil
	case http.MethodDelete:
		if d.vservers[req.name] == nil {
			return 0, nil, errNoVServer
		}
		name := req.args["certkeyname"]
		if name == "" {
			return 0, nil, errArgMissing("certkeyName")
		}
		ca := req.args["ca"] == "true"
		for k := range req.args {
			if k != "certkeyname" && k != "ca" && k != "snicert" {
				return 0, nil, errNotModelled("unbind argument " + k)
			}
		}
		bs := d.run.bindings[req.name]
		for i, b := range bs {
			if b.CertKey == name && b.CA == ca {
				d.run.bindings[req.name] = append(bs[:i:i], bs[i+1:]...)
				if len(d.run.bindings[req.name]) == 0 {
					delete(d.run.bindings, req.name)
				}
				return 200, nil, nil
			}
		}
		return 0, nil, errNoBinding
	}
	return 0, nil, errMethod
}

// vserverCall is GET sslvserver: the SSL settings of virtual servers (SNI
// disabled; changing them is not modelled).
func (d *Device) vserverCall(req request) (int, any, *nitroErr) {
	if req.method != http.MethodGet {
		return 0, nil, errNotModelled(req.method + " sslvserver")
	}
	obj := func(name string) map[string]any {
		return map[string]any{"vservername": name, "snienable": "DISABLED", "ssl3": "DISABLED", "tls1": "ENABLED", "tls11": "ENABLED",
			"tls12": "ENABLED", "tls13": "DISABLED", "clientauth": "DISABLED", "sslprofile": ""}
	}
	if req.name != "" {
		if d.vservers[req.name] == nil {
			return 0, nil, errNoEntry("vservername, " + req.name)
		}
		return 200, done("sslvserver", []map[string]any{obj(req.name)}), nil
	}
	var names []string
	for n := range d.vservers {
		names = append(names, n)
	}
	sort.Strings(names)
	list := []map[string]any{}
	for _, n := range names {
		list = append(list, obj(n))
	}
	return 200, done("sslvserver", list), nil
}
