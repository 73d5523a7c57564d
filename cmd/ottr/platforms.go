package main

import (
	"fmt"
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

func (a *app) platformsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "platforms",
		Short: "List the device drivers: protocol, the Ottr recipes that select them, key on device, SANs, rollback",
		Long: `List the device drivers this build has. A route's recipe from Ottr's
route.json (its task definition, e.g. otter-panos-9x-lets-encrypt) selects
the driver when the config has no devices settings for the platform.
-o wide adds what each driver binds the certificate to; -o json has it all.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			drivers := make([]driverInfo, len(registry))
			for i, p := range registry {
				drivers[i] = p.info
			}
			if a.json() {
				return writeJSON(a.stdout, drivers)
			}
			// BINDS is long prose: -o wide shows it, the table fits 120
			// columns without it.
			tw := a.table()
			head := "DRIVER\tPROTOCOL\tOTTR RECIPES\tKEY ON DEVICE\tROLLBACK\tSANS"
			if a.wide() {
				head += "\tBINDS"
			}
			fmt.Fprintln(tw, head)
			yes := map[bool]string{true: "yes", false: "no"}
			for _, d := range drivers {
				r := strings.Join(d.Recipes, ", ")
				if r == "" {
					r = "-"
				}
				row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", d.Driver, d.Protocol, r, yes[d.OnBoxKey], yes[d.Rollback], d.SANs)
				if a.wide() {
					row += "\t" + d.Binds
				}
				fmt.Fprintln(tw, row)
			}
			return tw.Flush()
		},
	}
}
