package main

import (
	"fmt"
	"strings"

	"github.com/ottr-dev/ottr"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/spf13/cobra"
)

func (a *app) dnsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dns",
		Short: "Check and serve the DNS-01 delegation",
		Long: `Ottr answers DNS-01 challenges in delegate zones it controls. Operators
delegate a zone to Ottr once (an NS record) and point each device name's
_acme-challenge record at it with a CNAME; see docs/dns-delegation.md.`,
	}
	cmd.AddCommand(a.dnsCheckCmd(), a.dnsRecordsCmd(), a.dnsServeCmd())
	return cmd
}

type checkResult struct {
	Name  string   `json:"name"`
	OK    bool     `json:"ok"`
	Chain []string `json:"chain"`
	Zone  string   `json:"zone,omitempty"`
	Error string   `json:"error,omitempty"`
}

func (a *app) dnsCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check NAME...",
		Short: "Show each name's _acme-challenge CNAME chain and whether it lands in a delegate zone",
		Long: `For each name, follow the CNAME chain of _acme-challenge.<name> through the
configured resolvers (dns.resolvers, default the system's) and report whether
it ends inside one of dns.zones. Exit status 0 only when every name does.`,
		Example: `  ottr dns check --config ottr.yaml fw01.example.com vpn.example.com`,
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ch, err := a.challenges(cmd.Context())
			if err != nil {
				return err
			}
			var results []checkResult
			failed := 0
			for _, n := range args {
				if err := ottr.CheckFQDN(ottrdns.Canonical(n), true); err != nil {
					return usageError{fmt.Errorf("%q is not a DNS name: %v", n, err)}
				}
				d, err := ch.Delegate(cmd.Context(), n)
				r := checkResult{Name: ottrdns.Canonical(n), OK: err == nil, Chain: d.Chain, Zone: d.Zone}
				if err != nil {
					r.Error = ottr.ErrorMessage(err)
					failed++
				}
				results = append(results, r)
			}
			if a.json() {
				if err := writeJSON(a.stdout, results); err != nil {
					return err
				}
			} else {
				tw := a.table()
				fmt.Fprintln(tw, "NAME\tOK\tCHAIN\tZONE")
				for _, r := range results {
					ok := "yes"
					if !r.OK {
						ok = "NO"
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Name, ok, strings.Join(r.Chain, " → "), r.Zone)
				}
				tw.Flush()
				for _, r := range results {
					if r.Error != "" {
						fmt.Fprintf(a.stderr, "%s\n", r.Error)
					}
				}
			}
			if failed > 0 {
				a.progress("%d of %d names are not delegated", failed, len(results))
				return errSilent
			}
			return nil
		},
	}
}

func (a *app) dnsRecordsCmd() *cobra.Command {
	var zone string
	var ttl int
	cmd := &cobra.Command{
		Use:   "records SYSTEM_NAME",
		Short: "Print the CNAME records an operator creates to delegate an asset's challenges",
		Long: `Print the _acme-challenge CNAME records for the asset's common name and
every SAN, all pointing at one target in the delegate zone (Ottr's scheme:
_acme-challenge.<subdomain of the common name>.<zone>). The table output is
zone-file syntax, ready to paste; -o json gives the records as objects.
The zone is the asset's dns_zone, else --zone, else the first of dns.zones.`,
		Example: `  ottr dns records fw01 >> example.com.zone
  ottr dns records fw01 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			as, err := db.GetAsset(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			c, _ := a.config()
			z := as.DNSZone
			if zone != "" {
				z = zone
			}
			if z == "" && len(c.DNS.Zones) > 0 {
				z = c.DNS.Zones[0]
			}
			if z == "" {
				return ottr.Errorf(ottr.EINVALID, "no delegate zone: set dns.zones in the config, the asset's dns_zone, or --zone")
			}
			recs := ottrdns.Records(as.CommonName, as.SubjectAlternativeName, z)
			if a.json() {
				return writeJSON(a.stdout, recs)
			}
			fmt.Fprintf(a.stdout, "; DNS-01 delegation for %s (%s) into %s\n", as.SystemName, as.CommonName, ottrdns.Canonical(z))
			for _, r := range recs {
				fmt.Fprintf(a.stdout, "%s.\t%d\tIN\tCNAME\t%s.\n", r.Name, ttl, r.Target)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&zone, "zone", "", "delegate zone to point at (default: the asset's dns_zone or the first of dns.zones)")
	cmd.Flags().IntVar(&ttl, "ttl", 3600, "TTL of the printed records")
	return cmd
}

func (a *app) dnsServeCmd() *cobra.Command {
	var listen string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run only the built-in authoritative DNS server for the delegate zones",
		Long: `Serve the delegate zones (dns.zones without a provider) over UDP and TCP on
dns.listen (or --listen) until interrupted. Answers come from the database, so
several servers on one PostgreSQL database answer alike. Names outside the
zones are refused: the server is authoritative only, never a resolver.`,
		Example: `  ottr dns serve --config ottr.yaml --listen 0.0.0.0:53`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			addr := c.DNS.Listen
			if cmd.Flags().Changed("listen") {
				addr = listen
			}
			if addr == "" {
				return usageError{fmt.Errorf("no address: set dns.listen or give --listen")}
			}
			srv, err := a.dnsServer(cmd.Context())
			if err != nil {
				return err
			}
			if err := srv.Listen(cmd.Context(), addr); err != nil {
				return err
			}
			defer srv.Close()
			a.progress("dns: serving %s on %s (udp+tcp); Ctrl-C stops", strings.Join(srv.Zones, ", "), srv.Addr())
			<-cmd.Context().Done()
			a.progress("dns: stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&listen, "listen", "", "host:port to serve on (default dns.listen)")
	return cmd
}
