package main

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/discover"
	"github.com/spf13/cobra"
)

// discoverOptions are discover's flags.
type discoverOptions struct {
	file, ports, ca, platform string
	concurrency               int
	timeout                   time.Duration
	doImport, apply, update   bool
	onServer                  bool
}

func (a *app) discoverCmd() *cobra.Command {
	var o discoverOptions
	cmd := &cobra.Command{
		Use:   "discover TARGET...",
		Short: "Find TLS endpoints, tell what they are, and add the new ones to the inventory",
		Long: `Scan host names, addresses, host:port pairs and CIDR blocks (IPv4 or IPv6,
at most 65,536 addresses) for TLS endpoints. For each: the certificate it
serves (names, issuer, serial, expiry, key), a guess of its platform from
what it answers to a few requests without credentials (PAN-OS, BIG-IP,
Junos J-Web, Opengear Lighthouse, Redfish BMCs, FortiGate, NetScaler; nginx
and Apache as generic TLS servers) with the evidence, and, when dns.zones
is configured, whether each of its names' DNS-01 challenge is delegated.
Nothing secret is sent; see docs/discovery.md.

--import says which endpoints would become assets (named by their
certificate, origin "discovery", the served certificate's expiry, serial and
issuer recorded) and which exist already; --apply makes them. Existing
assets are left as they are unless --update, which refreshes only their
certificate fields (and an empty host_platform). Through a server
(--server or ottr login) the import goes through its API, checked against
its route table; --on-server has the server scan instead of this machine.`,
		Example: `  ottr discover 10.20.0.0/24 fw01.example.com lb02.example.com:8443
  ottr discover --file hosts.txt --ports 443,4443,8443 -o json > found.json
  ottr discover 10.20.0.0/24 --import                     # what would be added
  ottr discover 10.20.0.0/24 --import --apply --ca lets_encrypt
  ottr discover 10.20.0.0/24 --import --apply --update    # refresh what exists too`,
		RunE: func(cmd *cobra.Command, args []string) error { return a.discover(cmd.Context(), args, o) },
	}
	fs := cmd.Flags()
	fs.StringVarP(&o.file, "file", "f", "", `read targets from a file, one a line, '#' comments ("-" reads stdin)`)
	fs.StringVar(&o.ports, "ports", "443,8443", "ports tried on targets that name none: a list, ranges allowed (443,8443,10443-10445)")
	fs.IntVar(&o.concurrency, "concurrency", discover.DefaultConcurrency, "addresses probed at once")
	fs.DurationVar(&o.timeout, "timeout", discover.DefaultTimeout, "each connection, handshake and request; one endpoint's requests together take at most three times it")
	fs.BoolVar(&o.doImport, "import", false, "say which endpoints would become assets (with --apply: make them)")
	fs.BoolVar(&o.apply, "apply", false, "with --import: add the new assets (and update with --update)")
	fs.BoolVar(&o.update, "update", false, "with --import: refresh the certificate fields of assets that exist")
	fs.StringVar(&o.ca, "ca", "lets_encrypt", "with --import: the new assets' certificate_authority")
	fs.StringVar(&o.platform, "platform", "", "with --import: host_platform of endpoints whose platform is not guessed (generic TLS servers); without it they are skipped")
	fs.BoolVar(&o.onServer, "on-server", false, "have the server (--server or ottr login) scan, from where it runs: at most 4,096 addresses and 45 s")
	_ = cmd.RegisterFlagCompletionFunc("platform", a.completePlatforms)
	return cmd
}

// discover runs the command: the scan, its table, and the import.
func (a *app) discover(ctx context.Context, args []string, o discoverOptions) error {
	if (o.apply || o.update) && !o.doImport {
		return usageError{fmt.Errorf("--apply and --update go with --import")}
	}
	if o.concurrency < 1 || o.concurrency > discover.MaxConcurrency {
		return usageError{fmt.Errorf("--concurrency %d: want 1 to %d", o.concurrency, discover.MaxConcurrency)}
	}
	if o.timeout <= 0 || o.timeout > discover.MaxTimeout {
		return usageError{fmt.Errorf("--timeout %v: want more than 0 and at most %v", o.timeout, discover.MaxTimeout)}
	}
	specs := append([]string(nil), args...)
	if o.file != "" {
		fromFile, err := a.readTargetsFile(o.file)
		if err != nil {
			return err
		}
		specs = append(specs, fromFile...)
	}
	if len(specs) == 0 {
		return usageError{fmt.Errorf("give targets (host names, addresses, host:port, CIDR blocks) or --file")}
	}
	ports, err := discover.ParsePorts(o.ports)
	if err != nil {
		return usageError{fmt.Errorf("--ports: %s", ottr.ErrorMessage(err))}
	}
	// Only an import that is applied writes: a scan and a dry run read.
	a.readOnly = !o.apply
	if _, err := a.config(); err != nil {
		return err
	}
	var res *ottr.DiscoverResult
	if o.onServer {
		res, err = a.discoverOnServer(ctx, specs, ports, o)
	} else {
		res, err = a.discoverHere(ctx, specs, ports, o)
	}
	if res == nil {
		return err
	}
	var imp *ottr.DiscoveryImportResult
	if err == nil && o.doImport {
		imp, err = a.importDiscovered(ctx, res.Endpoints, ottr.DiscoveryImport{CertificateAuthority: o.ca, Platform: o.platform, Update: o.update, Apply: o.apply})
	}
	if perr := a.printDiscovery(res, imp); perr != nil {
		return perr
	}
	if err != nil {
		return err
	}
	if imp != nil {
		a.progress("%s", importSummary(imp))
		if n := imp.Refused(); n > 0 {
			fmt.Fprintf(a.stderr, "ottr: %d endpoint(s) cannot be imported as they are; the table says why\n", n)
			return errSilent
		}
	}
	return nil
}

// readTargetsFile reads --file, "-" meaning stdin.
func (a *app) readTargetsFile(path string) ([]string, error) {
	var r io.Reader = a.stdin
	name := "stdin"
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, usageError{fmt.Errorf("--file: %w", err)}
		}
		defer f.Close()
		r, name = f, path
	}
	return discover.ReadTargets(r, name)
}

// discoverHere scans from this machine.
func (a *app) discoverHere(ctx context.Context, specs []string, ports []int, o discoverOptions) (*ottr.DiscoverResult, error) {
	targets, err := discover.ParseTargets(specs, "target", 0)
	if err != nil {
		if o.file == "" {
			return nil, usageError{fmt.Errorf("%s", oneLine(err))}
		}
		return nil, err
	}
	s := &discover.Scanner{Ports: ports, Concurrency: o.concurrency, Timeout: o.timeout, RootCAs: a.discoveryRoots(), Delegate: a.discoveryDelegate(ctx)}
	m := a.newScanMeter(s.Total(targets))
	s.Progress, s.Found = m.progress, m.found
	res, err := s.Scan(ctx, targets)
	m.finish(res)
	return res, err
}

// discoverOnServer has the server scan.
func (a *app) discoverOnServer(ctx context.Context, specs []string, ports []int, o discoverOptions) (*ottr.DiscoverResult, error) {
	c, err := a.remote()
	if err != nil {
		return nil, err
	}
	if c == nil {
		return nil, usageError{fmt.Errorf("--on-server needs a server: give --server URL or log in (ottr login); %s", a.whereNext())}
	}
	a.progress("the server at %s scans %d target(s) (at most 45 s)…", c.BaseURL, len(specs))
	start := time.Now()
	res, err := c.Discover(ctx, ottr.DiscoverRequest{Targets: specs, Ports: ports, Concurrency: min(o.concurrency, discover.ServiceMaxConcurrency), Timeout: o.timeout})
	if err != nil {
		return nil, err
	}
	a.progress("%s", scanSummary(res, time.Since(start)))
	return res, nil
}

// discoveryRoots judge the chains served: the system's roots and the
// configured CAs' trusted_roots (devices may serve certificates from
// them already).
func (a *app) discoveryRoots() *x509.CertPool {
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if c, err := a.config(); err == nil {
		for _, ca := range c.CertificateAuthorities {
			pool.AppendCertsFromPEM(pemOrFile(ca.TrustedRoots))
		}
	}
	return pool
}

// discoveryDelegate checks names' delegation when dns.zones is
// configured; nil otherwise.
func (a *app) discoveryDelegate(ctx context.Context) func(context.Context, string) (ottr.Delegation, error) {
	c, err := a.config()
	if err != nil || len(c.DNS.Zones) == 0 {
		a.progress("note: DNS-01 delegation is not checked: no dns.zones in the configuration")
		return nil
	}
	// Following CNAMEs reads DNS only: no database is opened for it.
	readOnly := a.readOnly
	a.readOnly = true
	ch, err := a.challenges(ctx)
	a.readOnly = readOnly
	if err != nil {
		a.progress("note: DNS-01 delegation is not checked: %s", ottr.ErrorMessage(err))
		return nil
	}
	return ch.Delegate
}

// importDiscovered makes assets of what was found: through the server's
// API when commands go to one, else on the database.
func (a *app) importDiscovered(ctx context.Context, eps []ottr.DiscoveredEndpoint, o ottr.DiscoveryImport) (*ottr.DiscoveryImportResult, error) {
	c, err := a.remote()
	if err != nil {
		return nil, err
	}
	if c != nil {
		return c.ImportDiscovered(ctx, eps, o)
	}
	rt, err := a.routeTable()
	if err != nil {
		return nil, err
	}
	if rt == nil {
		a.progress("warning: no route table given (--routes); platform, CA and hosted zones are not checked")
	}
	db, err := a.store(ctx)
	if err != nil {
		return nil, err
	}
	check := func(as *ottr.Asset) error { return a.validateAsset(as, rt) }
	changed := func(action string, before, after *ottr.Asset) {
		a.audit(ctx, db, action, "asset/"+after.SystemName, before, after)
	}
	return ottr.ImportDiscovered(ctx, db, eps, o, check, changed)
}

// serverDiscover is the API's discovery (POST /api/v1/discover): scans
// from the server, bounded by discover.Service, names' delegation checked
// with the server's DNS (nil: not checked).
func (a *app) serverDiscover(dns ottr.ChallengeDNS) ottr.Discoverer {
	return (&discover.Service{DNS: dns, RootCAs: a.discoveryRoots()}).Discover
}
