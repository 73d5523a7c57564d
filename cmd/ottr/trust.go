package main

import (
	"fmt"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/spf13/cobra"
)

func (a *app) trustCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Show and accept the keys Ottr trusts of devices (ADMIN)",
		Long: `Before a driver sends a device its credential, the key the device presents
is checked: a TLS certificate must chain to known roots for the device's
name, an SSH host key must be in known_hosts — or, for an asset whose
certificate_validation is False, match the key pinned on first contact.

A changed key is refused, and so is every contact with a device that a
non-ADMIN added (or a device an ADMIN must first approve), until an ADMIN
accepts the key the device presented:

  ottr trust show fw01.example.com     the pinned key, a refused key waiting
  ottr trust accept fw01.example.com   pin the waiting key and lift the hold

Check the waiting fingerprint against the device (its console, or
ssh-keygen -l / openssl x509 -pubkey | openssl pkey -pubin -outform der |
sha256sum) before accepting it.`,
	}
	cmd.AddCommand(a.trustShowCmd(), a.trustAcceptCmd())
	return cmd
}

func (a *app) trustShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show SYSTEM_NAME",
		Short: "Show the pinned key, a refused key waiting for approval, and whether the device is held",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var t *ottr.DeviceTrust
			c, err := a.remote()
			if err != nil {
				return err
			}
			if c != nil {
				t, err = c.Trust(ctx, args[0])
			} else {
				db, derr := a.store(ctx)
				if derr != nil {
					return derr
				}
				t, err = db.GetTrust(ctx, args[0])
			}
			if err != nil {
				return err
			}
			return a.printTrust(t)
		},
	}
}

func (a *app) trustAcceptCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "accept SYSTEM_NAME",
		Short: "Pin the key the device last presented and lift a hold for approval",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			c, err := a.remote()
			if err != nil {
				return err
			}
			var t *ottr.DeviceTrust
			if c != nil {
				t, err = c.AcceptTrust(ctx, args[0])
			} else {
				db, derr := a.store(ctx)
				if derr != nil {
					return derr
				}
				before, _ := db.GetTrust(ctx, args[0])
				if t, err = ottr.AcceptTrust(ctx, db, args[0], time.Now()); err == nil {
					a.audit(ctx, db, "asset.trust.accept", "asset/"+args[0], before, t)
				}
			}
			if err != nil {
				return err
			}
			return a.printTrust(t)
		},
	}
}

func (a *app) printTrust(t *ottr.DeviceTrust) error {
	if a.json() {
		return writeJSON(a.stdout, t)
	}
	or := func(s, dflt string) string {
		if s == "" {
			return dflt
		}
		return s
	}
	fmt.Fprintf(a.stdout, "device:   %s\npinned:   %s\nwaiting:  %s\nheld:     %v\nupdated:  %s\n", t.SystemName,
		or(t.Fingerprint, "(nothing yet: the next contact pins)"), or(t.Pending, "-"), t.NeedsApproval, t.Updated.Local().Format(time.DateTime))
	return nil
}
