package store

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestFindAssetsBounds: a filter past the search bounds is refused as
// EINVALID naming the parameter, on every caller's path (API, CLI), before
// a query the database would refuse is built.
func TestFindAssetsBounds(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		labels := map[string]string{}
		for i := range 1000 {
			labels[fmt.Sprintf("k%d", i)] = "v"
		}
		for _, tc := range []struct {
			field string
			f     ottr.AssetFilter
		}{
			{"labels", ottr.AssetFilter{Labels: labels}},
			{"system_name", ottr.AssetFilter{SystemName: strings.Repeat("a", 254)}},
		} {
			_, _, err := db.FindAssets(t.Context(), tc.f)
			probs := ottr.ErrorProblems(err)
			if ottr.ErrorCode(err) != ottr.EINVALID || len(probs) != 1 || probs[0].Field != tc.field {
				t.Errorf("%s: %.300v; want EINVALID naming %s", tc.field, err, tc.field)
			}
		}
	})
}
