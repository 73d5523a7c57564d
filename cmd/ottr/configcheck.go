package main

import (
	"fmt"

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
their drivers. Deprecated keys are noted.`,
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
			tw := newTable(a.stdout)
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
			return nil
		},
	})
	return cmd
}
