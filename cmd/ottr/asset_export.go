package main

import (
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
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			n := 0
			prog := a.newProgress("exported")
			err = db.ScanAssets(cmd.Context(), ottr.AssetScan{}, func(as *ottr.Asset) error {
				n++
				prog.tick(n)
				return iw.Write(as)
			})
			if err != nil {
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
