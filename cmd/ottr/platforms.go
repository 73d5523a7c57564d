package main

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// driverInfo says what a driver can do, for 'ottr platforms'.
type driverInfo struct {
	Driver   string   `json:"driver"`
	Protocol string   `json:"protocol"`
	Recipes  []string `json:"recipes"` // Ottr recipe prefixes that select it
	OnBoxKey bool     `json:"key_on_device"`
	SANs     string   `json:"subject_alternative_names"`
	Rollback bool     `json:"rollback"`
	Binds    string   `json:"binds"`
}

// drivers is the one list of built-in drivers and their capabilities.
var drivers = []driverInfo{
	{Driver: "exec", Protocol: "your scripts (argv, environment, exit codes)", OnBoxKey: true, SANs: "as the script makes them", Rollback: true,
		Binds: "whatever the install script does"},
	{Driver: "linux", Protocol: "SSH (openssl on the host)", OnBoxKey: true, SANs: "all", Rollback: true,
		Binds: "key and chain files, then a reload command (nginx, haproxy, apache…)"},
	{Driver: "panos", Protocol: "PAN-OS XML API", OnBoxKey: true, SANs: "all", Rollback: true,
		Binds: "SSL/TLS service profile → management interface (and GlobalProtect using the profile)"},
	{Driver: "bigip", Protocol: "F5 iControl REST", OnBoxKey: true, SANs: "all", Rollback: true,
		Binds: "client-ssl profiles' certKeyChain"},
	{Driver: "lighthouse", Protocol: "Opengear Lighthouse REST", OnBoxKey: true,
		SANs: "common name only on the device; all with key_off_device (key made in Ottr)", Rollback: false,
		Binds: "the web UI and REST API certificate (one slot)"},
	{Driver: "junos", Protocol: "NETCONF over SSH", OnBoxKey: true, SANs: "one on the device (one domain-name per request); all with key_off_device (key made in Ottr)", Rollback: true,
		Binds: "system services web-management https pki-local-certificate (J-Web)"},
	{Driver: "ssm", Protocol: "AWS Systems Manager Run Command (openssl on the instance)", OnBoxKey: true, SANs: "all", Rollback: true,
		Binds: "key and chain files, Ottr's pre/post hooks, then a reload command"},
}

func init() {
	for i := range drivers {
		for prefix, d := range recipeDrivers {
			if d == drivers[i].Driver {
				drivers[i].Recipes = append(drivers[i].Recipes, prefix+"*")
			}
		}
		sort.Strings(drivers[i].Recipes)
	}
}

func (a *app) platformsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "platforms",
		Short: "List the device drivers: protocol, the Ottr recipes that select them, key on device, SANs, rollback",
		Long: `List the device drivers this build has. A route's recipe from Ottr's
route.json (its task definition, e.g. otter-panos-9x-lets-encrypt) selects
the driver when the config has no devices settings for the platform.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if a.json() {
				return writeJSON(a.stdout, drivers)
			}
			tw := newTable(a.stdout)
			fmt.Fprintln(tw, "DRIVER\tPROTOCOL\tOTTR RECIPES\tKEY ON DEVICE\tSANS\tROLLBACK\tBINDS")
			yes := map[bool]string{true: "yes", false: "no"}
			for _, d := range drivers {
				r := strings.Join(d.Recipes, ", ")
				if r == "" {
					r = "-"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Driver, d.Protocol, r, yes[d.OnBoxKey], d.SANs, yes[d.Rollback], d.Binds)
			}
			return tw.Flush()
		},
	}
}

// checkDrivers keeps the capability list and the registry in step.
func checkDrivers() error {
	for _, n := range driverNames {
		if !slices.ContainsFunc(drivers, func(d driverInfo) bool { return d.Driver == n }) {
			return fmt.Errorf("driver %s has no capabilities entry", n)
		}
	}
	return nil
}
