package bigip

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// collection answers a GET of a collection as the device does: items in
// name order, narrowed by $filter=partition eq X and paged by $top/$skip;
// past the end there is no items member at all, which is how F5's
// clients know to stop paging.
func collection(kind, path string, q map[string][]string, all map[string]map[string]any) (int, any) {
	for k := range q {
		switch k {
		case "$top", "$skip", "$filter", "expandSubcollections", "ver":
		default:
			return notModelled("query option " + k)
		}
	}
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	names := make([]string, 0, len(all))
	for n := range all {
		names = append(names, n)
	}
	sort.Strings(names)
	if f := get("$filter"); f != "" {
		fields := strings.Fields(f)
		if len(fields) != 3 || fields[0] != "partition" || fields[1] != "eq" {
			return notModelled(fmt.Sprintf("$filter %q (only partition eq <name>)", f))
		}
		kept := names[:0]
		for _, n := range names {
			if part, _ := splitPath(n); part == fields[2] {
				kept = append(kept, n)
			}
		}
		names = kept
	}
	skip, top := 0, len(names)
	for _, o := range []struct {
		key string
		to  *int
	}{{"$skip", &skip}, {"$top", &top}} {
		if s := get(o.key); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil || v < 0 {
				return tmErr(400, fmt.Sprintf("Invalid value for %s: %q is not a non-negative number", o.key, s))
			}
			*o.to = v
		}
	}
	out := map[string]any{"kind": kind, "selfLink": selfLink(path)}
	if skip >= len(names) {
		return 200, out
	}
	end := min(skip+top, len(names))
	items := make([]map[string]any, 0, end-skip)
	for _, n := range names[skip:end] {
		items = append(items, all[n])
	}
	if len(items) > 0 {
		out["items"] = items
	}
	if get("$top") != "" {
		out["currentItemCount"], out["itemsPerPage"], out["startIndex"], out["totalItems"] = len(items), top, skip+1, len(names)
	}
	return 200, out
}
