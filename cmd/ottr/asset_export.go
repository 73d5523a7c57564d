package main

import (
	"context"
	"io"
	"os"
	"strings"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/inventory"
	"github.com/spf13/cobra"
)

func (a *app) assetExportCmd() *cobra.Command {
	var format, out string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write the whole inventory as JSON, JSON lines, CSV or DynamoDB JSON",
		Long: `Write every asset, streaming. --format dynamodb writes what
"aws dynamodb scan" prints (Ottr's own form: "None" for never rotated), so
an inventory can go back to Ottr; every format reads back with
"ottr asset import".`,
		Example: `  ottr asset export --format csv --out assets.csv
  ottr asset export --format dynamodb > otter.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var w io.Writer = a.stdout
			if out != "" && out != "-" {
				f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
				if err != nil {
					return usageError{err}
				}
				defer f.Close()
				w = f
			}
			iw, err := inventory.NewWriter(w, format)
			if err != nil {
				return usageError{err}
			}
			n := 0
			prog := a.newProgress("exported")
			write := func(as *ottr.Asset) error {
				n++
				prog.tick(n)
				return iw.Write(as)
			}
			if err := a.eachAsset(cmd.Context(), write); err != nil {
				return err
			}
			if err := iw.Close(); err != nil {
				return err
			}
			if out != "" && out != "-" {
				a.progress("exported %d assets to %s", n, out)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", inventory.FormatJSON, "output format: "+strings.Join(inventory.Formats, ", "))
	cmd.Flags().StringVar(&out, "out", "", "write to this file instead of stdout")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion(inventory.Formats...))
	return cmd
}

// eachAsset streams the inventory from the database, or pages through a
// server's search.
func (a *app) eachAsset(ctx context.Context, fn func(*ottr.Asset) error) error {
	c, err := a.remote()
	if err != nil {
		return err
	}
	if c == nil {
		db, err := a.store(ctx)
		if err != nil {
			return err
		}
		return db.ScanAssets(ctx, ottr.AssetScan{}, fn)
	}
	f := ottr.AssetFilter{Limit: 1000}
	for {
		page, next, err := c.FindAssets(ctx, f)
		if err != nil {
			return err
		}
		for _, as := range page {
			if err := fn(as); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		f.Cursor = next
	}
}
