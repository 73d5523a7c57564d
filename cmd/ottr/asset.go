package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func (a *app) assetCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "asset",
		Short: "Manage the inventory of devices",
		Long: `Manage the inventory. Assets use Ottr's fields (system_name, common_name,
subject_alternative_name, certificate_authority, host_platform, os_version,
device_model, ip_address, data_center, origin) plus labels, port, credential
and dns_zone. With a route table (--routes) assets are checked as Ottr's API
checked them: known platform and CA, names within hosted_zones.`,
	}
	cmd.AddCommand(a.assetAddCmd(), a.assetGetCmd(), a.assetListCmd(), a.assetUpdateCmd(),
		a.assetDeleteCmd(), a.assetImportCmd(), a.assetExportCmd())
	return cmd
}

// assetFlags are the flags that set asset fields, shared by add and update.
type assetFlags struct {
	fs         *pflag.FlagSet
	commonName string
	sans       []string
	ca         string
	platform   string
	osVersion  string
	model      string
	ip         string
	dataCenter string
	labels     []string
	unlabel    []string
	port       int
	credential string
	dnsZone    string
	validation string
	expiration string
}

var flagAliases = map[string]string{
	"san": "subject-alternative-name", "ca": "certificate-authority", "platform": "host-platform",
	"os": "os-version", "model": "device-model", "ip": "ip-address",
}

func addAssetFlags(cmd *cobra.Command, update bool) *assetFlags {
	f := &assetFlags{fs: cmd.Flags()}
	fs := cmd.Flags()
	fs.StringVar(&f.commonName, "common-name", "", "certificate CN (default: the system name)")
	fs.StringSliceVar(&f.sans, "subject-alternative-name", nil, "DNS names for the certificate, comma-separated or repeated (alias --san; default: the common name)")
	fs.StringVar(&f.ca, "certificate-authority", "", "CA name from the route table's certificate_authorities (alias --ca)")
	fs.StringVar(&f.platform, "host-platform", "", "platform key of the route table: panos, f5, junos, lighthouse, linux, … (alias --platform)")
	fs.StringVar(&f.osVersion, "os-version", "", "OS version matched against the route table (alias --os)")
	fs.StringVar(&f.model, "device-model", "", "device model, for routes with a model list (alias --model)")
	fs.StringVar(&f.ip, "ip-address", "", "IPv4 or IPv6 address (alias --ip)")
	fs.StringVar(&f.dataCenter, "data-center", "", "data center")
	fs.StringArrayVar(&f.labels, "label", nil, "label key=value (repeatable)")
	fs.IntVar(&f.port, "port", 0, "management port (default: the platform's)")
	fs.StringVar(&f.credential, "credential", "", "name of the stored credential set to log in with")
	fs.StringVar(&f.dnsZone, "dns-zone", "", "delegate zone override for DNS-01")
	fs.StringVar(&f.validation, "certificate-validation", "", `verify the device's TLS certificate: "True" or "False"`)
	if update {
		fs.StringArrayVar(&f.unlabel, "remove-label", nil, "label key to remove (repeatable)")
		fs.StringVar(&f.expiration, "certificate-expiration", "", `recorded expiry (ISO 8601), or "None" to make the asset due now`)
	}
	fs.SetNormalizeFunc(func(_ *pflag.FlagSet, name string) pflag.NormalizedName {
		if full, ok := flagAliases[name]; ok {
			name = full
		}
		return pflag.NormalizedName(name)
	})
	_ = cmd.RegisterFlagCompletionFunc("certificate-validation", fixedCompletion("True", "False"))
	return f
}

// apply sets the fields whose flags were given.
func (f *assetFlags) apply(as *ottr.Asset) error {
	set := func(name string, dst *string, v string) {
		if f.fs.Changed(name) {
			*dst = v
		}
	}
	set("common-name", &as.CommonName, f.commonName)
	set("certificate-authority", &as.CertificateAuthority, f.ca)
	set("host-platform", &as.HostPlatform, f.platform)
	set("os-version", &as.OSVersion, f.osVersion)
	set("device-model", &as.DeviceModel, f.model)
	set("ip-address", &as.IPAddress, f.ip)
	set("data-center", &as.DataCenter, f.dataCenter)
	set("credential", &as.Credential, f.credential)
	set("dns-zone", &as.DNSZone, f.dnsZone)
	if f.fs.Changed("subject-alternative-name") {
		as.SubjectAlternativeName = f.sans
	}
	if f.fs.Changed("port") {
		as.Port = f.port
	}
	if f.fs.Changed("certificate-validation") {
		v, err := ottr.ParseBoolString(f.validation)
		if err != nil {
			return usageError{fmt.Errorf("--certificate-validation: %v", err)}
		}
		as.CertificateValidation = v
	}
	if f.fs.Changed("certificate-expiration") {
		if strings.EqualFold(f.expiration, "none") || f.expiration == "" {
			as.CertificateExpiration = nil
		} else {
			t, err := ottr.ParseTime(f.expiration)
			if err != nil {
				return usageError{fmt.Errorf("--certificate-expiration: %v", err)}
			}
			as.CertificateExpiration = t
		}
	}
	for _, kv := range f.labels {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return usageError{fmt.Errorf("--label %q: want key=value", kv)}
		}
		if as.Labels == nil {
			as.Labels = map[string]string{}
		}
		as.Labels[k] = v
	}
	for _, k := range f.unlabel {
		delete(as.Labels, k)
	}
	return nil
}

func (a *app) assetAddCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "add SYSTEM_NAME [flags]",
		Short: "Add an asset to the inventory",
		Example: `  ottr asset add fw01.example.com --platform panos --os 9.1.0 --model PA-XXXX \
      --ca lets_encrypt --ip 10.0.0.1 --data-center DC1 --san fw01-mgmt.example.com
  ottr asset add -f asset.json        # an asset in Ottr's JSON form ("-" reads stdin)`,
		Args: cobra.MaximumNArgs(1),
	}
	flags := addAssetFlags(cmd, false)
	cmd.Flags().StringVarP(&file, "file", "f", "", `read the asset from a JSON file ("-" for stdin); flags override its fields`)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		as := &ottr.Asset{CertificateValidation: true, Origin: ottr.OriginCLI}
		if file != "" {
			if err := readAssetFile(file, a.stdin, as); err != nil {
				return err
			}
		}
		if len(args) == 1 {
			as.SystemName = args[0]
		}
		if as.SystemName == "" {
			return usageError{fmt.Errorf("give the asset's SYSTEM_NAME as an argument or in --file")}
		}
		if err := flags.apply(as); err != nil {
			return err
		}
		if as.CommonName == "" {
			as.CommonName = as.SystemName
		}
		if len(as.SubjectAlternativeName) == 0 {
			as.SubjectAlternativeName = []string{as.CommonName} // Ottr's default
		}
		db, err := a.assets(cmd.Context())
		if err != nil {
			return err
		}
		if a.client == nil { // a server checks against its own route table
			rt, err := a.routeTable()
			if err != nil {
				return err
			}
			if err := a.validateAsset(as, rt); err != nil {
				return err
			}
			if rt == nil {
				a.progress("warning: no route table given (--routes); platform, CA and hosted zones were not checked")
			}
		}
		if err := db.CreateAsset(cmd.Context(), as); err != nil {
			return err
		}
		a.audit(cmd.Context(), db, "asset.create", "asset/"+as.SystemName, nil, as)
		return a.printAsset(as)
	}
	return cmd
}

func readAssetFile(path string, stdin io.Reader, as *ottr.Asset) error {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return usageError{fmt.Errorf("--file: %w", err)}
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, 1<<20))
	if err != nil {
		return ottr.Errorf(ottr.EINVALID, "%s: %v", path, err)
	}
	bad := func(probs ...ottr.Problem) error {
		msg := fmt.Sprintf("%s: %d problem(s) with the asset", path, len(probs))
		if len(probs) == 1 {
			msg = path + ": " + probs[0].String()
		}
		return &ottr.Error{Code: ottr.EINVALID, Message: msg, Problems: probs}
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		if err == nil {
			err = &json.UnmarshalTypeError{Value: "null", Type: reflect.TypeFor[ottr.Asset]()}
		}
		return bad(ottr.Problem{Message: ottr.DescribeJSONError(data, err) + "; an asset is a JSON object of Ottr's fields (see ottr asset get -o json)"})
	}
	// A misspelt field would otherwise be dropped without a word.
	var probs []ottr.Problem
	for k := range fields {
		if !assetJSONFields()[k] {
			probs = append(probs, ottr.Problem{Field: k, Message: "is not an asset field (ottr asset get NAME -o json shows the fields)"})
		}
	}
	if len(probs) > 0 {
		sort.Slice(probs, func(i, j int) bool { return probs[i].Field < probs[j].Field })
		return bad(probs...)
	}
	if err := json.Unmarshal(data, as); err != nil {
		var fe *ottr.FieldError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &fe):
			return bad(ottr.Problem{Field: fe.Field, Message: fe.Err.Error()})
		case errors.As(err, &te) && te.Field != "":
			return bad(ottr.Problem{Field: te.Field, Message: strings.TrimPrefix(ottr.DescribeJSONError(data, err), te.Field+": ")})
		}
		return bad(ottr.Problem{Message: ottr.DescribeJSONError(data, err)})
	}
	return nil
}

// assetJSONFields are the JSON names an asset has.
var assetJSONFields = sync.OnceValue(func() map[string]bool {
	m := map[string]bool{}
	t := reflect.TypeFor[ottr.Asset]()
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ","); name != "" && name != "-" {
			m[name] = true
		}
	}
	return m
})

func (a *app) assetGetCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "get SYSTEM_NAME",
		Short: "Show one asset",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := a.assets(cmd.Context())
			if err != nil {
				return err
			}
			as, err := db.GetAsset(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printAsset(as)
		},
	}
}

// printAsset writes one asset as JSON, or as a two-column table.
func (a *app) printAsset(as *ottr.Asset) error {
	if a.json() {
		return writeJSON(a.stdout, as)
	}
	var m map[string]any
	b, _ := json.Marshal(as)
	_ = json.Unmarshal(b, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := a.table()
	for _, k := range keys {
		v := m[k]
		switch x := v.(type) {
		case nil:
			v = "None"
		case []any, map[string]any:
			j, _ := json.Marshal(x)
			v = string(j)
		}
		fmt.Fprintf(tw, "%s\t%v\n", k, v)
	}
	return tw.Flush()
}

func (a *app) assetListCmd() *cobra.Command {
	var f ottr.AssetFilter
	var days int
	var labels []string
	var limit int
	var due bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List assets, filtered by any Ottr field (filters are AND-ed)",
		Long: `List assets, filtered by any Ottr field (filters are AND-ed).

--due lists the assets a router pass calls due now, decided by the router's
own code: no certificate recorded (never rotated), expired, inside the
renewal window of the route's, CA's or default rule (router.renew_before,
a third of the lifetime), or inside the CA's ARI window. Assets held back
after failures are due too; the router retries them when their backoff
runs out. --days-until-expiration only compares the recorded expiry and so
leaves out assets that have none.`,
		Example: `  ottr asset list --host-platform panos --data-center DC1
  ottr asset list --due
  ottr asset list --days-until-expiration 30 -o json
  ottr asset list --label team=netops --limit 50 -o wide`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("days-until-expiration") {
				f.DaysUntilExpiration = &days
			}
			for _, kv := range labels {
				k, v, ok := strings.Cut(kv, "=")
				if !ok {
					return usageError{fmt.Errorf("--label %q: want key=value", kv)}
				}
				if f.Labels == nil {
					f.Labels = map[string]string{}
				}
				f.Labels[k] = v
			}
			if limit < 0 {
				return usageError{fmt.Errorf("--limit %d: want 0 (all) or more", limit)}
			}
			db, err := a.assets(cmd.Context())
			if err != nil {
				return err
			}
			var dec *rotate.Decider
			if due {
				if dec, err = a.decider(cmd.Context()); err != nil {
					return err
				}
			}
			now := timeNow()
			arr := &jsonArray{w: a.stdout}
			tw := a.table()
			if !a.json() {
				head := "SYSTEM_NAME\tPLATFORM\tOS_VERSION\tCA\tEXPIRATION\tDAYS_LEFT"
				if !due || a.wide() { // --due makes room for the reason
					head += "\tDATA_CENTER"
				}
				if a.wide() {
					head += "\tDEVICE_MODEL\tIP_ADDRESS\tLAST_ROTATION"
				}
				if due {
					head += "\tDUE_REASON"
				}
				fmt.Fprintln(tw, head)
			}
			n := 0
			for {
				f.Limit = 1000
				if limit > 0 && !due && limit-n < f.Limit {
					f.Limit = limit - n
				}
				page, next, err := db.FindAssets(cmd.Context(), f)
				if err != nil {
					return err
				}
				for _, as := range page {
					if limit > 0 && n >= limit {
						break
					}
					reason := ""
					if dec != nil {
						d, _, _, _ := dec.Decide(as)
						if !d.Due {
							continue
						}
						reason = d.Reason
					}
					n++
					if a.json() {
						if err := arr.add(as); err != nil {
							return err
						}
						continue
					}
					exp := expiry(as.CertificateExpiration)
					if as.CertificateExpiration != nil && !a.wide() {
						exp = as.CertificateExpiration.UTC().Format(time.DateOnly) // DAYS_LEFT says the rest
					}
					row := fmt.Sprintf("%s\t%s\t%s\t%s\t%s\t%s", as.SystemName, as.HostPlatform, as.OSVersion,
						as.CertificateAuthority, exp, daysLeft(as.CertificateExpiration, now))
					if !due || a.wide() {
						row += "\t" + as.DataCenter
					}
					if a.wide() {
						row += fmt.Sprintf("\t%s\t%s\t%s", as.DeviceModel, as.IPAddress, lastRotation(as.LastRotation))
					}
					if due {
						row += "\t" + reason
					}
					fmt.Fprintln(tw, row)
				}
				if next == "" || (limit > 0 && n >= limit) {
					break
				}
				f.Cursor = next
			}
			if a.json() {
				return arr.close()
			}
			return tw.Flush()
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.SystemName, "system-name", "", "exact system_name")
	fs.StringVar(&f.CommonName, "common-name", "", "exact common_name")
	fs.StringVar(&f.IPAddress, "ip-address", "", "exact ip_address")
	fs.StringVar(&f.DataCenter, "data-center", "", "exact data_center")
	fs.StringVar(&f.HostPlatform, "host-platform", "", "exact host_platform")
	fs.StringVar(&f.Origin, "origin", "", "exact origin (API, import, cli, …)")
	fs.StringVar(&f.CertificateAuthority, "certificate-authority", "", "exact certificate_authority")
	fs.IntVar(&days, "days-until-expiration", 0, "assets whose recorded certificate expires within this many days (expired included; assets without one are not listed: see --due)")
	fs.BoolVar(&due, "due", false, "only the assets the router calls due now (never rotated, expired or inside their renewal window), with the reason")
	fs.StringArrayVar(&labels, "label", nil, "label key=value (repeatable)")
	fs.IntVar(&limit, "limit", 0, "at most this many assets (0 = all)")
	_ = cmd.RegisterFlagCompletionFunc("system-name", a.completeAssets)
	_ = cmd.RegisterFlagCompletionFunc("host-platform", a.completePlatforms)
	return cmd
}

// lastRotation says how the asset's last rotation ended, for -o wide.
func lastRotation(l *ottr.LastRotation) string {
	if l == nil {
		return "-"
	}
	s := l.Status + " " + l.Time.Local().Format(time.DateTime)
	if l.Failures > 1 {
		s += fmt.Sprintf(" (%d failures in a row)", l.Failures)
	}
	return s
}

func (a *app) assetUpdateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "update SYSTEM_NAME [flags]",
		Short: "Change fields of an asset; only the flags given change",
		Example: `  ottr asset update fw01.example.com --ip 10.0.0.2 --label team=netops
  ottr asset update fw01.example.com --certificate-expiration None   # due at the next router pass`,
		Args: cobra.ExactArgs(1),
	}
	flags := addAssetFlags(cmd, true)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if cmd.Flags().NFlag() == 0 {
			return usageError{fmt.Errorf("nothing to change: give at least one field flag")}
		}
		db, err := a.assets(cmd.Context())
		if err != nil {
			return err
		}
		var rt *ottr.RouteTable
		if a.client == nil {
			if rt, err = a.routeTable(); err != nil {
				return err
			}
		}
		var before *ottr.Asset
		as, err := db.UpdateAsset(cmd.Context(), args[0], func(as *ottr.Asset) error {
			before = as.Clone()
			if err := flags.apply(as); err != nil {
				return err
			}
			as.ResetBackoff()
			if a.client != nil {
				return nil // the server validates
			}
			return a.validateAsset(as, rt)
		})
		if err != nil {
			return err
		}
		a.audit(cmd.Context(), db, "asset.update", "asset/"+as.SystemName, before, as)
		return a.printAsset(as)
	}
	return cmd
}

func (a *app) assetDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete SYSTEM_NAME...",
		Short: "Remove assets from the inventory (their rotation history stays)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := a.assets(cmd.Context())
			if err != nil {
				return err
			}
			// Each name's failure is printed as it happens; the exit
			// status is the failures' when they agree (4: none of them
			// exist), else 1.
			var failed []error
			for _, name := range args {
				before, err := db.GetAsset(cmd.Context(), name)
				if err == nil {
					err = db.DeleteAsset(cmd.Context(), name)
				}
				if err != nil {
					switch ottr.ErrorCode(err) {
					case ottr.EUNAUTHORIZED, ottr.EFORBIDDEN, ottr.EUNAVAILABLE:
						// Every other name would fail the same way:
						// said once, with its own exit status.
						return err
					}
					failed = append(failed, err)
					printError(a.stderr, err)
					continue
				}
				a.audit(cmd.Context(), db, "asset.delete", "asset/"+name, before, nil)
				a.progress("deleted %s", name)
			}
			for _, err := range failed {
				if exitCode(err) != exitCode(failed[0]) {
					return errSilent
				}
			}
			if len(failed) > 0 {
				return printed{failed[0]}
			}
			return nil
		},
	}
}
