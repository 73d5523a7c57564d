package main

import (
	"fmt"
	"sort"

	"github.com/ottr-dev/ottr"
	"github.com/spf13/cobra"
)

func (a *app) routeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "route",
		Short: "Check Ottr's route.json and explain how assets are routed",
	}
	cmd.AddCommand(a.routeCheckCmd(), a.routeExplainCmd())
	return cmd
}

// routeSummary describes a table that parsed, with warnings about parts
// that parse but cannot do anything.
type routeSummary struct {
	Platforms []string       `json:"platforms"`
	Pending   []string       `json:"pending"`
	Routes    int            `json:"routes"`
	CAs       []string       `json:"certificate_authorities"`
	Zones     []string       `json:"hosted_zones"`
	Warnings  []ottr.Problem `json:"warnings"`
	Problems  []ottr.Problem `json:"problems"`
}

func summarise(rt *ottr.RouteTable) routeSummary {
	s := routeSummary{CAs: rt.CertificateAuthorities, Warnings: []ottr.Problem{}, Problems: []ottr.Problem{}}
	used := map[string]bool{}
	for _, name := range rt.PlatformNames() {
		p := rt.Platforms[name]
		if p.Status != "" {
			s.Pending = append(s.Pending, name)
			continue
		}
		s.Platforms = append(s.Platforms, name)
		if len(p.OS) == 0 {
			s.Warnings = append(s.Warnings, ottr.Problem{Field: "platform." + name + ".os", Message: "no OS versions: nothing on this platform is routed"})
		}
		for ver, r := range p.OS {
			s.Routes += len(r.CertificateAuthority)
			for ca := range r.CertificateAuthority {
				used[ca] = true
			}
			if r.Model != nil && len(r.Model) == 0 {
				s.Warnings = append(s.Warnings, ottr.Problem{Field: "platform." + name + ".os." + ver + ".model", Message: "empty model list: no device matches"})
			}
		}
	}
	for _, ca := range rt.CertificateAuthorities {
		if !used[ca] {
			s.Warnings = append(s.Warnings, ottr.Problem{Field: "certificate_authorities", Message: fmt.Sprintf("CA %q is allowed but no route uses it", ca)})
		}
	}
	for z := range rt.HostedZones {
		s.Zones = append(s.Zones, z)
	}
	sort.Strings(s.Zones)
	if rt.HostedZones == nil {
		s.Warnings = append(s.Warnings, ottr.Problem{Field: "hosted_zones", Message: "absent: asset names are not restricted to known domains"})
	}
	sort.Slice(s.Warnings, func(i, j int) bool { return s.Warnings[i].Field < s.Warnings[j].Field })
	return s
}

func (a *app) routeCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a route.json and print each problem with its JSON path",
		Long: `Validate a route table in Ottr's route.json format (FILE, or the configured
routes). Problems are printed with their JSON path, e.g.
platform.panos.os.9.1.0.certificate_authority. Exit status 1 when the file
cannot be used.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := ""
			if len(args) == 1 {
				path = args[0]
			} else {
				c, err := a.config()
				if err != nil {
					return err
				}
				path = c.Routes
			}
			if path == "" {
				return usageError{fmt.Errorf("give a route.json FILE, --routes or routes in the config")}
			}
			rt, err := readRouteTable(path)
			if err != nil && ottr.ErrorCode(err) != ottr.EINVALID {
				return err
			}
			if err != nil {
				if a.json() {
					_ = writeJSON(a.stdout, routeSummary{Problems: ottr.ErrorProblems(err), Warnings: []ottr.Problem{}})
					return errSilent
				}
				return err
			}
			s := summarise(rt)
			if a.json() {
				return writeJSON(a.stdout, s)
			}
			for _, w := range s.Warnings {
				fmt.Fprintf(a.stdout, "warning: %s\n", w)
			}
			fmt.Fprintf(a.stdout, "%s: ok: %d platforms routed %v, %d pending %v, %d routes, CAs %v, hosted zones %v\n",
				path, len(s.Platforms), s.Platforms, len(s.Pending), s.Pending, s.Routes, s.CAs, s.Zones)
			return nil
		},
	}
}

type explanation struct {
	SystemName string         `json:"system_name"`
	Platform   string         `json:"host_platform"`
	OSVersion  string         `json:"os_version"`
	Model      string         `json:"device_model"`
	CA         string         `json:"certificate_authority"`
	Routed     bool           `json:"routed"`
	Route      *ottr.Route    `json:"route,omitempty"`
	MissingKey string         `json:"missing_key,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Due        ottr.Decision  `json:"due"`
	Expiration *ottr.Time     `json:"certificate_expiration"`
	Problems   []ottr.Problem `json:"problems,omitempty"`
}

func (a *app) routeExplainCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "explain SYSTEM_NAME",
		Short: "Say which route an asset gets, or exactly why it gets none",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rt, err := a.requireRoutes()
			if err != nil {
				return err
			}
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			as, err := db.GetAsset(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			e := explanation{SystemName: as.SystemName, Platform: as.HostPlatform, OSVersion: as.OSVersion,
				Model: as.DeviceModel, CA: as.CertificateAuthority, Expiration: as.CertificateExpiration}
			recipe := ""
			if route, err := rt.LookupAsset(as); err != nil {
				nr := err.(*ottr.NoRouteError)
				e.MissingKey, e.Reason = nr.Key, nr.Reason
			} else {
				e.Routed, e.Route, recipe = true, route, route.Recipe
			}
			e.Due = a.cfg.policy().Due(as, recipe, timeNow())
			// The table may have changed since the asset was stored.
			if err := a.validateAsset(as.Clone(), rt); err != nil {
				e.Problems = ottr.ErrorProblems(err)
			}
			if a.json() {
				return writeJSON(a.stdout, e)
			}
			w := a.stdout
			fmt.Fprintf(w, "%s: host_platform %q, os_version %q, device_model %q, certificate_authority %q\n",
				e.SystemName, e.Platform, e.OSVersion, e.Model, e.CA)
			if e.Routed {
				fmt.Fprintf(w, "routed: %s → %s\n", e.Route.Key, e.Route.Recipe)
			} else {
				fmt.Fprintf(w, "not routed: %s: %s\n", e.MissingKey, e.Reason)
			}
			due := "not due"
			if e.Due.Due {
				due = "due"
			}
			fmt.Fprintf(w, "%s: %s\n", due, e.Due.Reason)
			for _, p := range e.Problems {
				fmt.Fprintf(w, "warning: no longer valid against the route table: %s\n", p)
			}
			return nil
		},
	}
}
