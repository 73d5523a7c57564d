package ottr_test

import (
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestAssetFilterSortAndQuery: every published order parses, anything
// else is one problem naming sort and listing the orders; a query is a
// part of a name or an address, anything else one problem naming q.
func TestAssetFilterSortAndQuery(t *testing.T) {
	for _, s := range append(ottr.AssetSorts, "") {
		field, desc, ok := ottr.ParseAssetSort(s)
		if !ok || field == "" || desc != strings.HasPrefix(s, "-") || (s != "" && strings.TrimPrefix(s, "-") != field) {
			t.Errorf("ParseAssetSort(%q) = %q, %v, %v", s, field, desc, ok)
		}
		if err := (ottr.AssetFilter{Sort: s}).Check(); err != nil {
			t.Errorf("sort %q: %v", s, err)
		}
	}
	for _, q := range []string{"fw01", "10.0.0.", "2001:db8::", "*.example.com", "under_score", "  padded  ", ""} {
		if err := (ottr.AssetFilter{Query: q}).Check(); err != nil {
			t.Errorf("q %q: %v", q, err)
		}
	}
	for _, tc := range []struct {
		f           ottr.AssetFilter
		field, text string
	}{
		{ottr.AssetFilter{Sort: "--system_name"}, "sort", "use one of: system_name, -system_name, certificate_expiration"},
		{ottr.AssetFilter{Sort: "System_Name"}, "sort", `"System_Name" is not a sort order`},
		{ottr.AssetFilter{Query: "fw01 dc1"}, "q", "a part of a name or an address"},
		{ottr.AssetFilter{Query: `"`}, "q", "a part of a name or an address"},
		{ottr.AssetFilter{Query: "%"}, "q", "a part of a name or an address"},
		{ottr.AssetFilter{Query: "fw\x00"}, "q", "a part of a name or an address"},
		{ottr.AssetFilter{Query: "ünïcode"}, "q", "a part of a name or an address"},
		{ottr.AssetFilter{Query: strings.Repeat("x", 254)}, "q", "the limit is 253"},
	} {
		err := tc.f.Check()
		probs := ottr.ErrorProblems(err)
		if ottr.ErrorCode(err) != ottr.EINVALID || len(probs) != 1 || probs[0].Field != tc.field || !strings.Contains(probs[0].Message, tc.text) {
			t.Errorf("%+v: %v %+v; want one problem naming %s with %q", tc.f, err, probs, tc.field, tc.text)
		}
	}
}
