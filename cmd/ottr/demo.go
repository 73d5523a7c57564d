package main

import (
	_ "embed"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/spf13/cobra"
)

//go:embed demodata/route.json
var demoRoutes []byte

func (a *app) demoCmd() *cobra.Command {
	var keep, once bool
	var lab, listen string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Show Ottr at work: route an inventory and rotate local devices end to end (no setup, no network)",
		Long: `Create a throwaway SQLite inventory with Ottr's example route.json and a
handful of devices on several platforms, and show which certificates are due,
which route rotates each, and which devices have no route and why.

Then rotate the demo's own devices end to end: local TLS servers driven by the
exec driver's template scripts (contrib/exec-template), an in-process ACME test
CA (Let's Encrypt's Pebble) and Ottr's built-in DNS server answering the
DNS-01 challenges through _acme-challenge CNAMEs. Each device makes its own
key and CSR; the demo prints old → new serial, expiry and time per device.

Without --once the devices, the CA and the DNS server keep running until
Ctrl-C, so you can look at them, and so does a server with the web
dashboard (its URL and an ADMIN's password are printed): browse the
inventory, open the rotations' logs, rotate a device again and watch it.
Needs openssl (the template scripts use it).

With --lab DIR the demo rotates nothing itself: it starts the same devices,
CA and resolver, writes into DIR what a server needs to reach them (a config
fragment for ottr init --from-demo, a route table, credential sets and an
inventory to import), prints the commands that take this machine from ottr
init to an ottr serve rotating them, and runs until Ctrl-C.`,
		Example: `  ottr demo
  ottr demo --lab /tmp/ottr-lab   # then follow the commands it prints`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if lab != "" {
				if keep || once {
					return usageError{fmt.Errorf("--lab runs the devices for a server until Ctrl-C; it takes neither --keep nor --once")}
				}
				if cmd.Flags().Changed("listen") {
					return usageError{fmt.Errorf("--lab serves no dashboard: the ottr serve it prepares does (--listen is for the demo's own)")}
				}
				return a.demoLabServe(cmd.Context(), lab)
			}
			dir, err := os.MkdirTemp("", "ottr-demo-*")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			routes := filepath.Join(dir, "route.json")
			if err := os.WriteFile(routes, demoRoutes, 0o644); err != nil {
				return err
			}
			// The demo never touches a configured database: its flags win
			// over the config file and OTTR_DATABASE.
			for flag, v := range map[string]string{"data-dir": dir, "routes": routes, "database": ""} {
				if err := a.flags.Set(flag, v); err != nil {
					return err
				}
			}
			rt, err := a.requireRoutes()
			if err != nil {
				return err
			}
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			w := a.stdout
			fmt.Fprintf(w, "Inventory: SQLite in %s, routes from Ottr's example route.json\n\n", dir)
			now := timeNow()
			for _, as := range demoAssets(now) {
				if err := ottr.ValidateAsset(as, rt); err != nil {
					return fmt.Errorf("demo asset %s: %w", as.SystemName, err)
				}
				if err := db.CreateAsset(cmd.Context(), as); err != nil {
					return err
				}
			}
			quiet := a.quiet
			a.quiet = true
			if err := a.runSub(cmd, "asset", "list"); err != nil {
				return err
			}
			fmt.Fprintln(w, "\nRouter pass (what is due, and how each would be rotated):")
			if err := a.runSub(cmd, "router", "run", "--dry-run"); err != nil {
				return err
			}
			a.quiet = quiet
			failed, err := a.demoRotate(cmd.Context(), dir, once, listen)
			if err != nil {
				return err
			}
			if keep {
				fmt.Fprintf(w, "\nThe demo data is kept in %s. Try:\n  ottr rotations list --data-dir %s\n  ottr route explain win01.example.com --data-dir %s --routes %s\n", dir, dir, dir, routes)
			}
			if failed > 0 {
				return errSilent
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the demo's data directory and print how to explore it")
	cmd.Flags().StringVar(&lab, "lab", "", "keep the demo's devices, CA and DNS running for an ottr serve, writing what it needs into `DIR`")
	cmd.Flags().BoolVar(&once, "once", false, "exit after the rotation summary (non-zero if any rotation failed)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:0", "where the demo's dashboard and API listen after the rotations (loopback only)")
	return cmd
}

// runSub runs another subcommand of the same app in-process.
func (a *app) runSub(cmd *cobra.Command, args ...string) error {
	sub, rest, err := cmd.Root().Find(args)
	if err != nil {
		return err
	}
	if err := sub.ParseFlags(rest); err != nil {
		return err
	}
	sub.SetContext(cmd.Context())
	return sub.RunE(sub, sub.Flags().Args())
}

func demoAssets(now time.Time) []*ottr.Asset {
	day := 24 * time.Hour
	exp := func(d time.Duration) *ottr.Time { return ottr.NewTime(now.Add(d)) }
	mk := func(name, platform, os, model string, e *ottr.Time, nb *ottr.Time) *ottr.Asset {
		return &ottr.Asset{SystemName: name, CommonName: name, SubjectAlternativeName: []string{name},
			CertificateAuthority: "lets_encrypt", HostPlatform: platform, OSVersion: os, DeviceModel: model,
			DataCenter: "DC1", Origin: ottr.OriginCLI, CertificateValidation: true,
			CertificateExpiration: e, CertificateNotBefore: nb}
	}
	return []*ottr.Asset{
		mk("fw01.example.com", "panos", "9.1.0", "PA-XXXX", nil, nil),
		mk("fw02.example.com", "panos", "9.1.0", "PA-XXXX", exp(12*day), exp(-78*day)),
		mk("lb01.example.com", "f5", "14.1.0", "", exp(70*day), exp(-20*day)),
		mk("lb02.example.com", "f5", "14.1.0", "", exp(-2*day), exp(-92*day)),
		mk("console01.example.com", "lighthouse", "21.Q2.0", "", exp(25*day), nil),
		mk("web01.example.com", "Ubuntu", "20.04", "", exp(4*day), exp(-41*day)),
		mk("fw03.example.com", "panos", "10.2.0", "PA-XXXX", nil, nil),
		mk("win01.example.com", "Windows", "2019", "", nil, nil),
	}
}
