package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// BenchmarkFindAssetsSorted pages through the store's asset list the way
// the dashboard does, 100 assets a page, over OTTR_BENCH_ASSETS assets
// (default 100,000): for every order, the whole list, a free-text search
// matching a seventh of it (".dc3."), one matching 100 assets
// ("host00042"), and a platform with an OS version. Each iteration
// fetches the next page, following the cursors to the end and starting
// again, so deep pages count as much as the first; ms/page is the mean.
func BenchmarkFindAssetsSorted(b *testing.B) {
	db := openDataset(b, benchSize(b))
	ctx := context.Background()
	filters := []struct {
		name string
		f    ottr.AssetFilter
	}{
		{"all", ottr.AssetFilter{}},
		{"q=.dc3.", ottr.AssetFilter{Query: ".dc3."}},
		{"q=host00042", ottr.AssetFilter{Query: "host00042"}},
		{"panos+10.2.0", ottr.AssetFilter{HostPlatform: "panos", OSVersion: "10.2.0"}},
	}
	for _, sort := range ottr.AssetSorts {
		for _, flt := range filters {
			b.Run(strings.TrimPrefix(sort, "-")+desc(sort)+"/"+flt.name, func(b *testing.B) {
				f := flt.f
				f.Sort, f.Limit = sort, 100
				var worst time.Duration
				b.ResetTimer()
				for range b.N {
					start := time.Now()
					page, next, err := db.FindAssets(ctx, f)
					if err != nil {
						b.Fatal(err)
					}
					worst = max(worst, time.Since(start))
					if len(page) == 0 && f.Cursor == "" {
						b.Fatal("no assets match")
					}
					f.Cursor = next
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
				b.ReportMetric(float64(worst.Microseconds())/1000, "max-ms")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

func desc(sort string) string {
	if strings.HasPrefix(sort, "-") {
		return "-desc"
	}
	return ""
}
