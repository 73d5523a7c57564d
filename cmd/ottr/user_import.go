package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/spf13/cobra"
)

// maxUsersFile bounds a users file: Ottr's table holds a row per person.
const maxUsersFile = 16 << 20

func (a *app) userImportCmd() *cobra.Command {
	var skipInvalid, skipExisting, dryRun bool
	cmd := &cobra.Command{
		Use:   "import FILE|-",
		Short: "Import Airbnb Ottr's users (its user table) with their password hashes and roles",
		Long: `Import the users of an Airbnb Ottr deployment from a dump of its "user"
table (username, password, role, timestamp; Ottr kept it in PostgreSQL or
SQLite, api/backend/app/models.py). Formats, sniffed:
  a JSON array of rows       psql -At -c 'SELECT json_agg(u) FROM "user" u'
                             sqlite3 -json db.sqlite3 'SELECT * FROM user'
  JSON lines                 one row object per line
  CSV with a header row      \copy "user" TO 'users.csv' CSV HEADER
  DynamoDB JSON              {"Items": [{"username": {"S": ...}, ...}]}, or
                             {"Item": {...}} per line, for tables copied there

The bcrypt hashes Ottr stored ($2b$14$...) are kept: each user logs in with
the password they had, and their hash is replaced by an Argon2id one at that
first login. The timestamp column is kept as the user's creation time (read
as UTC when it has no zone), so tokens Ottr issued stay valid when the server
is given Ottr's signing key (api.token_signing_key). User names are
lower-cased, as every user name is.

Every row is checked first and each bad one reported by position and
column, never showing a hash. By default a file with any bad row imports
nothing (--skip-invalid imports the good ones), and users that already exist
stop the import (--skip-existing leaves them as they are).`,
		Example: `  psql -At -c 'SELECT json_agg(u) FROM "user" u' > ottr-users.json
  ottr user import ottr-users.json --data-dir /var/lib/ottr`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.importUsers(cmd.Context(), args[0], skipInvalid, skipExisting, dryRun)
		},
	}
	cmd.Flags().BoolVar(&skipInvalid, "skip-invalid", false, "import the valid rows and skip invalid ones")
	cmd.Flags().BoolVar(&skipExisting, "skip-existing", false, "leave users that already exist as they are and import the others")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "check only; change nothing")
	return cmd
}

// ottrUserRow is one row of Ottr's user table as read from a file.
type ottrUserRow struct {
	pos                       string // "item 3", "line 4"
	username, password, role  string
	timestamp                 string
	hasUser, hasPass, hasRole bool
}

func (a *app) importUsers(ctx context.Context, path string, skipInvalid, skipExisting, dryRun bool) error {
	var r io.Reader = a.stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return ottr.Errorf(ottr.EINVALID, "%s: %v", path, pathErr(err))
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxUsersFile+1))
	if err != nil {
		return err
	}
	if len(b) > maxUsersFile {
		return ottr.Errorf(ottr.EINVALID, "%s: over %d MiB; a users table is far smaller", path, maxUsersFile>>20)
	}
	rows, format, err := readOttrUsers(b)
	if err != nil {
		return ottr.Errorf(ottr.EINVALID, "%s: %s", path, ottr.ErrorMessage(err))
	}
	now := time.Now().UTC()
	var users []*ottr.User
	var invalid int
	first := map[string]string{}
	for _, row := range rows {
		u, err := row.user(now)
		if err == nil {
			if at, dup := first[u.Username]; dup {
				err = ottr.Invalid("duplicate", ottr.Problem{Field: "username", Message: fmt.Sprintf("%q appears again (first at %s); user names are case-insensitive", u.Username, at)})
			} else {
				first[u.Username] = row.pos
			}
		}
		if err != nil {
			invalid++
			if invalid <= maxReported {
				fmt.Fprintf(a.stderr, "%s: %s\n", row.pos, oneLine(err))
			}
			continue
		}
		users = append(users, u)
	}
	if invalid > maxReported {
		fmt.Fprintf(a.stderr, "… and %d more invalid rows\n", invalid-maxReported)
	}
	a.progress("%s (%s): %d rows, %d valid, %d invalid", path, format, len(rows), len(users), invalid)
	if invalid > 0 && !skipInvalid {
		return ottr.Errorf(ottr.EINVALID, "%d invalid row(s); nothing imported (fix them, or use --skip-invalid to import the %d valid ones)", invalid, len(users))
	}
	if c, err := a.remote(); err != nil || c != nil {
		if err == nil {
			err = usageError{fmt.Errorf("user import writes password hashes, which the API never takes: run it where the database is, with --data-dir or --database (the server is %s)", c.BaseURL)}
		}
		return err
	}
	db, err := a.store(ctx)
	if err != nil {
		return err
	}
	var fresh, existing []*ottr.User
	for _, u := range users {
		_, err := db.GetUser(ctx, u.Username)
		switch {
		case err == nil:
			existing = append(existing, u)
		case ottr.ErrorCode(err) == ottr.ENOTFOUND:
			fresh = append(fresh, u)
		default:
			return err
		}
	}
	if len(existing) > 0 {
		names := make([]string, len(existing))
		for i, u := range existing {
			names[i] = u.Username
		}
		if !skipExisting {
			return ottr.Errorf(ottr.ECONFLICT, "%d user(s) already exist: %s; nothing imported (use --skip-existing to leave them as they are)", len(existing), strings.Join(names, ", "))
		}
		a.progress("left as they are: %s", strings.Join(names, ", "))
	}
	if dryRun {
		a.progress("dry run: %d user(s) would be imported; nothing changed", len(fresh))
		return nil
	}
	for i, u := range fresh {
		if err := db.CreateUser(ctx, u); err != nil {
			return fmt.Errorf("import user %q (%d of %d; those before it were imported): %w", u.Username, i+1, len(fresh), err)
		}
		a.audit(ctx, db, "user.import", "user/"+u.Username, nil, u)
	}
	a.progress("imported %d user(s) from Ottr; each one's hash becomes Argon2id at their next login", len(fresh))
	return nil
}

// user checks a row and makes the user it describes.
func (row ottrUserRow) user(now time.Time) (*ottr.User, error) {
	var probs []ottr.Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, ottr.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	name := ottr.NormalizeUsername(row.username)
	switch {
	case !row.hasUser:
		bad("username", "is missing")
	default:
		if err := api.CheckUsername("username", name); err != nil {
			probs = append(probs, ottr.ErrorProblems(err)...)
		}
	}
	switch {
	case !row.hasPass:
		bad("password", "is missing (Ottr's bcrypt hash)")
	case !api.IsOttrHash(row.password):
		// Never the value: it may be a password someone put there.
		bad("password", "is not a bcrypt hash as Ottr stored them ($2b$14$ and 53 characters)")
	}
	var role ottr.Role
	if !row.hasRole {
		bad("role", "is missing")
	} else if r, err := ottr.ParseRole(row.role); err != nil {
		probs = append(probs, ottr.ErrorProblems(err)...)
	} else {
		role = r
	}
	created, err := parseOttrTimestamp(row.timestamp, now)
	if err != nil {
		bad("timestamp", "%v", err)
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("invalid user row", probs...)
	}
	return &ottr.User{Username: name, Role: role, PasswordHash: row.password, Created: created}, nil
}

// parseOttrTimestamp reads the timestamp column: PostgreSQL's and SQLite's
// text forms of a timestamp without time zone (UTC: SQLite's
// CURRENT_TIMESTAMP is, and so is PostgreSQL's now() on a UTC server) or
// with one. Without a timestamp the user is dated 30 minutes (a token's
// lifetime) before the import, so that every unexpired token Ottr issued
// them still passes the issued-after-creation check.
func parseOttrTimestamp(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "None" || s == "null" {
		return now.Add(-30 * time.Minute).Truncate(time.Second), nil
	}
	for _, layout := range []string{
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999Z07", "2006-01-02T15:04:05.999999999Z07",
	} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.After(now) {
				return time.Time{}, fmt.Errorf("%q is in the future", s)
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date and time (2021-11-02 20:41:55 or 2021-11-02T20:41:55.123456)", s)
}

// readOttrUsers decodes the rows of a users file, sniffing its format.
func readOttrUsers(b []byte) ([]ottrUserRow, string, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	t := bytes.TrimSpace(b)
	switch {
	case len(t) == 0:
		return nil, "empty", nil
	case t[0] == '[':
		var items []json.RawMessage
		if err := json.Unmarshal(t, &items); err != nil {
			return nil, "", ottr.Errorf(ottr.EINVALID, "not a JSON array of rows: %s", ottr.DescribeJSONError(t, err))
		}
		rows, err := jsonRows(items, "item")
		return rows, "JSON array", err
	case t[0] == '{':
		var scan struct {
			Items *[]json.RawMessage `json:"Items"`
		}
		if json.Unmarshal(t, &scan) == nil && scan.Items != nil {
			rows, err := jsonRows(*scan.Items, "item")
			return rows, "DynamoDB scan", err
		}
		var items []json.RawMessage
		for line := range bytes.Lines(b) {
			items = append(items, bytes.TrimSpace(line))
		}
		rows, err := jsonRows(items, "line")
		return rows, "JSON lines", err
	}
	rows, err := csvRows(b)
	return rows, "CSV", err
}

// jsonRows decodes row objects: plain ({"username": "…"}), DynamoDB typed
// ({"username": {"S": "…"}}) or a DynamoDB export's {"Item": {…}}.
func jsonRows(items []json.RawMessage, unit string) ([]ottrUserRow, error) {
	var rows []ottrUserRow
	var probs []ottr.Problem
	for i, raw := range items {
		pos := fmt.Sprintf("%s %d", unit, i+1)
		if len(raw) == 0 {
			continue // a blank line
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(raw, &obj); err != nil {
			probs = append(probs, ottr.Problem{Field: pos, Message: "not a JSON object"})
			continue
		}
		if item, ok := obj["Item"]; ok && len(obj) == 1 {
			obj = nil
			if err := json.Unmarshal(item, &obj); err != nil {
				probs = append(probs, ottr.Problem{Field: pos, Message: "Item is not a JSON object"})
				continue
			}
		}
		row := ottrUserRow{pos: pos}
		for _, f := range []struct {
			key string
			dst *string
			has *bool
		}{{"username", &row.username, &row.hasUser}, {"password", &row.password, &row.hasPass}, {"role", &row.role, &row.hasRole}, {"timestamp", &row.timestamp, nil}} {
			v, present, err := jsonText(obj[f.key])
			if err != nil {
				probs = append(probs, ottr.Problem{Field: pos + "." + f.key, Message: err.Error()})
				continue
			}
			*f.dst = v
			if f.has != nil {
				*f.has = present
			}
		}
		rows = append(rows, row)
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("unreadable rows", probs...)
	}
	return rows, nil
}

// jsonText reads a column value: a JSON string, null, or DynamoDB's
// {"S": "…"} / {"NULL": true}.
func jsonText(raw json.RawMessage) (string, bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", false, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, true, nil
	}
	var typed map[string]json.RawMessage
	if json.Unmarshal(raw, &typed) == nil && len(typed) == 1 {
		if v, ok := typed["S"]; ok && json.Unmarshal(v, &s) == nil {
			return s, true, nil
		}
		if _, ok := typed["NULL"]; ok {
			return "", false, nil
		}
	}
	return "", false, errors.New("want a string (or DynamoDB {\"S\": …})")
}

// csvRows decodes a CSV file whose header names the columns.
func csvRows(b []byte) ([]ottrUserRow, error) {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "neither JSON nor CSV with a header row: %v", err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, need := range []string{"username", "password", "role"} {
		if _, ok := col[need]; !ok {
			return nil, ottr.Invalid("bad CSV header", ottr.Problem{Field: "header", Message: fmt.Sprintf("has no %q column (it has %s); want username, password, role and timestamp", need, strings.Join(slices.Compact(header), ", "))})
		}
	}
	var rows []ottrUserRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, ottr.Errorf(ottr.EINVALID, "line %d: %v", line, err)
		}
		get := func(name string) (string, bool) {
			i, ok := col[name]
			if !ok || i >= len(rec) {
				return "", false
			}
			return rec[i], rec[i] != ""
		}
		row := ottrUserRow{pos: fmt.Sprintf("line %d", line)}
		row.username, row.hasUser = get("username")
		row.password, row.hasPass = get("password")
		row.role, row.hasRole = get("role")
		row.timestamp, _ = get("timestamp")
		rows = append(rows, row)
	}
}
