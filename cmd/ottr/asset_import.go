package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/inventory"
	"github.com/ottr-dev/ottr/store"
	"github.com/spf13/cobra"
)

// maxReported caps how many bad records are printed; the count is exact.
const maxReported = 50

func (a *app) assetImportCmd() *cobra.Command {
	var format string
	var skipInvalid, update, dryRun bool
	cmd := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Import assets from an Ottr DynamoDB scan or export, JSON, JSON lines or CSV",
		Long: `Import assets. Formats (sniffed by default, or --format):
  dynamodb         output of: aws dynamodb scan --table-name otter
  dynamodb-export  DynamoDB export-to-S3 JSON lines ({"Item": {...}} per line)
  json             a JSON array of assets with the API's field names
  jsonl            one asset object per line
  csv              a header row of field names; SANs separated by ';'

Ottr's conventions are understood: certificate_expiration "None" is null,
certificate_validation "True"/"False". Every record is validated first (with
the route table when one is given) and each bad one is reported by line or
item and field. By default a file with any bad record imports nothing;
--skip-invalid imports the good ones. Assets that already exist are
conflicts unless --update replaces them. The import is one transaction.`,
		Example: `  aws dynamodb scan --table-name otter > otter.json
  ottr asset import otter.json --routes route.json
  ottr asset import assets.csv --update --skip-invalid`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.importAssets(cmd.Context(), args[0], format, skipInvalid, update, dryRun)
		},
	}
	cmd.Flags().StringVar(&format, "format", inventory.FormatAuto, "input format: auto, "+strings.Join(inventory.Formats, ", "))
	cmd.Flags().BoolVar(&skipInvalid, "skip-invalid", false, "import the valid records and skip invalid ones and conflicts")
	cmd.Flags().BoolVar(&update, "update", false, "replace assets that already exist")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "validate only; change nothing")
	_ = cmd.RegisterFlagCompletionFunc("format", fixedCompletion(append([]string{inventory.FormatAuto}, inventory.Formats...)...))
	return cmd
}

func (a *app) importAssets(ctx context.Context, path, format string, skipInvalid, update, dryRun bool) error {
	if path == "-" {
		// Records are read twice (validate, then write), so stdin is
		// spooled to a temporary file first.
		tmp, err := spool(a.stdin)
		if err != nil {
			return err
		}
		defer os.Remove(tmp)
		path = tmp
	}
	rt, err := a.routeTable()
	if err != nil {
		return err
	}
	if rt == nil {
		a.progress("warning: no route table given (--routes); platform, CA and hosted zones are not checked")
	}
	cfg, err := a.config()
	if err != nil {
		return err
	}
	lim := cfg.assetLimits()
	// Pass 1: decode and validate everything, write nothing.
	prog := a.newProgress("validated")
	seen := map[string]string{}
	var valid, invalid int
	resolved, err := eachRecord(path, format, func(rec inventory.Record) error {
		prog.tick(valid + invalid + 1)
		if err := checkRecord(rec, rt, lim, seen); err != nil {
			invalid++
			if invalid <= maxReported {
				fmt.Fprintf(a.stderr, "%s: %s\n", rec.Pos, oneLine(err))
			}
			return nil
		}
		valid++
		return nil
	})
	if err != nil {
		return err
	}
	prog.done(valid + invalid)
	if invalid > maxReported {
		fmt.Fprintf(a.stderr, "… and %d more invalid records\n", invalid-maxReported)
	}
	a.progress("%s: %d records, %d valid, %d invalid", resolved, valid+invalid, valid, invalid)
	if invalid > 0 && !skipInvalid {
		return ottr.Errorf(ottr.EINVALID, "%d invalid record(s); nothing imported (fix them, or use --skip-invalid to import the %d valid ones)", invalid, valid)
	}
	if dryRun {
		a.progress("dry run: nothing imported")
		return nil
	}
	if c, err := a.remote(); err != nil || c != nil {
		if err == nil {
			err = usageError{fmt.Errorf("asset import writes every record in one database transaction, so it runs where the database is: give --data-dir or --database (the server is %s)", c.BaseURL)}
		}
		return err
	}
	db, err := a.store(ctx)
	if err != nil {
		return err
	}
	// Pass 2: stream the valid records into one transaction.
	recs, closeFn, err := openRecords(path, resolved)
	if err != nil {
		return err
	}
	defer closeFn()
	seen = map[string]string{}
	prog = a.newProgress("imported")
	next := func() (*ottr.Asset, error) {
		for {
			rec, err := recs.Next()
			if err != nil {
				return nil, err
			}
			if checkRecord(rec, rt, lim, seen) == nil {
				return rec.Asset, nil
			}
		}
	}
	res, err := db.ImportAssets(ctx, next, store.ImportOptions{Update: update, SkipConflicts: skipInvalid, Progress: prog.tick})
	prog.done(res.Created + res.Updated + len(res.Conflicts))
	for i, name := range res.Conflicts {
		if i == maxReported {
			fmt.Fprintf(a.stderr, "… and %d more conflicts\n", len(res.Conflicts)-maxReported)
			break
		}
		fmt.Fprintf(a.stderr, "conflict: asset %q already exists (use --update to replace it)\n", name)
	}
	if err != nil {
		return err
	}
	a.audit(ctx, db, "asset.import", "assets", nil, map[string]any{
		"file": path, "format": resolved, "created": res.Created, "updated": res.Updated,
		"skipped_invalid": invalid, "skipped_conflicts": len(res.Conflicts),
	})
	a.progress("imported: %d created, %d updated, %d conflicts skipped, %d invalid skipped", res.Created, res.Updated, len(res.Conflicts), invalid)
	return nil
}

// checkRecord validates one record: decoding errors, asset validation, and
// a system_name repeated within the file.
func checkRecord(rec inventory.Record, rt *ottr.RouteTable, lim ottr.AssetLimits, seen map[string]string) error {
	if rec.Err != nil {
		return rec.Err
	}
	as := rec.Asset
	if as.Origin == "" {
		as.Origin = ottr.OriginImport
	}
	if as.CommonName == "" {
		as.CommonName = as.SystemName
	}
	if len(as.SubjectAlternativeName) == 0 && as.CommonName != "" {
		as.SubjectAlternativeName = []string{as.CommonName}
	}
	if err := lim.Validate(as, rt); err != nil {
		return err
	}
	if first, dup := seen[as.SystemName]; dup {
		return ottr.Errorf(ottr.EINVALID, "system_name %q appears again (first at %s)", as.SystemName, first)
	}
	seen[as.SystemName] = rec.Pos
	return nil
}

// oneLine renders an error with its problems on one line.
func oneLine(err error) string {
	probs := ottr.ErrorProblems(err)
	if len(probs) == 0 {
		return err.Error()
	}
	parts := make([]string, len(probs))
	for i, p := range probs {
		parts[i] = p.String()
	}
	return strings.Join(parts, "; ")
}

func openRecords(path, format string) (*inventory.Reader, func(), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, usageError{err}
	}
	r, err := inventory.NewReader(f, format)
	if err != nil {
		f.Close()
		return nil, nil, usageError{err}
	}
	return r, func() { f.Close() }, nil
}

// eachRecord calls fn for every record of the file and returns the format
// it was read as.
func eachRecord(path, format string, fn func(inventory.Record) error) (string, error) {
	r, closeFn, err := openRecords(path, format)
	if err != nil {
		return "", err
	}
	defer closeFn()
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return r.Format(), nil
		}
		if err != nil {
			return r.Format(), ottr.Errorf(ottr.EINVALID, "%s: %v; nothing imported", path, err)
		}
		if err := fn(rec); err != nil {
			return r.Format(), err
		}
	}
}

func spool(r io.Reader) (string, error) {
	f, err := os.CreateTemp("", "ottr-import-*")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		os.Remove(f.Name())
		return "", fmt.Errorf("read stdin: %w", err)
	}
	return f.Name(), nil
}

// progress prints "<verb> N records…" on stderr at most every two seconds.
type progress struct {
	a    *app
	verb string
	last time.Time
	any  bool
}

func (a *app) newProgress(verb string) *progress {
	return &progress{a: a, verb: verb, last: time.Now()}
}

func (p *progress) tick(n int) {
	if time.Since(p.last) < 2*time.Second {
		return
	}
	p.last = time.Now()
	p.any = true
	p.a.progress("%s %d records…", p.verb, n)
}

func (p *progress) done(n int) {
	if p.any {
		p.a.progress("%s %d records", p.verb, n)
	}
}
