package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

const assetCols = `system_name, common_name, sans, certificate_authority, certificate_expiration, certificate_validation,
	host_platform, os_version, device_model, ip_address, data_center, origin, port, credential, dns_zone,
	last_rotation_time, last_rotation_status, last_rotation_error, last_rotation_id,
	last_rotation_failures, last_rotation_retry_after,
	certificate_serial, certificate_issuer, certificate_not_before, has_labels,
	renewal_window_start, renewal_window_end, renewal_window_url, renewal_window_cert_id, renewal_window_check_after,
	monitored, certificate_observed_at, expiry_alerted, expiry_alerted_expired`

// briefCols are what routing and due selection read (ottr.AssetScan.Brief).
// They are columns of the assets_router index, so a brief scan of the
// expiry ranges never reads the table. The assets whose renewal window has
// started are read with briefWindowCols, covered by assets_renewal_window,
// in a query of their own: the expiry ranges hold the assets without a
// window, and two columns more on every one of their rows would cost the
// pass (see scanBrief).
const briefCols = `system_name, certificate_authority, certificate_expiration, certificate_not_before,
	host_platform, os_version, device_model, last_rotation_retry_after`

const briefWindowCols = briefCols + `, renewal_window_start, renewal_window_end`

type rowScanner interface{ Scan(...any) error }

// scanAsset reads assetCols, then any columns after them into extra, into
// a; hasLabels says whether labels must be loaded separately.
func scanAsset(r rowScanner, a *ottr.Asset, extra ...any) (hasLabels bool, err error) {
	var sans string
	var exp, lrt, nb, lrRetry, rwStart, rwEnd, rwCheck, observed, alerted sql.NullInt64
	var valid, alertedExpired bool
	var lrStatus, lrErr, lrID, rwURL, rwCertID string
	var lrFailures int
	*a = ottr.Asset{}
	err = r.Scan(append([]any{&a.SystemName, &a.CommonName, &sans, &a.CertificateAuthority, &exp, &valid,
		&a.HostPlatform, &a.OSVersion, &a.DeviceModel, &a.IPAddress, &a.DataCenter, &a.Origin, &a.Port, &a.Credential, &a.DNSZone,
		&lrt, &lrStatus, &lrErr, &lrID, &lrFailures, &lrRetry, &a.CertificateSerial, &a.CertificateIssuer, &nb, &hasLabels,
		&rwStart, &rwEnd, &rwURL, &rwCertID, &rwCheck, &a.Monitored, &observed, &alerted, &alertedExpired}, extra...)...)
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal([]byte(sans), &a.SubjectAlternativeName); err != nil {
		return false, fmt.Errorf("asset %s: stored SANs: %w", a.SystemName, err)
	}
	a.CertificateValidation = ottr.BoolString(valid)
	a.CertificateExpiration, a.CertificateNotBefore = toTime(exp), toTime(nb)
	if lrt.Valid {
		a.LastRotation = &ottr.LastRotation{Time: ottr.Time{Time: fromMS(lrt.Int64)}, Status: lrStatus, Error: lrErr, RotationID: lrID,
			Failures: lrFailures, RetryAfter: toTime(lrRetry)}
	}
	if rwStart.Valid || rwCertID != "" {
		a.RenewalWindow = &ottr.RenewalWindow{ExplanationURL: rwURL, CertID: rwCertID}
		if rwStart.Valid && rwEnd.Valid {
			a.RenewalWindow.Start, a.RenewalWindow.End = ottr.Time{Time: fromMS(rwStart.Int64)}, ottr.Time{Time: fromMS(rwEnd.Int64)}
		}
		if rwCheck.Valid {
			a.RenewalWindow.CheckAfter = ottr.Time{Time: fromMS(rwCheck.Int64)}
		}
	}
	a.CertificateObservedAt = toTime(observed)
	if alerted.Valid {
		a.ExpiryAlerted = &ottr.ExpiryAlerted{NotAfter: ottr.Time{Time: fromMS(alerted.Int64)}, Expired: alertedExpired}
	}
	return hasLabels, nil
}

func assetArgs(a *ottr.Asset) []any {
	sans := a.SubjectAlternativeName
	if sans == nil {
		sans = []string{}
	}
	b, _ := json.Marshal(sans)
	var lrt, lrRetry sql.NullInt64
	var lrStatus, lrErr, lrID string
	var lrFailures int
	if l := a.LastRotation; l != nil {
		lrt = sql.NullInt64{Int64: l.Time.UnixMilli(), Valid: true}
		lrStatus, lrErr, lrID, lrFailures, lrRetry = l.Status, l.Error, l.RotationID, l.Failures, nullMS(l.RetryAfter)
	}
	var rwStart, rwEnd, rwCheck sql.NullInt64
	var rwURL, rwCertID string
	if w := a.RenewalWindow; w != nil {
		rwURL, rwCertID = w.ExplanationURL, w.CertID
		// A window is stored whole or not at all: the router reads the
		// start alone to tell the windowed assets from the others.
		if !w.Start.IsZero() && !w.End.IsZero() {
			rwStart, rwEnd = nullMS(&w.Start), nullMS(&w.End)
		}
		if !w.CheckAfter.IsZero() {
			rwCheck = nullMS(&w.CheckAfter)
		}
	}
	var alerted sql.NullInt64
	alertedExpired := false
	if x := a.ExpiryAlerted; x != nil {
		alerted, alertedExpired = nullMS(&x.NotAfter), x.Expired
	}
	return []any{a.SystemName, a.CommonName, string(b), a.CertificateAuthority, nullMS(a.CertificateExpiration), bool(a.CertificateValidation),
		a.HostPlatform, a.OSVersion, a.DeviceModel, a.IPAddress, a.DataCenter, a.Origin, a.Port, a.Credential, a.DNSZone,
		lrt, lrStatus, lrErr, lrID, lrFailures, lrRetry, a.CertificateSerial, a.CertificateIssuer, nullMS(a.CertificateNotBefore), len(a.Labels) > 0,
		rwStart, rwEnd, rwURL, rwCertID, rwCheck, a.Monitored, nullMS(a.CertificateObservedAt), alerted, alertedExpired}
}

// insertAssetSQL has one placeholder per asset column, one for its search
// text and two for the created and updated times.
var insertAssetSQL = `INSERT INTO assets (` + assetCols + `, search_text, created_at, updated_at)
	VALUES (?` + strings.Repeat(",?", strings.Count(assetCols, ",")+3) + `)`

// searchText is what a free-text search (ottr.AssetFilter.Query) looks
// into: the asset's names and address, each once, apart, in lower case.
// One narrow column read from a covering index is several times faster to
// search than four columns of the table, and a case-sensitive LIKE on
// PostgreSQL twice as fast as ILIKE; a search holds no blank
// (ottr.CheckQuery), so it never matches across two of them.
func searchText(a *ottr.Asset) string {
	parts := []string{a.SystemName}
	for _, n := range append([]string{a.CommonName, a.IPAddress}, a.SubjectAlternativeName...) {
		if n != "" && !slices.Contains(parts, n) {
			parts = append(parts, n)
		}
	}
	return strings.ToLower(strings.Join(parts, " "))
}

func (d *DB) insertAsset(ctx context.Context, tx *sql.Tx, a *ottr.Asset) error {
	return d.insertAssetWith(ctx, tx, nil, a)
}

// insertAssetWith inserts a, through stmt when one is prepared.
func (d *DB) insertAssetWith(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, a *ottr.Asset) error {
	now := ms(d.now())
	args := append(assetArgs(a), searchText(a), now, now)
	var err error
	if stmt != nil {
		_, err = stmt.ExecContext(ctx, args...)
	} else {
		_, err = tx.ExecContext(ctx, d.q(insertAssetSQL), args...)
	}
	if isUnique(err) {
		return ottr.Errorf(ottr.ECONFLICT, "asset %q already exists", a.SystemName)
	}
	if err != nil {
		return fmt.Errorf("insert asset %s: %w", a.SystemName, err)
	}
	return d.writeLabels(ctx, tx, a, false)
}

func (d *DB) replaceAsset(ctx context.Context, tx *sql.Tx, a *ottr.Asset) error {
	args := append(assetArgs(a)[1:], searchText(a), ms(d.now()), a.SystemName)
	set := strings.Join(strings.Fields(strings.ReplaceAll(strings.SplitN(assetCols, ",", 2)[1], ",", " = ?,")), " ") + " = ?, search_text = ?, updated_at = ?"
	res, err := tx.ExecContext(ctx, d.q(`UPDATE assets SET `+set+` WHERE system_name = ?`), args...)
	if err != nil {
		return fmt.Errorf("update asset %s: %w", a.SystemName, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ottr.Errorf(ottr.ENOTFOUND, "asset %q not found", a.SystemName)
	}
	return d.writeLabels(ctx, tx, a, true)
}

func (d *DB) writeLabels(ctx context.Context, tx *sql.Tx, a *ottr.Asset, replace bool) error {
	if replace {
		if _, err := tx.ExecContext(ctx, d.q(`DELETE FROM asset_labels WHERE system_name = ?`), a.SystemName); err != nil {
			return fmt.Errorf("labels of %s: %w", a.SystemName, err)
		}
	}
	for k, v := range a.Labels {
		if _, err := tx.ExecContext(ctx, d.q(`INSERT INTO asset_labels (system_name, key, value) VALUES (?, ?, ?)`), a.SystemName, k, v); err != nil {
			return fmt.Errorf("labels of %s: %w", a.SystemName, err)
		}
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (d *DB) loadLabels(ctx context.Context, q querier, a *ottr.Asset) error {
	rows, err := q.QueryContext(ctx, d.q(`SELECT key, value FROM asset_labels WHERE system_name = ?`), a.SystemName)
	if err != nil {
		return fmt.Errorf("labels of %s: %w", a.SystemName, err)
	}
	defer rows.Close()
	a.Labels = map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return err
		}
		a.Labels[k] = v
	}
	return rows.Err()
}

// CreateAsset stores a new asset; ECONFLICT if its system_name exists.
func (d *DB) CreateAsset(ctx context.Context, a *ottr.Asset) error {
	return d.tx(ctx, func(tx *sql.Tx) error { return d.insertAsset(ctx, tx, a) })
}

func (d *DB) getAsset(ctx context.Context, q querier, name, suffix string) (*ottr.Asset, error) {
	a := &ottr.Asset{}
	has, err := scanAsset(q.QueryRowContext(ctx, d.q(`SELECT `+assetCols+` FROM assets WHERE system_name = ?`+suffix), name), a)
	if err == sql.ErrNoRows {
		return nil, ottr.Errorf(ottr.ENOTFOUND, "asset %q not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get asset %s: %w", name, err)
	}
	if has {
		if err := d.loadLabels(ctx, q, a); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// GetAsset returns one asset; ENOTFOUND if absent.
func (d *DB) GetAsset(ctx context.Context, name string) (*ottr.Asset, error) {
	return d.getAsset(ctx, d.db, name, "")
}

// UpdateAsset applies fn to the stored asset in one transaction.
func (d *DB) UpdateAsset(ctx context.Context, name string, fn func(*ottr.Asset) error) (*ottr.Asset, error) {
	var out *ottr.Asset
	err := d.tx(ctx, func(tx *sql.Tx) error {
		a, err := d.getAsset(ctx, tx, name, d.forUpdate())
		if err != nil {
			return err
		}
		if err := fn(a); err != nil {
			return err
		}
		if a.SystemName != name {
			return ottr.Errorf(ottr.EINVALID, "system_name cannot be changed (%q → %q); add a new asset instead", name, a.SystemName)
		}
		out = a
		return d.replaceAsset(ctx, tx, a)
	})
	return out, err
}

// DeleteAsset removes an asset and its labels; its rotations stay.
func (d *DB) DeleteAsset(ctx context.Context, name string) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, d.q(`DELETE FROM asset_labels WHERE system_name = ?`), name); err != nil {
			return fmt.Errorf("delete asset %s: %w", name, err)
		}
		res, err := tx.ExecContext(ctx, d.q(`DELETE FROM assets WHERE system_name = ?`), name)
		if err != nil {
			return fmt.Errorf("delete asset %s: %w", name, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return ottr.Errorf(ottr.ENOTFOUND, "asset %q not found", name)
		}
		return nil
	})
}

// ScanAssets streams the assets selected by s to fn. The asset passed to fn
// is reused between calls.
func (d *DB) ScanAssets(ctx context.Context, s ottr.AssetScan, fn func(*ottr.Asset) error) error {
	if s.Brief {
		return d.scanBrief(ctx, s, fn)
	}
	query := `SELECT ` + assetCols + ` FROM assets`
	var args []any
	if !s.ExpiringBefore.IsZero() {
		// Index ranges joined by UNION ALL; an OR of them would fall back
		// to a table scan.
		query = query + ` WHERE certificate_expiration IS NULL UNION ALL ` +
			query + ` WHERE certificate_expiration < ? AND renewal_window_start IS NULL UNION ALL ` +
			query + ` WHERE renewal_window_start < ? AND certificate_expiration IS NOT NULL`
		args = append(args, ms(s.ExpiringBefore), ms(windowStartsBefore(s)))
	}
	rows, err := d.db.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return fmt.Errorf("scan assets: %w", err)
	}
	defer rows.Close()
	var a ottr.Asset
	for rows.Next() {
		has, err := scanAsset(rows, &a)
		if err != nil {
			return fmt.Errorf("scan assets: %w", err)
		}
		if has {
			// Labels come over a second pooled connection while rows
			// holds the first.
			if err := d.loadLabels(ctx, d.db, &a); err != nil {
				return err
			}
		}
		if err := fn(&a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan assets: %w", err)
	}
	return nil
}

func windowStartsBefore(s ottr.AssetScan) time.Time {
	if s.WindowStartsBefore.IsZero() {
		return s.ExpiringBefore
	}
	return s.WindowStartsBefore
}

// scanBrief is the router's scan (ottr.AssetScan.Brief), in two queries:
// the assets without a renewal window, from the covering index alone, and
// those with one, which also read the window.
func (d *DB) scanBrief(ctx context.Context, s ottr.AssetScan, fn func(*ottr.Asset) error) error {
	plain := `SELECT ` + briefCols + ` FROM assets WHERE renewal_window_start IS NULL`
	windowed := `SELECT ` + briefWindowCols + ` FROM assets WHERE renewal_window_start IS NOT NULL`
	var plainArgs, windowedArgs []any
	if !s.ExpiringBefore.IsZero() {
		plain = plain + ` AND certificate_expiration IS NULL UNION ALL ` +
			plain + ` AND certificate_expiration < ?`
		plainArgs = []any{ms(s.ExpiringBefore)}
		// The never-rotated come from assets_router's null-expiry range,
		// the started windows from the window's covering partial index. A
		// unary + keeps SQLite from using an index for the other test:
		// either would walk every windowed asset.
		windowed = `SELECT ` + briefWindowCols + ` FROM assets WHERE certificate_expiration IS NULL AND +renewal_window_start IS NOT NULL
			UNION ALL SELECT ` + briefWindowCols + ` FROM assets WHERE renewal_window_start < ? AND +certificate_expiration IS NOT NULL`
		windowedArgs = []any{ms(windowStartsBefore(s))}
	}
	if err := d.scanBriefRows(ctx, plain, plainArgs, false, fn); err != nil {
		return err
	}
	return d.scanBriefRows(ctx, windowed, windowedArgs, true, fn)
}

func (d *DB) scanBriefRows(ctx context.Context, query string, args []any, withWindow bool, fn func(*ottr.Asset) error) error {
	rows, err := d.db.QueryContext(ctx, d.q(query), args...)
	if err != nil {
		return fmt.Errorf("scan assets: %w", err)
	}
	defer rows.Close()
	var a ottr.Asset
	var exp, nb, retry, wStart, wEnd sql.NullInt64
	var expT, nbT, retryT ottr.Time
	var lr ottr.LastRotation
	var w ottr.RenewalWindow
	dest := []any{&a.SystemName, &a.CertificateAuthority, &exp, &nb, &a.HostPlatform, &a.OSVersion, &a.DeviceModel, &retry}
	if withWindow {
		dest = append(dest, &wStart, &wEnd)
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("scan assets: %w", err)
		}
		// Reused times: no allocation per row on the router's path.
		a.CertificateExpiration, a.CertificateNotBefore = nil, nil
		if exp.Valid {
			expT.Time = time.UnixMilli(exp.Int64).UTC()
			a.CertificateExpiration = &expT
		}
		if nb.Valid {
			nbT.Time = time.UnixMilli(nb.Int64).UTC()
			a.CertificateNotBefore = &nbT
		}
		// Only the failure backoff of the last rotation: whether the
		// router must wait.
		a.LastRotation = nil
		if retry.Valid {
			retryT.Time = time.UnixMilli(retry.Int64).UTC()
			lr.RetryAfter = &retryT
			a.LastRotation = &lr
		}
		a.RenewalWindow = nil
		if withWindow && wStart.Valid && wEnd.Valid {
			w.Start.Time, w.End.Time = time.UnixMilli(wStart.Int64).UTC(), time.UnixMilli(wEnd.Int64).UTC()
			a.RenewalWindow = &w
		}
		if err := fn(&a); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("scan assets: %w", err)
	}
	return nil
}

// ImportOptions controls ImportAssets.
type ImportOptions struct {
	// Update replaces assets that exist; otherwise they are conflicts.
	Update bool
	// SkipConflicts skips and reports conflicts; otherwise any conflict
	// rolls the whole import back.
	SkipConflicts bool
	// Progress is called every 10,000 records and at the end.
	Progress func(n int)
}

// ImportResult counts what an import did.
type ImportResult struct {
	Created, Updated int
	Conflicts        []string
}

// ImportAssets writes the assets next yields (until io.EOF) in one
// transaction: all of them or, on any error, none.
func (d *DB) ImportAssets(ctx context.Context, next func() (*ottr.Asset, error), o ImportOptions) (ImportResult, error) {
	var res ImportResult
	err := d.tx(ctx, func(tx *sql.Tx) error {
		// Prepared once: an import may hold millions of rows.
		exists, err := tx.PrepareContext(ctx, d.q(`SELECT 1 FROM assets WHERE system_name = ?`))
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer exists.Close()
		insert, err := tx.PrepareContext(ctx, d.q(insertAssetSQL))
		if err != nil {
			return fmt.Errorf("import: %w", err)
		}
		defer insert.Close()
		n := 0
		for {
			a, err := next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			n++
			if o.Progress != nil && n%10000 == 0 {
				o.Progress(n)
			}
			found := false
			if err := exists.QueryRowContext(ctx, a.SystemName).Scan(new(int)); err == nil {
				found = true
			} else if err != sql.ErrNoRows {
				return fmt.Errorf("import %s: %w", a.SystemName, err)
			}
			switch {
			case !found:
				if err := d.insertAssetWith(ctx, tx, insert, a); err != nil {
					return err
				}
				res.Created++
			case o.Update:
				if err := d.replaceAsset(ctx, tx, a); err != nil {
					return err
				}
				res.Updated++
			default:
				res.Conflicts = append(res.Conflicts, a.SystemName)
			}
		}
		if o.Progress != nil {
			o.Progress(n)
		}
		if len(res.Conflicts) > 0 && !o.SkipConflicts {
			return ottr.Errorf(ottr.ECONFLICT, "%d asset(s) already exist; nothing imported (use --update to replace them)", len(res.Conflicts))
		}
		return nil
	})
	if err != nil {
		res.Created, res.Updated = 0, 0 // rolled back
		return res, err
	}
	// A bulk load leaves the planner's statistics behind until autovacuum
	// or SQLite's next optimize: searches then pick slow plans (measured:
	// a platform filter at 31 ms instead of 6 ms on PostgreSQL).
	stats := "PRAGMA optimize"
	if d.postgres {
		stats = "ANALYZE assets, asset_labels"
	}
	if _, err := d.db.ExecContext(ctx, stats); err != nil {
		d.log.Warn("refreshing planner statistics after import", "err", err)
	}
	return res, nil
}

// RenewalWindowsToCheck returns up to limit assets whose renewal window is
// due to be asked for again before t, the longest waiting first.
func (d *DB) RenewalWindowsToCheck(ctx context.Context, t time.Time, limit int) ([]*ottr.Asset, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := d.db.QueryContext(ctx, d.q(`SELECT `+assetCols+` FROM assets
		WHERE renewal_window_check_after < ? ORDER BY renewal_window_check_after, system_name LIMIT ?`), ms(t), limit)
	if err != nil {
		return nil, fmt.Errorf("renewal windows to check: %w", err)
	}
	var out, withLabels []*ottr.Asset
	for rows.Next() {
		a := &ottr.Asset{}
		has, err := scanAsset(rows, a)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("renewal windows to check: %w", err)
		}
		if has {
			withLabels = append(withLabels, a)
		}
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("renewal windows to check: %w", err)
	}
	for _, a := range withLabels {
		if err := d.loadLabels(ctx, d.db, a); err != nil {
			return nil, err
		}
	}
	return out, nil
}
