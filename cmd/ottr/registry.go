package main

import (
	"crypto/x509"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	bigipdriver "github.com/ottr-dev/ottr/driver/bigip"
	execdriver "github.com/ottr-dev/ottr/driver/exec"
	fortigatedriver "github.com/ottr-dev/ottr/driver/fortigate"
	junosdriver "github.com/ottr-dev/ottr/driver/junos"
	lighthousedriver "github.com/ottr-dev/ottr/driver/lighthouse"
	linuxdriver "github.com/ottr-dev/ottr/driver/linux"
	netscalerdriver "github.com/ottr-dev/ottr/driver/netscaler"
	panosdriver "github.com/ottr-dev/ottr/driver/panos"
	redfishdriver "github.com/ottr-dev/ottr/driver/redfish"
	ssmdriver "github.com/ottr-dev/ottr/driver/ssm"
	"go.yaml.in/yaml/v3"
)

// platform is one built-in driver: what 'ottr platforms' shows, the Ottr
// recipes that select it, how its settings are read and checked, and how
// it is opened for an asset. Adding a platform is a driver package and one
// entry in registry.
type platform struct {
	info driverInfo
	// recipes are prefixes of Ottr route.json recipes that select the
	// driver when the config has no devices settings for the platform.
	recipes []string
	// decode reads the driver's settings from YAML, refusing unknown keys;
	// problems' fields are relative to the settings.
	decode func(n *yaml.Node) (any, []ottr.Problem)
	// check reports the problems of decoded settings alone.
	check func(settings any) []ottr.Problem
	// open opens the driver for one asset.
	open func(o driverOpen) (ottr.Driver, error)
}

// driverOpen is what openDriver resolved for one asset: its merged device
// settings, the driver's own settings (nil when none are configured), its
// login, and the trust checks every handshake consults.
type driverOpen struct {
	asset    *ottr.Asset
	device   DeviceConfig
	settings any
	cred     ottr.Credential
	// tofu is the asset's opt-out of validation (certificate_validation
	// "False"): trust a key or certificate seen for the first time.
	tofu  bool
	trust func(tofu bool) ottr.TrustCheck
	roots func() *x509.CertPool
}

// registry is the one list of built-in drivers.
var registry = []platform{
	entry(driverInfo{Driver: "exec", Protocol: "your scripts (argv, environment, exit codes)", OnBoxKey: true, SANs: "as the script makes them", Rollback: true,
		Binds: "whatever the install script does"}, nil,
		func(c execdriver.Config, ok bool, o driverOpen) (ottr.Driver, error) {
			if !ok {
				return nil, ottr.Errorf(ottr.EINVALID, "devices: platform %s uses the exec driver but has no exec settings", o.asset.HostPlatform)
			}
			c.Asset, c.Credential = o.asset, o.cred
			if c.Address == "" {
				c.Address = o.device.address(o.asset)
			}
			return execdriver.New(c)
		}),
	entry(driverInfo{Driver: "linux", Protocol: "SSH (openssl on the host)", OnBoxKey: true, SANs: "all", Rollback: true,
		Binds: "key and chain files, then a reload command (nginx, haproxy, apache…)"}, nil,
		func(c linuxdriver.Config, _ bool, o driverOpen) (ottr.Driver, error) {
			c.Asset, c.Credential = o.asset, o.cred
			if c.Serve == "" {
				c.Serve = o.device.address(o.asset)
			}
			// The asset's certificate_validation "False" is the opt-out: trust a
			// host key seen for the first time.
			if o.tofu {
				c.TrustOnFirstUse = true
			}
			c.Trust = o.trust(c.TrustOnFirstUse)
			return linuxdriver.New(c)
		}),
	entry(driverInfo{Driver: "panos", Protocol: "PAN-OS XML API", OnBoxKey: true, SANs: "all", Rollback: true,
		Binds: "SSL/TLS service profile → management interface (and GlobalProtect using the profile)"}, []string{"otter-panos-"},
		func(c panosdriver.Config, _ bool, o driverOpen) (ottr.Driver, error) {
			c.Asset, c.Credential = o.asset, o.cred
			if c.Address == "" {
				c.Address = o.device.address(o.asset)
			}
			c.RootCAs, c.Trust = o.roots(), o.trust(o.tofu)
			return panosdriver.New(c)
		}),
	entry(driverInfo{Driver: "bigip", Protocol: "F5 iControl REST", OnBoxKey: true, SANs: "all", Rollback: true,
		Binds: "the management GUI's httpd certificate (as Ottr); client-ssl profiles' certKeyChain with target client_ssl_profiles"}, []string{"otter-f5-"},
		func(c bigipdriver.Config, _ bool, o driverOpen) (ottr.Driver, error) {
			c.Asset, c.Credential = o.asset, o.cred
			if c.Serve == "" {
				c.Serve = o.device.address(o.asset)
			}
			c.RootCAs, c.Trust = o.roots(), o.trust(o.tofu)
			return bigipdriver.New(c)
		}),
	entry(driverInfo{Driver: "lighthouse", Protocol: "Opengear Lighthouse REST", OnBoxKey: true,
		SANs: "common name only on the device; all with key_off_device (key made in Ottr)", Rollback: false,
		Binds: "the web UI and REST API certificate (one slot)"}, []string{"otter-lighthouse-"},
		func(c lighthousedriver.Config, _ bool, o driverOpen) (ottr.Driver, error) {
			c.Asset, c.Credential = o.asset, o.cred
			if c.Address == "" {
				c.Address = o.device.address(o.asset)
			}
			c.RootCAs, c.Trust = o.roots(), o.trust(o.tofu)
			return lighthousedriver.New(c)
		}),
	entry(driverInfo{Driver: "fortigate", Protocol: "FortiOS REST API (API token)", OnBoxKey: true, SANs: "all", Rollback: true,
		Binds: "system global admin-server-cert (GUI and REST API) and/or vpn.ssl settings servercert (SSL-VPN)"}, nil,
		func(c fortigatedriver.Config, _ bool, o driverOpen) (ottr.Driver, error) {
			c.Asset, c.Credential = o.asset, o.cred
			if c.Address == "" {
				c.Address = o.device.address(o.asset)
			}
			c.RootCAs, c.Trust = o.roots(), o.trust(o.tofu)
			return fortigatedriver.New(c)
		}),
	entry(driverInfo{Driver: "redfish", Protocol: "DMTF Redfish (BMC CertificateService)", OnBoxKey: true, SANs: "all", Rollback: false,
		Binds: "the BMC's HTTPS certificate (the manager's NetworkProtocol HTTPS collection; one slot)"}, nil,
		func(c redfishdriver.Config, _ bool, o driverOpen) (ottr.Driver, error) {
			c.Asset, c.Credential = o.asset, o.cred
			if c.Address == "" {
				c.Address = o.device.address(o.asset)
			}
			c.RootCAs, c.Trust = o.roots(), o.trust(o.tofu)
			return redfishdriver.New(c)
		}),
	entry(driverInfo{Driver: "netscaler", Protocol: "NetScaler ADC NITRO REST", OnBoxKey: true, SANs: "all", Rollback: true,
		Binds: "a new certificate key pair, linked to its issuers, bound to the configured SSL virtual servers"}, nil,
		func(c netscalerdriver.Config, _ bool, o driverOpen) (ottr.Driver, error) {
			c.Asset, c.Credential = o.asset, o.cred
			if c.Address == "" {
				c.Address = o.device.address(o.asset)
			}
			c.RootCAs, c.Trust = o.roots(), o.trust(o.tofu)
			return netscalerdriver.New(c)
		}),
	entry(driverInfo{Driver: "junos", Protocol: "NETCONF over SSH", OnBoxKey: true, SANs: "one on the device (one domain-name per request); all with key_off_device (key made in Ottr)", Rollback: true,
		Binds: "system services web-management https pki-local-certificate (J-Web)"}, []string{"otter-junos-"},
		func(c junosdriver.Config, _ bool, o driverOpen) (ottr.Driver, error) {
			c.Asset, c.Credential = o.asset, o.cred
			if c.Serve == "" {
				c.Serve = o.device.address(o.asset)
			}
			c.Trust = o.trust(o.tofu || c.TrustOnFirstUse)
			return junosdriver.New(c)
		}),
	entry(driverInfo{Driver: "ssm", Protocol: "AWS Systems Manager Run Command (openssl on the instance)", OnBoxKey: true, SANs: "all", Rollback: true,
		Binds: "Ottr's /opt/otter/certs files (key, leaf, issuers, full chain) between its pre and post hook directories, then a reload command"}, []string{"otter-linux-aws-ssm-"},
		func(c ssmdriver.Config, _ bool, o driverOpen) (ottr.Driver, error) {
			c.Asset, c.Credential = o.asset, o.cred
			if c.Serve == "" {
				c.Serve = o.device.address(o.asset)
			}
			return ssmdriver.New(c)
		}),
}

// settingsChecker is a driver's settings type: its Check reports the
// problems of the settings alone.
type settingsChecker interface{ Check() []ottr.Problem }

// entry builds a registry entry for a driver whose settings are C. open
// gets the configured settings (the zero C and ok false when there are
// none), with C's yaml-tagged fields only.
func entry[C settingsChecker](info driverInfo, recipes []string, open func(c C, ok bool, o driverOpen) (ottr.Driver, error)) platform {
	for _, r := range recipes {
		info.Recipes = append(info.Recipes, r+"*")
	}
	return platform{
		info:    info,
		recipes: recipes,
		decode: func(n *yaml.Node) (any, []ottr.Problem) {
			var c C
			probs := decodeSettings(n, info.Driver, &c)
			return c, probs
		},
		check: func(s any) []ottr.Problem {
			if c, ok := s.(C); ok {
				return c.Check()
			}
			return []ottr.Problem{{Message: fmt.Sprintf("are not settings of the %s driver", info.Driver)}}
		},
		open: func(o driverOpen) (ottr.Driver, error) {
			c, ok := o.settings.(C)
			return open(c, ok, o)
		},
	}
}

// lookupPlatform is the registry entry of a driver, or nil.
func lookupPlatform(driver string) *platform {
	for i := range registry {
		if registry[i].info.Driver == driver {
			return &registry[i]
		}
	}
	return nil
}

// driverNames lists the drivers this build has, in registry order.
func driverNames() []string {
	names := make([]string, len(registry))
	for i, p := range registry {
		names[i] = p.info.Driver
	}
	return names
}

// recipeDriver is the driver a route's recipe names, or "".
func recipeDriver(recipe string) string { return recipeDriverIn(registry, recipe) }

// recipeDriverIn picks the driver whose recipe prefix is the longest match,
// so "otter-linux-aws-ssm-" wins over a shorter "otter-linux-" whatever
// the order of reg.
func recipeDriverIn(reg []platform, recipe string) string {
	best, driver := -1, ""
	for _, p := range reg {
		for _, prefix := range p.recipes {
			if strings.HasPrefix(recipe, prefix) && len(prefix) > best {
				best, driver = len(prefix), p.info.Driver
			}
		}
	}
	return driver
}

// decodeSettings reads a mapping into *out key by key, so every unknown
// key and every badly typed value is a problem naming its key (relative to
// the settings) in words, never a Go type.
func decodeSettings(n *yaml.Node, driver string, out any) []ottr.Problem {
	if n == nil || n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null") {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return []ottr.Problem{{Message: fmt.Sprintf("want a mapping of the %s driver's settings", driver)}}
	}
	v := reflect.ValueOf(out).Elem()
	fields := map[string]int{}
	var known []string
	for i := 0; i < v.NumField(); i++ {
		tag := strings.Split(v.Type().Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" {
			fields[tag] = i
			known = append(known, tag)
		}
	}
	slices.Sort(known)
	var probs []ottr.Problem
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, val := n.Content[i].Value, n.Content[i+1]
		idx, ok := fields[key]
		if !ok {
			probs = append(probs, ottr.Problem{Field: key, Message: fmt.Sprintf("is not a setting of the %s driver (it has %s)", driver, strings.Join(known, ", "))})
			continue
		}
		f := v.Field(idx)
		if err := val.Decode(f.Addr().Interface()); err != nil {
			probs = append(probs, ottr.Problem{Field: key, Message: "want " + kindOf(f.Type())})
		}
	}
	return probs
}

// kindOf says in words what a settings field holds.
func kindOf(t reflect.Type) string {
	if t == reflect.TypeFor[time.Duration]() {
		return "a duration such as 90s, 5m or 1h"
	}
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Int32, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float64, reflect.Float32:
		return "a number"
	case reflect.Slice:
		return "a list of " + strings.TrimPrefix(kindOf(t.Elem()), "a ") + "s"
	case reflect.Map:
		return "a mapping of names to " + strings.TrimPrefix(kindOf(t.Elem()), "a ") + "s"
	}
	return "a string"
}
