package store

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// neverRotated stands in for a missing certificate_expiration in the
// expiry order: below every real expiry, so the never-rotated (due now)
// come first, and a key both engines compare as an integer, so a page
// boundary among them is one row comparison like any other.
const neverRotated = "-9223372036854775807"

// assetOrder is how one ottr.AssetSorts entry is listed: by key (an SQL
// expression with an index on (key, system_name), migration 0012; "" for
// system_name alone), then system_name, the whole order reversed by desc.
type assetOrder struct {
	sort    string
	key     string
	numeric bool
	desc    bool
}

func (d *DB) orderOf(sort string) assetOrder {
	field, desc, _ := ottr.ParseAssetSort(sort) // f.Check refused the others
	if sort == "" {
		sort = ottr.SortSystemName
	}
	o := assetOrder{sort: sort, desc: desc}
	switch field {
	case ottr.SortExpiration:
		// SQLite seeks to a row value in an index of columns only, so
		// there the key is a virtual column; PostgreSQL indexes the
		// expression and is spared rewriting the table to add one.
		o.key, o.numeric = "expiry_order", true
		if d.postgres {
			o.key = "COALESCE(certificate_expiration, " + neverRotated + ")"
		}
	case ottr.SortPlatform:
		o.key = "host_platform"
	case ottr.SortUpdated:
		o.key, o.numeric = "updated_at", true
	}
	return o
}

func (o assetOrder) by() string {
	dir := ""
	if o.desc {
		dir = " DESC"
	}
	if o.key == "" {
		return "system_name" + dir
	}
	return o.key + dir + ", system_name" + dir
}

// after is the condition for the rows after a page that ended at (key,
// name): a row value, which both engines turn into one range of the
// order's index.
func (o assetOrder) after(key, name string) (string, []any, error) {
	op := " > "
	if o.desc {
		op = " < "
	}
	if o.key == "" {
		return "system_name" + op + "?", []any{name}, nil
	}
	var k any = key
	if o.numeric {
		n, err := strconv.ParseInt(key, 10, 64)
		if err != nil {
			return "", nil, badCursor()
		}
		k = n
	}
	return "(" + o.key + ", system_name)" + op + "(?, ?)", []any{k, name}, nil
}

// pageSize is the page a limit asks for: the default for none, at most
// the largest page.
func pageSize(limit int) int {
	if limit <= 0 {
		return defaultLimit
	}
	return min(limit, maxLimit)
}

// A cursor is the last row's place in its order: its system_name alone
// for the default order (the form cursors have always had), else the
// sort, the row's key and its system_name, so that a cursor is never
// taken for a place in another order.
func (o assetOrder) cursor(key, name string) string {
	if o.sort == ottr.SortSystemName {
		return encodeCursor(name)
	}
	return encodeCursor(o.sort + "\x00" + key + "\x00" + name)
}

func (o assetOrder) parseCursor(c string) (key, name string, err error) {
	s, err := decodeCursor(c)
	if err != nil {
		return "", "", err
	}
	parts := strings.Split(s, "\x00")
	sort := ottr.SortSystemName
	switch len(parts) {
	case 1:
		name = parts[0]
	case 3:
		sort, key, name = parts[0], parts[1], parts[2]
	default:
		return "", "", badCursor()
	}
	if sort != o.sort {
		return "", "", ottr.Invalid("invalid cursor", ottr.Problem{Field: "cursor",
			Message: fmt.Sprintf("continues a search sorted by %s, not by %s; start again without a cursor", sort, o.sort)})
	}
	return key, name, nil
}

func encodeCursor(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func decodeCursor(c string) (string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 {
		return "", ottr.Invalid("invalid cursor", ottr.Problem{Field: "cursor", Message: fmt.Sprintf("%q is not a cursor this server issued", c)})
	}
	return string(b), nil
}

func badCursor() error {
	return ottr.Invalid("invalid cursor", ottr.Problem{Field: "cursor", Message: "not a cursor this server issued"})
}

// likeContains is a LIKE pattern matching values that contain s, and the
// ESCAPE clause it needs: only '_' of LIKE's wildcards can be in a search
// (ottr.CheckQuery), and SQLite's LIKE is twice as slow with an ESCAPE.
func likeContains(s string) (pattern, escape string) {
	if strings.Contains(s, "_") {
		return "%" + likePrefix(s) + "%", ` ESCAPE '\'`
	}
	return "%" + s + "%", ""
}

// assetWhere is f's conditions, each with its arguments.
type assetWhere struct {
	conds []string
	args  []any
	// selective says a condition picks a handful of assets through an
	// index (a name, an address, a credential set), so the database's own
	// plan is best.
	selective bool
}

func (w *assetWhere) add(cond string, args ...any) {
	w.conds, w.args = append(w.conds, cond), append(w.args, args...)
}

// filterWhere is f's conditions, without the page's place. With
// searchIndex, a free-text search is a subquery, so that its matches come
// from the covering search index instead of from a walk of a whole order.
func (d *DB) filterWhere(f ottr.AssetFilter, searchIndex bool) assetWhere {
	var w assetWhere
	eq := func(col, v string) {
		if v != "" {
			w.add(col+" = ?", v)
		}
	}
	eq("system_name", f.SystemName)
	eq("common_name", f.CommonName)
	eq("ip_address", f.IPAddress)
	if f.Credential != "" {
		// Spelt out for the partial index of the assets that name a set.
		w.add("credential = ? AND credential <> ''", f.Credential)
	}
	w.selective = len(w.conds) > 0
	eq("data_center", f.DataCenter)
	eq("host_platform", f.HostPlatform)
	eq("os_version", f.OSVersion)
	eq("device_model", f.DeviceModel)
	eq("origin", f.Origin)
	eq("certificate_authority", f.CertificateAuthority)
	if q := strings.TrimSpace(f.Query); q != "" {
		// search_text is in lower case, and a query is ASCII.
		pattern, escape := likeContains(strings.ToLower(q))
		cond := "search_text LIKE ?" + escape
		if searchIndex {
			cond = "system_name IN (SELECT system_name FROM assets WHERE " + cond + ")"
		}
		w.add(cond, pattern)
	}
	if f.DaysUntilExpiration != nil {
		w.add("certificate_expiration IS NOT NULL AND certificate_expiration < ?",
			ms(d.now().Add(time.Duration(*f.DaysUntilExpiration)*24*time.Hour)))
	}
	for k, v := range f.Labels {
		w.add("system_name IN (SELECT system_name FROM asset_labels WHERE key = ? AND value = ?)", k, v)
	}
	return w
}

// FindAssets returns one page of matching assets in f.Sort's order.
func (d *DB) FindAssets(ctx context.Context, f ottr.AssetFilter) ([]*ottr.Asset, string, error) {
	// Each label is a subquery: past the bound SQLite refuses the query
	// and PostgreSQL spends minutes planning it.
	if err := f.Check(); err != nil {
		return nil, "", err
	}
	order := d.orderOf(f.Sort)
	// Names and addresses are stored in one form; a filter finds them
	// however it writes them (FW01.Example.com, 010.0.0.9).
	f.SystemName, f.CommonName = ottr.NormalName(f.SystemName), ottr.NormalName(f.CommonName)
	if ip, ok := ottr.NormalIP(f.IPAddress); ok {
		f.IPAddress = ip
	}
	filter := d.filterWhere(f, order.key != "")
	var place assetWhere
	if f.Cursor != "" {
		key, name, err := order.parseCursor(f.Cursor)
		if err != nil {
			return nil, "", err
		}
		cond, args, err := order.after(key, name)
		if err != nil {
			return nil, "", err
		}
		place.add(cond, args...)
	}
	limit := pageSize(f.Limit)
	if order.key != "" && len(filter.conds) > 0 && !filter.selective && f.DaysUntilExpiration == nil {
		// Inside the walk the search is read from the row at hand.
		names, next, ok, err := d.walkOrder(ctx, order, d.filterWhere(f, false), place, limit)
		if err != nil {
			return nil, "", err
		}
		if ok {
			list, err := d.assetsNamed(ctx, names, order)
			return list, next, err
		}
	}
	where := assetWhere{conds: slices.Concat(filter.conds, place.conds), args: slices.Concat(filter.args, place.args)}
	cols := assetCols
	if order.key != "" {
		// The key is read back for the next page's cursor: updated_at is
		// no field of the asset.
		cols += ", " + order.key
	}
	query, _ := pageQuery(`SELECT `+cols+` FROM assets`, where.conds, order.by(), limit)
	if f.DaysUntilExpiration != nil {
		// An expiry range matches thousands of assets in expiry order; pick
		// the page's names from the covering router index first and read
		// only those rows (half the time on 100,000 assets).
		names, _ := pageQuery(`SELECT system_name FROM assets`, where.conds, order.by(), limit)
		query = `SELECT ` + cols + ` FROM assets WHERE system_name IN (` + names + `) ORDER BY ` + order.by()
	}
	out, keys, err := d.queryAssets(ctx, query, where.args, order.key != "")
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) == limit {
		next = order.cursor(keys[len(keys)-1], out[len(out)-1].SystemName)
	}
	return out, next, nil
}

// walkWindow is how many assets, for each one of the page, walkOrder reads
// in the order before it leaves the page to the database's plan: a filter
// that matches one asset in 20 fills its page from the walk.
const walkWindow = 20

// walkOrder finds the page of an order by a key by reading the order's
// index from the page's place and testing each asset against the filter,
// up to walkWindow assets for each one of the page. Filters that match
// many assets (a platform, a free text in every name) fill a page from the
// first few hundred; left to itself the database would rather read every
// asset the filter matches and sort them, or walk the whole order for a
// search that matches few. ok is false when the walk ended first: the
// matches are too few for it.
func (d *DB) walkOrder(ctx context.Context, order assetOrder, filter, place assetWhere, limit int) (names []string, next string, ok bool, err error) {
	hit := strings.Join(filter.conds, " AND ")
	// The walk is a listing too, as long as the longest (a page of 1000
	// walks 10,000 assets, not 20,000): it ended first only when it read
	// fewer rows than it asked for.
	query, window := pageQuery(`SELECT system_name, `+order.key+`, (`+hit+`) FROM assets`, place.conds, order.by(), walkWindow*limit)
	rows, err := d.db.QueryContext(ctx, d.q(query), slices.Concat(filter.args, place.args)...)
	if err != nil {
		return nil, "", false, fmt.Errorf("find assets: %w", err)
	}
	defer rows.Close()
	read := 0
	var name, key string
	var match bool
	for rows.Next() {
		if err := rows.Scan(&name, &key, &match); err != nil {
			return nil, "", false, fmt.Errorf("find assets: %w", err)
		}
		read++
		if !match {
			continue
		}
		names = append(names, name)
		if len(names) == limit {
			return names, order.cursor(key, name), true, nil
		}
	}
	if err := rows.Err(); err != nil {
		return nil, "", false, fmt.Errorf("find assets: %w", err)
	}
	return names, "", read < window, nil
}

// assetsNamed reads the named assets in order's order.
func (d *DB) assetsNamed(ctx context.Context, names []string, order assetOrder) ([]*ottr.Asset, error) {
	if len(names) == 0 {
		return nil, nil
	}
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = n
	}
	query := `SELECT ` + assetCols + ` FROM assets WHERE system_name IN (?` + strings.Repeat(",?", len(names)-1) + `) ORDER BY ` + order.by()
	out, _, err := d.queryAssets(ctx, query, args, false)
	return out, err
}

// queryAssets runs a query of assetCols (and the order's key after them,
// when withKey) and reads the assets with their labels.
func (d *DB) queryAssets(ctx context.Context, query string, args []any, withKey bool) ([]*ottr.Asset, []string, error) {
	rows, err := d.db.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return nil, nil, fmt.Errorf("find assets: %w", err)
	}
	var out, withLabels []*ottr.Asset
	var keys []string
	for rows.Next() {
		a := &ottr.Asset{}
		var key string
		var extra []any
		if withKey {
			extra = []any{&key}
		}
		has, err := scanAsset(rows, a, extra...)
		if err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("find assets: %w", err)
		}
		if has {
			withLabels = append(withLabels, a)
		}
		out, keys = append(out, a), append(keys, key)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("find assets: %w", err)
	}
	for _, a := range withLabels {
		if err := d.loadLabels(ctx, d.db, a); err != nil {
			return nil, nil, err
		}
	}
	return out, keys, nil
}
