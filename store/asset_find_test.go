package store

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

// ticking is a clock that moves one second on every reading, so that each
// change the store records gets its own updated_at.
func ticking() func() time.Time {
	var mu sync.Mutex
	t := testNow
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Second)
		return t
	}
}

// sortFixture is 40 assets with ties in every order: expiries shared by
// several assets and some never rotated, three platforms, and updated_at
// in an order of its own (created shuffled, some changed afterwards).
type sortFixture struct {
	assets  map[string]*ottr.Asset
	changed []string // names in updated_at order
}

func seedSortable(t *testing.T, db *DB) *sortFixture {
	t.Helper()
	fx := &sortFixture{assets: map[string]*ottr.Asset{}}
	const n = 40
	for j := range n {
		i := (j * 17) % n // created out of name order
		// Same-length names order alike under any collation.
		name := fmt.Sprintf("n%02d.example.com", i)
		a := bareNamed(name)
		a.CommonName = fmt.Sprintf("cn%02d.example.org", i)
		a.SubjectAlternativeName = []string{name, fmt.Sprintf("alt-%02d.Example.net", i)}
		a.IPAddress = fmt.Sprintf("192.0.2.%d", i)
		a.HostPlatform = []string{"panos", "f5", "linux"}[i%3]
		a.OSVersion = []string{"9.1.0", "10.2.0"}[i%2]
		a.DeviceModel = []string{"PA-440", "PA-3220", ""}[i%3]
		if i%2 == 0 {
			a.Labels = map[string]string{"team": "a"}
		}
		if i%5 != 0 {
			a.CertificateExpiration = ottr.NewTime(testNow.Add(time.Duration(i%4) * 24 * time.Hour))
		}
		if err := db.CreateAsset(t.Context(), a); err != nil {
			t.Fatal(err)
		}
		fx.assets[name] = a
		fx.changed = append(fx.changed, name)
	}
	for _, i := range []int{3, 30, 0} {
		name := fmt.Sprintf("n%02d.example.com", i)
		if _, err := db.UpdateAsset(t.Context(), name, func(a *ottr.Asset) error { a.DataCenter = "moved"; return nil }); err != nil {
			t.Fatal(err)
		}
		fx.assets[name].DataCenter = "moved"
		fx.changed = append(slices.DeleteFunc(fx.changed, func(s string) bool { return s == name }), name)
	}
	return fx
}

// want is every asset selected by keep, in sort's order, worked out here
// from what was stored.
func (fx *sortFixture) want(sort string, keep func(*ottr.Asset) bool) []string {
	field, desc, _ := ottr.ParseAssetSort(sort)
	rank := map[string]int{}
	for i, n := range fx.changed {
		rank[n] = i
	}
	var names []string
	for n, a := range fx.assets {
		if keep == nil || keep(a) {
			names = append(names, n)
		}
	}
	key := func(a *ottr.Asset) int {
		switch field {
		case ottr.SortExpiration:
			if a.CertificateExpiration == nil {
				return math.MinInt + 1
			}
			return int(a.CertificateExpiration.UnixMilli())
		case ottr.SortUpdated:
			return rank[a.SystemName]
		}
		return 0
	}
	slices.SortFunc(names, func(x, y string) int {
		a, b := fx.assets[x], fx.assets[y]
		c := 0
		switch field {
		case ottr.SortPlatform:
			c = strings.Compare(a.HostPlatform, b.HostPlatform)
		case ottr.SortExpiration, ottr.SortUpdated:
			c = cmp.Compare(key(a), key(b))
		}
		if c == 0 {
			c = strings.Compare(x, y)
		}
		if desc {
			c = -c
		}
		return c
	})
	return names
}

// pages follows f's cursors to the end and returns every name seen.
func pages(t *testing.T, db *DB, f ottr.AssetFilter) []string {
	t.Helper()
	var all []string
	for n := 0; ; n++ {
		page, next, err := db.FindAssets(t.Context(), f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		if len(page) > f.Limit {
			t.Fatalf("page of %d, limit %d", len(page), f.Limit)
		}
		for _, a := range page {
			all = append(all, a.SystemName)
		}
		if next == "" {
			return all
		}
		if n > 100 {
			t.Fatal("the pages do not end")
		}
		f.Cursor = next
	}
}

// TestFindAssetsSorted pages through every order at several page sizes:
// each visits every asset once, in the order's sequence, with ties in the
// sort key broken by system_name and the never-rotated first by expiry,
// alone and with filters.
func TestFindAssetsSorted(t *testing.T) {
	forEachEngineConfig(t, func(t *testing.T, c Config) {
		c.Now = ticking()
		db := openTest(t, c)
		fx := seedSortable(t, db)
		// The clock has moved on by a few seconds: expiries are whole days
		// apart, so "within a day" is those before 36 hours from testNow.
		days := 1
		soon := testNow.Add(36 * time.Hour)
		filters := []struct {
			name string
			f    ottr.AssetFilter
			keep func(*ottr.Asset) bool
		}{
			{"all", ottr.AssetFilter{}, nil},
			{"platform", ottr.AssetFilter{HostPlatform: "f5"}, func(a *ottr.Asset) bool { return a.HostPlatform == "f5" }},
			{"expiring", ottr.AssetFilter{DaysUntilExpiration: &days}, func(a *ottr.Asset) bool {
				return a.CertificateExpiration != nil && a.CertificateExpiration.Before(soon)
			}},
			{"query", ottr.AssetFilter{Query: "3"}, func(a *ottr.Asset) bool { return strings.Contains(a.SystemName, "3") }},
			// Too rare to fill a page from the first assets of an order.
			{"rare query", ottr.AssetFilter{Query: "N07"}, func(a *ottr.Asset) bool { return a.SystemName == "n07.example.com" }},
			{"rare data center", ottr.AssetFilter{DataCenter: "moved"}, func(a *ottr.Asset) bool { return a.DataCenter == "moved" }},
			{"label", ottr.AssetFilter{Labels: map[string]string{"team": "a"}, OSVersion: "9.1.0"}, func(a *ottr.Asset) bool {
				return a.Labels["team"] == "a" && a.OSVersion == "9.1.0"
			}},
		}
		for _, sort := range append(ottr.AssetSorts, "") {
			for _, flt := range filters {
				want := fx.want(sort, flt.keep)
				for _, limit := range []int{1, 3, 7, 1000} {
					f := flt.f
					f.Sort, f.Limit = sort, limit
					if got := pages(t, db, f); !gocmp.Equal(got, want) {
						t.Errorf("sort %q, %s, pages of %d (-want +got):\n%s", sort, flt.name, limit, gocmp.Diff(want, got))
					}
				}
			}
		}
		if got := fx.want(ottr.SortExpiration, nil); fx.assets[got[0]].CertificateExpiration != nil {
			t.Errorf("by expiry the never-rotated come first: %v", got)
		}
	})
}

// TestFindAssetsQuery: the free text finds a part of the system_name,
// common_name, ip_address or any SAN, in any case, with '_' taken
// literally; other filters AND with it.
func TestFindAssetsQuery(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		fx := seedSortable(t, db)
		weird := bareNamed("under_score.example.com")
		weird.SubjectAlternativeName = []string{"*.wild.example.com"}
		weird.Credential = "web-ssh"
		if err := db.CreateAsset(t.Context(), weird); err != nil {
			t.Fatal(err)
		}
		fx.assets[weird.SystemName] = weird
		for _, tc := range []struct {
			f    ottr.AssetFilter
			want []string
		}{
			{ottr.AssetFilter{Query: "N07.EXAMPLE"}, []string{"n07.example.com"}},
			{ottr.AssetFilter{Query: "cn12.example.org"}, []string{"n12.example.com"}},
			{ottr.AssetFilter{Query: "  ALT-3"}, []string{"n30.example.com", "n31.example.com", "n32.example.com", "n33.example.com", "n34.example.com", "n35.example.com", "n36.example.com", "n37.example.com", "n38.example.com", "n39.example.com"}},
			{ottr.AssetFilter{Query: "192.0.2.2"}, []string{"n02.example.com", "n20.example.com", "n21.example.com", "n22.example.com", "n23.example.com", "n24.example.com", "n25.example.com", "n26.example.com", "n27.example.com", "n28.example.com", "n29.example.com"}},
			{ottr.AssetFilter{Query: "alt-3", HostPlatform: "f5", OSVersion: "10.2.0"}, []string{"n31.example.com", "n37.example.com"}},
			{ottr.AssetFilter{Query: "n_7"}, nil},
			{ottr.AssetFilter{Query: "n_7", Sort: "-host_platform"}, nil},
			{ottr.AssetFilter{Query: "under_"}, []string{"under_score.example.com"}},
			{ottr.AssetFilter{Query: "*.wild"}, []string{"under_score.example.com"}},
			{ottr.AssetFilter{Query: "example", DeviceModel: "PA-3220", OSVersion: "10.2.0", Limit: 3}, []string{"n01.example.com", "n07.example.com", "n13.example.com"}},
			{ottr.AssetFilter{Query: "no-such-name"}, nil},
			{ottr.AssetFilter{Credential: "web-ssh"}, []string{"under_score.example.com"}},
			{ottr.AssetFilter{Credential: "web-ssh", Sort: "-updated_at"}, []string{"under_score.example.com"}},
			{ottr.AssetFilter{Credential: "other"}, nil},
		} {
			if tc.f.Limit == 0 {
				tc.f.Limit = 1000
			}
			page, _, err := db.FindAssets(t.Context(), tc.f)
			if err != nil {
				t.Fatalf("%+v: %v", tc.f, err)
			}
			var got []string
			for _, a := range page {
				got = append(got, a.SystemName)
			}
			if !gocmp.Equal(got, tc.want) {
				t.Errorf("%+v: %v, want %v", tc.f, got, tc.want)
			}
		}
	})
}

// TestFindAssetsSortRefused: an unknown sort, a query that is no part of
// a name and a cursor of another order are EINVALID, each naming its
// parameter.
func TestFindAssetsSortRefused(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		seed(t, db, 5)
		_, byPlatform, err := db.FindAssets(t.Context(), ottr.AssetFilter{Sort: "host_platform", Limit: 2})
		if err != nil || byPlatform == "" {
			t.Fatalf("first page: %q %v", byPlatform, err)
		}
		_, byName, _ := db.FindAssets(t.Context(), ottr.AssetFilter{Limit: 2})
		for _, tc := range []struct {
			f           ottr.AssetFilter
			field, text string
		}{
			{ottr.AssetFilter{Sort: "expiry"}, "sort", "certificate_expiration, -certificate_expiration"},
			{ottr.AssetFilter{Sort: "host_platform DESC"}, "sort", `"host_platform DESC" is not a sort order`},
			{ottr.AssetFilter{Query: "a' OR 1=1"}, "q", "a part of a name or an address"},
			{ottr.AssetFilter{Query: `x","y`}, "q", "a part of a name or an address"},
			{ottr.AssetFilter{Query: "50%"}, "q", "a part of a name or an address"},
			{ottr.AssetFilter{Query: strings.Repeat("a", 254)}, "q", "the limit is 253"},
			{ottr.AssetFilter{OSVersion: strings.Repeat("a", 254)}, "os_version", "the limit is 253"},
			{ottr.AssetFilter{DeviceModel: strings.Repeat("a", 254)}, "device_model", "the limit is 253"},
			{ottr.AssetFilter{Credential: strings.Repeat("a", 254)}, "credential", "the limit is 253"},
			{ottr.AssetFilter{Cursor: byPlatform}, "cursor", "sorted by host_platform, not by system_name"},
			{ottr.AssetFilter{Cursor: byPlatform, Sort: "-host_platform"}, "cursor", "sorted by host_platform, not by -host_platform"},
			{ottr.AssetFilter{Cursor: byName, Sort: "updated_at"}, "cursor", "sorted by system_name, not by updated_at"},
			{ottr.AssetFilter{Cursor: encodeCursor("updated_at\x00soon\x00h01.example.com"), Sort: "updated_at"}, "cursor", "not a cursor this server issued"},
			{ottr.AssetFilter{Cursor: encodeCursor("a\x00b"), Sort: "updated_at"}, "cursor", "not a cursor this server issued"},
		} {
			_, _, err := db.FindAssets(t.Context(), tc.f)
			probs := ottr.ErrorProblems(err)
			if ottr.ErrorCode(err) != ottr.EINVALID || len(probs) != 1 || probs[0].Field != tc.field || !strings.Contains(probs[0].Message, tc.text) {
				t.Errorf("%+v: %v %+v; want EINVALID naming %s with %q", tc.f, err, probs, tc.field, tc.text)
			}
		}
	})
}

// TestMigrateAssetList: assets stored before migration 0012 are found by
// free text in any case and listed by expiry, never-rotated first, once
// the migration has filled their search text.
func TestMigrateAssetList(t *testing.T) {
	forEachEngineConfig(t, func(t *testing.T, c Config) {
		ctx := t.Context()
		db, err := Open(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if _, err := db.migrate(ctx, 10); err != nil {
			t.Fatal(err)
		}
		for _, r := range []struct {
			name, sans, ip string
			exp            any
		}{
			{"old1.example.com", `["old1.example.com","Legacy-Alias.Example.ORG"]`, "2001:DB8::1", int64(2000)},
			{"old2.example.com", `["old2.example.com"]`, "10.1.2.3", nil},
			{"old3.example.com", `[]`, "", int64(1000)},
		} {
			if _, err := db.db.ExecContext(ctx, db.q(`INSERT INTO assets (system_name, common_name, sans, certificate_authority, host_platform, ip_address,
				certificate_expiration, created_at, updated_at) VALUES (?, ?, ?, 'le', 'f5', ?, ?, 0, 0)`), r.name, r.name, r.sans, r.ip, r.exp); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for q, want := range map[string][]string{
			"legacy-alias.example.org": {"old1.example.com"},
			"LEGACY":                   {"old1.example.com"},
			"db8::":                    {"old1.example.com"},
			"10.1.2":                   {"old2.example.com"},
			"old":                      {"old1.example.com", "old2.example.com", "old3.example.com"},
		} {
			if got := pages(t, db, ottr.AssetFilter{Query: q, Limit: 10}); !gocmp.Equal(got, want) {
				t.Errorf("q=%s: %v, want %v", q, got, want)
			}
		}
		if got, want := pages(t, db, ottr.AssetFilter{Sort: "certificate_expiration", Limit: 1}), []string{"old2.example.com", "old3.example.com", "old1.example.com"}; !gocmp.Equal(got, want) {
			t.Errorf("by expiry: %v, want %v", got, want)
		}
	})
}

// TestFindAssetsLongWalk: a page of 1000 in an order by a key walks at
// most the longest listing (10,000 assets) before it leaves the search to
// the database's plan; matches past that are still found, and the pages
// end only at the last of them.
func TestFindAssetsLongWalk(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		const n = maxLimit + 50
		i := 0
		next := func() (*ottr.Asset, error) {
			if i == n {
				return nil, io.EOF
			}
			a := bareNamed(fmt.Sprintf("w%05d.example.com", i))
			a.CertificateExpiration = ottr.NewTime(testNow.Add(time.Duration(i) * time.Minute))
			if i >= n-5 {
				a.SubjectAlternativeName = append(a.SubjectAlternativeName, fmt.Sprintf("late%d.example.net", i))
			}
			i++
			return a, nil
		}
		if _, err := db.ImportAssets(t.Context(), next, ImportOptions{}); err != nil {
			t.Fatal(err)
		}
		var want []string
		for j := n - 5; j < n; j++ {
			want = append(want, fmt.Sprintf("w%05d.example.com", j))
		}
		for _, sort := range []string{ottr.SortExpiration, ottr.SortUpdated, ottr.SortPlatform} {
			if got := pages(t, db, ottr.AssetFilter{Query: "late", Sort: sort, Limit: 1000}); !gocmp.Equal(got, want) {
				t.Errorf("sort %s: %v, want %v", sort, got, want)
			}
		}
	})
}
