package panos

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"time"
)

// GlobalProtect portals and gateways are modelled as far as certificates
// go: each names the SSL/TLS service profile it serves with (a portal in
// portal-config/ssl-tls-service-profile, a gateway in
// ssl-tls-service-profile, under vsys1's global-protect), the device
// checks the reference, refuses to delete a profile one uses, and a portal
// or gateway added with AddGlobalProtect serves HTTPS with the running
// configuration's certificate for its profile. Every other part of a
// portal or gateway is refused by name.

var gpSteps = path("config", "devices", "entry=localhost.localdomain", "vsys", "entry=vsys1", "global-protect")

// gpKinds are the element names of portals and gateways.
var gpKinds = map[string]string{"portal": "global-protect-portal", "gateway": "global-protect-gateway"}

// gpKey names a portal or gateway in config.gp.
type gpKey struct{ kind, name string } // kind "portal" or "gateway"

func (k gpKey) String() string {
	where := "global-protect -> " + gpKinds[k.kind] + " -> " + k.name
	if k.kind == "portal" {
		return where + " -> portal-config"
	}
	return where
}

// gpTree renders the portals and gateways as the device's XML (nil if
// there are none).
func (c *config) gpTree() *node {
	if len(c.gp) == 0 {
		return nil
	}
	gp := el("global-protect", "")
	for _, kind := range []string{"portal", "gateway"} {
		list := el(gpKinds[kind], "")
		for _, k := range sortedGP(c.gp) {
			if k.kind != kind {
				continue
			}
			e := entryNode(k.name)
			ref := el("ssl-tls-service-profile", c.gp[k])
			if kind == "portal" {
				e.children = append(e.children, el("portal-config", "", ref))
			} else {
				e.children = append(e.children, ref)
			}
			list.children = append(list.children, e)
		}
		if len(list.children) > 0 {
			gp.children = append(gp.children, list)
		}
	}
	return el("vsys", "", entryNode("vsys1", gp))
}

func sortedGP(m map[gpKey]string) []gpKey {
	keys := make([]gpKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b gpKey) int { return cmp.Or(cmp.Compare(a.kind, b.kind), cmp.Compare(a.name, b.name)) })
	return keys
}

// readGP reads the portals and gateways back from a changed tree.
func readGP(root *node) (map[gpKey]string, error) {
	out := map[gpKey]string{}
	gp := find(root, gpSteps)
	if gp == nil {
		return out, nil
	}
	for _, list := range gp.children {
		kind := ""
		for k, el := range gpKinds {
			if el == list.name {
				kind = k
			}
		}
		if kind == "" {
			return nil, fmt.Errorf("global-protect -> %s is not simulated (global-protect-portal and global-protect-gateway are)", list.name)
		}
		for _, e := range list.children {
			name := e.attr("name")
			if e.name != "entry" || name == "" {
				return nil, fmt.Errorf("global-protect -> %s -> %s unexpected here (entries are <entry name=\"…\">)", list.name, e.name)
			}
			k := gpKey{kind, name}
			if _, dup := out[k]; dup {
				return nil, fmt.Errorf("global-protect -> %s -> %s is not unique", list.name, name)
			}
			holder := e
			if kind == "portal" {
				holder = nil
				for _, c := range e.children {
					if c.name != "portal-config" {
						return nil, fmt.Errorf("global-protect -> %s -> %s -> %s is not simulated (portal-config -> ssl-tls-service-profile is)", list.name, name, c.name)
					}
					holder = c
				}
			}
			profile := ""
			if holder != nil {
				for _, c := range holder.children {
					if c.name != "ssl-tls-service-profile" || len(c.children) > 0 {
						return nil, fmt.Errorf("%s -> %s is not simulated (ssl-tls-service-profile, a profile's name, is)", k, c.name)
					}
					profile = c.value()
				}
			}
			out[k] = profile
		}
	}
	return out, nil
}

// checkGP reports the first portal or gateway naming a profile that does
// not exist.
func checkGP(gp map[gpKey]string, profiles map[string]*profile) error {
	for _, k := range sortedGP(gp) {
		if p := gp[k]; p != "" && profiles[p] == nil {
			return fmt.Errorf("%s -> ssl-tls-service-profile '%s' is not a valid reference", k, p)
		}
	}
	return nil
}

// AddGlobalProtect puts a portal (kind "portal") or gateway ("gateway")
// using profileName in both configurations, as a firewall in service has
// it, and serves HTTPS for it on its own port (returned) with the
// certificate the running configuration gives its profile.
func (d *Device) AddGlobalProtect(kind, name, profileName string) (string, error) {
	if gpKinds[kind] == "" {
		return "", fmt.Errorf("kind %q: portal or gateway", kind)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	k := gpKey{kind, name}
	d.mu.Lock()
	d.candidate.gp[k] = profileName
	d.running.gp[k] = profileName
	d.settle()
	d.mu.Unlock()
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0),
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			fmt.Fprint(w, "<html><body>GlobalProtect Portal</body></html>")
		}),
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			d.mu.Lock()
			defer d.mu.Unlock()
			return d.servedBy(d.running.gp[k]), nil
		}}}
	go srv.ServeTLS(ln, "", "") //nolint:errcheck // ends with Close
	d.mu.Lock()
	d.extra = append(d.extra, srv)
	d.mu.Unlock()
	return ln.Addr().String(), nil
}

// RunningGlobalProtect is the profile a portal or gateway uses in the
// running configuration and the certificate that profile names.
func (d *Device) RunningGlobalProtect(kind, name string) (profileName, cert string, ok bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	profileName, ok = d.running.gp[gpKey{kind, name}]
	if p := d.running.profiles[profileName]; p != nil {
		cert = p.cert
	}
	return profileName, cert, ok
}
