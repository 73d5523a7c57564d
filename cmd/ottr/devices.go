package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"go.yaml.in/yaml/v3"
)

// DevicesConfig says how to reach and drive devices: per platform (the
// asset's host_platform), overridden per asset (by system_name).
type DevicesConfig struct {
	Platforms map[string]DeviceConfig `yaml:"platforms"`
	Assets    map[string]DeviceConfig `yaml:"assets"`
}

// DeviceConfig is one platform's or asset's device settings.
type DeviceConfig struct {
	// Driver is the driver that talks to the device (ottr platforms lists
	// them).
	Driver string `yaml:"driver"`
	// Credential names the credential set to log in with: a stored set,
	// env:NAME or file:PATH. An asset's own credential field wins.
	Credential string `yaml:"credential"`
	// Address is host:port of the device's service, for the reachability
	// check and reading the served certificate; default the asset's
	// ip_address (or system_name) and Port.
	Address string `yaml:"address"`
	Port    int    `yaml:"port"`
	// Settings are the driver's own settings (key settings:): the Config
	// of its package, decoded and checked by its registry entry when the
	// file is read. An asset's settings replace its platform's.
	Settings any `yaml:"-"`
	// CSRSettings (key_type, subject) apply to the platform's or asset's
	// devices, over the recipe's, CA's and global ones; an asset's over
	// its platform's.
	CSRSettings `yaml:",inline"`

	// settingsKey is where Settings came from, "settings" or a deprecated
	// per-driver block ("bigip"), and settingsFor the driver they were
	// read for; probs are the problems met reading the entry, relative to
	// it.
	settingsKey, settingsFor string
	probs                    []ottr.Problem
}

// UnmarshalYAML reads an entry and its driver's settings, from settings:
// or from today's per-driver block (exec:, bigip:, …, deprecated). Problems
// are kept for validate, so every one is reported with its key path.
func (d *DeviceConfig) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Driver     string               `yaml:"driver"`
		Credential string               `yaml:"credential"`
		Address    string               `yaml:"address"`
		Port       int                  `yaml:"port"`
		Settings   yaml.Node            `yaml:"settings"` // a *yaml.Node field stays empty in yaml.v3
		CSR        CSRSettings          `yaml:",inline"`
		Rest       map[string]yaml.Node `yaml:",inline"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	*d = DeviceConfig{Driver: raw.Driver, Credential: raw.Credential, Address: raw.Address, Port: raw.Port, CSRSettings: raw.CSR}
	bad := func(field, format string, args ...any) {
		d.probs = append(d.probs, ottr.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	var node *yaml.Node
	driver := raw.Driver
	if raw.Settings.Kind != 0 {
		node = &raw.Settings
		d.settingsKey = "settings"
		if driver == "" {
			bad("driver", "is required with settings: they are checked against it")
		}
	}
	for _, key := range sortedKeys(raw.Rest) {
		switch {
		case lookupPlatform(key) == nil:
			bad(key, "is not a device setting (want driver, credential, address, port, key_type, subject or settings)")
		case raw.Driver != "" && key != raw.Driver:
			bad(key, "holds settings of the %s driver but this entry uses %s: remove it", key, raw.Driver)
		case node != nil:
			bad(key, "is a second set of driver settings beside %s: keep one", d.settingsKey)
		default:
			v := raw.Rest[key]
			node, driver, d.settingsKey = &v, key, key
		}
	}
	if node == nil || driver == "" {
		return nil
	}
	p := lookupPlatform(driver)
	if p == nil {
		return nil // validate reports the unknown driver
	}
	var probs []ottr.Problem
	d.Settings, probs = p.decode(node)
	d.settingsFor = driver
	for _, pr := range probs {
		bad(joinField(d.settingsKey, pr.Field), "%s", pr.Message)
	}
	return nil
}

// settingsDriver is the driver Settings were read for; Driver when they
// were set in code.
func (c DeviceConfig) settingsDriver() string {
	if c.settingsFor != "" {
		return c.settingsFor
	}
	return c.Driver
}

func joinField(prefix, field string) string {
	if field == "" {
		return prefix
	}
	return prefix + "." + field
}

// Deprecated lists, once each, the deprecated per-driver blocks the file
// used and the key that replaces them.
func (d *DevicesConfig) Deprecated() []string {
	var out []string
	for _, part := range []struct {
		path string
		m    map[string]DeviceConfig
	}{{"devices.assets.", d.Assets}, {"devices.platforms.", d.Platforms}} {
		for _, n := range sortedKeys(part.m) {
			if k := part.m[n].settingsKey; k != "" && k != "settings" {
				out = append(out, fmt.Sprintf("%s%s.%s is deprecated: write %s%s.settings", part.path, n, k, part.path, n))
			}
		}
	}
	return out
}

func (d *DevicesConfig) validate(bad func(field, format string, args ...any)) {
	names := driverNames()
	check := func(field string, c DeviceConfig) {
		for _, p := range c.probs {
			bad(joinField(field, p.Field), "%s", p.Message)
		}
		if c.Driver != "" && !slices.Contains(names, c.Driver) {
			bad(field+".driver", "%q is not one of %s", c.Driver, strings.Join(names, ", "))
		}
		if c.Address != "" {
			if _, _, err := net.SplitHostPort(c.Address); err != nil {
				bad(field+".address", "%q is not host:port", c.Address)
			}
		}
		if c.Port < 0 || c.Port > 65535 {
			bad(field+".port", "%d is not a port", c.Port)
		}
		c.CSRSettings.check(field, bad)
		if c.Settings == nil {
			return
		}
		if p := lookupPlatform(c.settingsDriver()); p != nil {
			key := c.settingsKey
			if key == "" {
				key = "settings"
			}
			for _, pr := range p.check(c.Settings) {
				bad(joinField(field+"."+key, pr.Field), "%s", pr.Message)
			}
		}
	}
	for _, n := range sortedKeys(d.Platforms) {
		check("devices.platforms."+n, d.Platforms[n])
	}
	for _, n := range sortedKeys(d.Assets) {
		check("devices.assets."+n, d.Assets[n])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// device returns the merged settings for an asset: its platform's, then
// its own on top.
func (d *DevicesConfig) device(a *ottr.Asset) (DeviceConfig, error) {
	c, okP := d.Platforms[a.HostPlatform]
	o, okA := d.Assets[a.SystemName]
	if !okP && !okA {
		return c, ottr.Errorf(ottr.EINVALID, "no device settings for platform %q: add devices.platforms.%s to the config", a.HostPlatform, a.HostPlatform)
	}
	if o.Driver != "" {
		c.Driver = o.Driver
	}
	if o.Credential != "" {
		c.Credential = o.Credential
	}
	if o.Address != "" {
		c.Address = o.Address
	}
	if o.Port != 0 {
		c.Port = o.Port
	}
	if o.Settings != nil {
		c.Settings, c.settingsKey, c.settingsFor = o.Settings, o.settingsKey, o.settingsFor
	}
	if o.KeyType != "" {
		c.KeyType = o.KeyType
	}
	if o.Subject != nil {
		c.Subject = o.Subject
	}
	if a.Credential != "" {
		c.Credential = a.Credential
	}
	if a.Port != 0 && o.Port == 0 {
		c.Port = a.Port
	}
	return c, nil
}

// address is where the device listens: the configured address, else the
// asset's IP (or name) and port; "" when unknown.
func (c DeviceConfig) address(a *ottr.Asset) string {
	if c.Address != "" {
		return c.Address
	}
	if c.Port == 0 {
		return ""
	}
	return net.JoinHostPort(a.Host(), strconv.Itoa(c.Port))
}

// openDriver opens the driver for an asset's device.
func (a *app) openDriver(ctx context.Context, as *ottr.Asset) (ottr.Driver, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	dc, err := c.Devices.device(as)
	recipe := ""
	if err != nil || dc.Driver == "" {
		// No settings: the route's recipe may name the driver (Ottr's
		// route.json), with the platform's stored credential set.
		rt, rerr := a.routeTable()
		if rerr != nil || rt == nil {
			return nil, err
		}
		route, rerr := rt.LookupAsset(as)
		if rerr != nil || recipeDriver(route.Recipe) == "" {
			if err == nil {
				err = ottr.Errorf(ottr.EINVALID, "devices: no driver set for platform %s", as.HostPlatform)
			}
			return nil, err
		}
		dc.Driver, recipe = recipeDriver(route.Recipe), route.Recipe
		// Ottr reached every device on 443; an asset's own port is the one
		// way to say otherwise without device settings.
		if dc.Port == 0 {
			dc.Port = as.Port
		}
		if dc.Credential == "" {
			dc.Credential = as.Credential
		}
		if dc.Credential == "" {
			dc.Credential = as.HostPlatform // Ottr kept one secret per platform: <prefix>/otter/<platform>
		}
	}
	if err := inventoryCredential(as); err != nil {
		return nil, err
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	// Every handshake consults the device's trust record before a
	// credential is sent: certificate_validation "False" pins on first use.
	trust := func(tofu bool) ottr.TrustCheck {
		return ottr.CheckTrust(ctx, db, as.SystemName, tofu, time.Now)
	}
	tofu := !bool(as.CertificateValidation)
	var cred ottr.Credential
	if dc.Credential != "" {
		if cred, err = a.credentials().Credential(ctx, dc.Credential); err != nil {
			if recipe != "" {
				return nil, ottr.Errorf(ottr.ErrorCode(err), "%s (platform %s uses the %s driver by its route's recipe %s; store its credential set, or configure devices.platforms.%s)",
					ottr.ErrorMessage(err), as.HostPlatform, dc.Driver, recipe, as.HostPlatform)
			}
			return nil, err
		}
	}
	if dc.Driver == "" {
		return nil, ottr.Errorf(ottr.EINVALID, "devices: no driver set for platform %s", as.HostPlatform)
	}
	p := lookupPlatform(dc.Driver)
	if p == nil {
		return nil, fmt.Errorf("driver %q is not built in", dc.Driver)
	}
	// Settings of another driver (the asset chose a different driver than
	// its platform's) are none for this one.
	settings := dc.Settings
	if dc.settingsDriver() != dc.Driver {
		settings = nil
	}
	return p.open(driverOpen{asset: as, device: dc, settings: settings, cred: cred, tofu: tofu, trust: trust,
		roots: func() *x509.CertPool { return a.caRoots(as.CertificateAuthority) }})
}

// usesCredential reports whether a rotation of as logs in with a stored
// credential: its device settings name one, or its route's recipe picks a
// driver that uses the platform's set. In doubt (no readable config) it
// says yes, so the API asks for ADMIN.
func (a *app) usesCredential(as *ottr.Asset) bool {
	if as.Credential != "" {
		return true
	}
	c, err := a.config()
	if err != nil {
		return true
	}
	if dc, err := c.Devices.device(as); err == nil && dc.Driver != "" {
		return dc.Credential != ""
	}
	rt, err := a.routeTable()
	if err != nil || rt == nil {
		return err != nil
	}
	route, err := rt.LookupAsset(as)
	return err != nil || recipeDriver(route.Recipe) != ""
}

// inventoryCredential refuses an asset whose own credential field (set
// through the inventory, where a PRIVILEGED user or an import may have put
// it) is a reference to a server file or variable: those belong to the
// configuration only.
func inventoryCredential(as *ottr.Asset) error {
	if strings.HasPrefix(as.Credential, "env:") || strings.HasPrefix(as.Credential, "file:") {
		return ottr.Invalid("asset "+as.SystemName+" names a configuration-only credential reference",
			ottr.Problem{Field: "credential", Message: "an asset may name a stored credential set only; env: and file: references belong in devices settings"})
	}
	return nil
}

// caRoots are the roots a device's management certificate is checked
// against: the system's, plus the trusted_roots of the asset's CA (the
// device may already serve a certificate from it).
func (a *app) caRoots(name string) *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if c, err := a.config(); err == nil {
		if ca, ok := c.CertificateAuthorities[name]; ok {
			pool.AppendCertsFromPEM(pemOrFile(ca.TrustedRoots))
		}
	}
	return pool
}
