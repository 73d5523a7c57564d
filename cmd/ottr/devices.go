package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	bigipdriver "github.com/ottr-dev/ottr/driver/bigip"
	execdriver "github.com/ottr-dev/ottr/driver/exec"
	junosdriver "github.com/ottr-dev/ottr/driver/junos"
	lighthousedriver "github.com/ottr-dev/ottr/driver/lighthouse"
	linuxdriver "github.com/ottr-dev/ottr/driver/linux"
	panosdriver "github.com/ottr-dev/ottr/driver/panos"
	ssmdriver "github.com/ottr-dev/ottr/driver/ssm"
)

// DevicesConfig says how to reach and drive devices: per platform (the
// asset's host_platform), overridden per asset (by system_name).
type DevicesConfig struct {
	Platforms map[string]DeviceConfig `yaml:"platforms"`
	Assets    map[string]DeviceConfig `yaml:"assets"`
}

// DeviceConfig is one platform's or asset's device settings.
type DeviceConfig struct {
	// Driver is the driver that talks to the device: exec or linux.
	Driver string `yaml:"driver"`
	// Credential names the credential set to log in with: a stored set,
	// env:NAME or file:PATH. An asset's own credential field wins.
	Credential string `yaml:"credential"`
	// Address is host:port of the device's service, for the reachability
	// check and reading the served certificate; default the asset's
	// ip_address (or system_name) and Port.
	Address string `yaml:"address"`
	Port    int    `yaml:"port"`
	// Exec configures the exec driver.
	Exec *execdriver.Config `yaml:"exec"`
	// Linux configures the SSH driver for Linux hosts.
	Linux *linuxdriver.Config `yaml:"linux"`
	// PANOS configures the PAN-OS XML API driver.
	PANOS *panosdriver.Config `yaml:"panos"`
	// BIGIP configures the F5 BIG-IP iControl REST driver.
	BIGIP *bigipdriver.Config `yaml:"bigip"`
	// Lighthouse configures the Opengear Lighthouse REST driver.
	Lighthouse *lighthousedriver.Config `yaml:"lighthouse"`
	// SSM configures the AWS Systems Manager driver for Linux instances.
	SSM *ssmdriver.Config `yaml:"ssm"`
	// Junos configures the Juniper NETCONF driver.
	Junos *junosdriver.Config `yaml:"junos"`
}

// driverNames lists the drivers this build has: the one explicit registry.
var driverNames = []string{"exec", "linux", "panos", "bigip", "lighthouse", "ssm", "junos"}

// recipeDrivers maps the recipes of Ottr's route.json (its task
// definitions, otter-<platform>-<version>-<ca>) to drivers, so an Ottr
// route table works without devices settings.
var recipeDrivers = map[string]string{"otter-panos-": "panos", "otter-f5-": "bigip", "otter-lighthouse-": "lighthouse", "otter-linux-aws-ssm-": "ssm", "otter-junos-": "junos"}

// recipeDriver is the driver a route's recipe names, or "".
func recipeDriver(recipe string) string {
	for p, d := range recipeDrivers {
		if strings.HasPrefix(recipe, p) {
			return d
		}
	}
	return ""
}

func (d *DevicesConfig) validate(bad func(field, format string, args ...any)) {
	check := func(field string, c DeviceConfig) {
		if c.Driver != "" && !contains(driverNames, c.Driver) {
			bad(field+".driver", "%q is not one of %s", c.Driver, strings.Join(driverNames, ", "))
		}
		if c.Address != "" {
			if _, _, err := net.SplitHostPort(c.Address); err != nil {
				bad(field+".address", "%q is not host:port", c.Address)
			}
		}
		if c.Port < 0 || c.Port > 65535 {
			bad(field+".port", "%d is not a port", c.Port)
		}
	}
	for _, n := range sortedKeys(d.Platforms) {
		check("devices.platforms."+n, d.Platforms[n])
	}
	for _, n := range sortedKeys(d.Assets) {
		check("devices.assets."+n, d.Assets[n])
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
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
	if o.Exec != nil {
		c.Exec = o.Exec
	}
	if o.Linux != nil {
		c.Linux = o.Linux
	}
	if o.PANOS != nil {
		c.PANOS = o.PANOS
	}
	if o.BIGIP != nil {
		c.BIGIP = o.BIGIP
	}
	if o.Lighthouse != nil {
		c.Lighthouse = o.Lighthouse
	}
	if o.SSM != nil {
		c.SSM = o.SSM
	}
	if o.Junos != nil {
		c.Junos = o.Junos
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
	switch dc.Driver {
	case "exec":
		if dc.Exec == nil {
			return nil, ottr.Errorf(ottr.EINVALID, "devices: platform %s uses the exec driver but has no exec settings", as.HostPlatform)
		}
		ec := *dc.Exec
		ec.Asset, ec.Credential = as, cred
		if ec.Address == "" {
			ec.Address = dc.address(as)
		}
		return execdriver.New(ec)
	case "linux":
		lc := valueOr(dc.Linux)
		lc.Asset, lc.Credential = as, cred
		if lc.Serve == "" {
			lc.Serve = dc.address(as)
		}
		// The asset's certificate_validation "False" is the opt-out: trust a
		// host key seen for the first time.
		if tofu {
			lc.TrustOnFirstUse = true
		}
		lc.Trust = trust(lc.TrustOnFirstUse)
		return linuxdriver.New(lc)
	case "panos":
		pc := valueOr(dc.PANOS)
		pc.Asset, pc.Credential = as, cred
		if pc.Address == "" {
			pc.Address = dc.address(as)
		}
		pc.RootCAs, pc.Trust = a.caRoots(as.CertificateAuthority), trust(tofu)
		return panosdriver.New(pc)
	case "bigip":
		bc := valueOr(dc.BIGIP)
		bc.Asset, bc.Credential = as, cred
		if bc.Serve == "" {
			bc.Serve = dc.address(as)
		}
		bc.RootCAs, bc.Trust = a.caRoots(as.CertificateAuthority), trust(tofu)
		return bigipdriver.New(bc)
	case "lighthouse":
		lc := valueOr(dc.Lighthouse)
		lc.Asset, lc.Credential = as, cred
		if lc.Address == "" {
			lc.Address = dc.address(as)
		}
		lc.RootCAs, lc.Trust = a.caRoots(as.CertificateAuthority), trust(tofu)
		return lighthousedriver.New(lc)
	case "ssm":
		sc := valueOr(dc.SSM)
		sc.Asset, sc.Credential = as, cred
		if sc.Serve == "" {
			sc.Serve = dc.address(as)
		}
		return ssmdriver.New(sc)
	case "junos":
		jc := valueOr(dc.Junos)
		jc.Asset, jc.Credential = as, cred
		if jc.Serve == "" {
			jc.Serve = dc.address(as)
		}
		jc.Trust = trust(tofu || jc.TrustOnFirstUse)
		return junosdriver.New(jc)
	case "":
		return nil, ottr.Errorf(ottr.EINVALID, "devices: no driver set for platform %s", as.HostPlatform)
	}
	return nil, fmt.Errorf("driver %q is not built in", dc.Driver)
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

// valueOr is *p, or the zero value when p is nil (no settings given).
func valueOr[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}
