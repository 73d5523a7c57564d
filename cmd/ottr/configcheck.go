package main

import (
	"fmt"
	"strings"

	"github.com/ottr-dev/ottr"

	"github.com/spf13/cobra"
)

// invalidConfig is a configuration 'ottr config check' refused: exit
// status 2, like a wrong command line, so scripts can tell it from a
// failed operation.
type invalidConfig struct{ error }

func (e invalidConfig) Unwrap() error { return e.error }

func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check the configuration",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check [--config FILE]",
		Short: "Load the configuration and report every problem with its key path",
		Long: `Load the configuration as 'ottr serve' would (the file, OTTR_* variables
and flags) and check it, the drivers' settings included. Every problem is
printed with its key path (devices.platforms.lb.settings.profiles: ...) and
the exit status is 2; otherwise it prints "config OK" and the platforms with
their drivers, and what each route's devices are asked to put in their CSR
(key type and subject, with the key each comes from). Deprecated keys, and
recipes: entries no route uses, are noted, and so is what rotations still
lack (a CA, a delegate zone): serve starts without them but rotates nothing.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			c, err := a.config()
			if err != nil {
				return invalidConfig{err}
			}
			fmt.Fprintln(a.stdout, "config OK")
			for _, d := range c.Devices.Deprecated() {
				fmt.Fprintln(a.stdout, "note:", d)
			}
			for _, m := range rotationsMissing(c) {
				fmt.Fprintln(a.stdout, "note: ottr serve runs no rotation until this is set:", m)
			}
			tw := a.table()
			fmt.Fprintln(tw, "PLATFORM\tDRIVER\tSETTINGS")
			for _, n := range sortedKeys(c.Devices.Platforms) {
				p := c.Devices.Platforms[n]
				driver, settings := p.Driver, "no"
				if driver == "" {
					driver = "-"
				}
				if p.Settings != nil {
					settings = "yes"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", n, driver, settings)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "%d asset override(s) in devices.assets\n", len(c.Devices.Assets))
			return a.printCSRProfiles(c)
		},
	})
	return cmd
}

// printCSRProfiles shows, per route of the route table, the key type and
// subject its devices are asked for (asset overrides aside), so a setting
// that changes an Ottr recipe is seen before it rotates anything.
func (a *app) printCSRProfiles(c *Config) error {
	rt, err := a.routeTable()
	if err != nil {
		fmt.Fprintf(a.stdout, "note: CSR settings per route not shown: %s\n", ottr.ErrorMessage(err))
		return nil
	}
	if rt == nil {
		return nil
	}
	used := map[string]bool{}
	// Route keys and subjects are copied into config files: never cut.
	tw := fullTable(a.stdout)
	fmt.Fprintln(tw, "ROUTE\tRECIPE\tKEY\tSUBJECT")
	for _, pn := range rt.PlatformNames() {
		p := rt.Platforms[pn]
		for _, ver := range sortedKeys(p.OS) {
			for _, ca := range sortedKeys(p.OS[ver].CertificateAuthority) {
				recipe := p.OS[ver].CertificateAuthority[ca]
				used[recipe] = true
				kt, subj, ktFrom, subjFrom := c.csrProfileFrom(&ottr.Asset{HostPlatform: pn, CertificateAuthority: ca}, recipe)
				key, subject, _ := strings.Cut(describeProfile(kt, subj, ktFrom, subjFrom, isOttrRecipe(recipe)), "; ")
				fmt.Fprintf(tw, "platform.%s.os.%s.certificate_authority.%s\t%s\t%s\t%s\n", pn, ver, ca, recipe, key, subject)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, r := range sortedKeys(c.Recipes) {
		if !used[r] {
			fmt.Fprintf(a.stdout, "note: recipes.%s is not a recipe of the route table: its settings apply to no asset\n", r)
		}
	}
	return nil
}
