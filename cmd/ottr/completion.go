package main

import (
	"context"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/spf13/cobra"
)

// Shell completion (cobra's 'ottr completion bash|zsh|fish|powershell')
// offers asset names, rotation ids and platforms from the same place the
// list commands read: the server when one is in use, else the database.
// A completion runs on every Tab, so each asks for one bounded page and
// gives up after completionTimeout rather than hang the shell.
const (
	completionLimit   = 200 // candidates offered
	completionPages   = 5   // pages of 1000 names read, at most
	completionTimeout = 3 * time.Second
)

// registerCompletions wires the dynamic completions onto the commands
// that take asset names, rotation ids and platforms.
func (a *app) registerCompletions(root *cobra.Command) {
	for _, path := range [][]string{
		{"asset", "get"}, {"asset", "update"}, {"asset", "delete"}, {"rotate"},
		{"trust", "show"}, {"trust", "accept"}, {"dns", "records"},
	} {
		if c, _, err := root.Find(path); err == nil && c != root {
			c.ValidArgsFunction = a.completeAssets
		}
	}
	for _, path := range [][]string{{"rotations", "show"}, {"rotations", "cancel"}} {
		if c, _, err := root.Find(path); err == nil && c != root {
			c.ValidArgsFunction = a.completeRotations
		}
	}
	for _, path := range [][]string{{"asset", "add"}, {"asset", "update"}} {
		if c, _, err := root.Find(path); err == nil && c != root {
			_ = c.RegisterFlagCompletionFunc("host-platform", a.completePlatforms)
		}
	}
	if c, _, err := root.Find([]string{"rotations", "list"}); err == nil && c != root {
		_ = c.RegisterFlagCompletionFunc("asset", a.completeAssets)
		_ = c.RegisterFlagCompletionFunc("state", fixedCompletion(string(ottr.StateQueued), string(ottr.StateRunning),
			string(ottr.StateSucceeded), string(ottr.StateFailed), string(ottr.StateCanceled)))
	}
}

func (a *app) completionContext(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	a.quiet = true // migrations' progress lines would land in the shell
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, completionTimeout)
}

// completeAssets offers system names starting with what was typed, in
// name order, reading at most completionPages pages of the inventory (the
// list's cursor is opaque, so a prefix cannot seek). Names already on the
// line are not offered again.
func (a *app) completeAssets(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	ctx, cancel := a.completionContext(cmd)
	defer cancel()
	db, err := a.assets(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	given := map[string]bool{}
	for _, s := range args {
		given[s] = true
	}
	var out []string
	f := ottr.AssetFilter{Limit: 1000}
	for range completionPages {
		page, next, err := db.FindAssets(ctx, f)
		if err != nil {
			if len(out) > 0 {
				break // the deadline passed: offer what was found
			}
			return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
		}
		for _, as := range page {
			if strings.HasPrefix(as.SystemName, toComplete) && !given[as.SystemName] {
				out = append(out, as.SystemName+"\t"+as.HostPlatform+", "+expiry(as.CertificateExpiration))
			}
		}
		if next == "" || len(out) >= completionLimit {
			break
		}
		f.Cursor = next
	}
	if len(out) > completionLimit {
		out = out[:completionLimit]
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// completeRotations offers the newest rotations' ids, described by asset
// and state.
func (a *app) completeRotations(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	ctx, cancel := a.completionContext(cmd)
	defer cancel()
	db, err := a.rotationReader(ctx)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	rs, _, err := db.FindRotations(ctx, ottr.RotationFilter{Limit: completionLimit})
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveError
	}
	var out []string
	for _, r := range rs {
		if strings.HasPrefix(r.ID, toComplete) {
			out = append(out, r.ID+"\t"+r.SystemName+" "+string(r.State))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveKeepOrder
}

// completePlatforms offers the route table's platforms (the server's
// through a server), or the drivers' names when there is no table.
func (a *app) completePlatforms(cmd *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	ctx, cancel := a.completionContext(cmd)
	defer cancel()
	var names []string
	var rt *ottr.RouteTable
	if cl, err := a.remote(); err == nil && cl != nil {
		rt, _ = cl.Routes(ctx)
	} else if err == nil {
		rt, _ = a.routeTable()
	}
	if rt != nil {
		names = rt.PlatformNames()
	} else {
		for _, p := range registry {
			names = append(names, p.info.Driver)
		}
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, toComplete) {
			out = append(out, n)
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
