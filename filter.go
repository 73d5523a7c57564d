package ottr

import (
	"fmt"
	"slices"
	"strings"
)

// Bounds on one search. A label pair is one subquery, so the pair count
// bounds the query's size (SQLite refuses one past its expression depth);
// a string longer than any stored value cannot match and only costs work.
const (
	// MaxSearchLabels is the most label pairs one search may give.
	MaxSearchLabels = 20
	// MaxSearchValue is the longest string filter: a DNS name's length.
	MaxSearchValue = 253
	// MaxLabelKey and MaxLabelValue are the longest label key and value
	// an asset may carry, so the longest a search may ask for.
	MaxLabelKey   = 63
	MaxLabelValue = 255
	// MaxCursor is the longest page cursor: the encoding of a name.
	MaxCursor = 512
)

// Asset list orders (AssetFilter.Sort).
const (
	SortSystemName = "system_name"
	SortExpiration = "certificate_expiration"
	SortPlatform   = "host_platform"
	SortUpdated    = "updated_at"
)

// AssetSorts are the orders a search may ask for. Each orders by its field,
// then by system_name; a leading "-" reverses the whole order, ties
// included. By certificate_expiration, the assets never rotated (no
// expiry recorded, so due now) come first, and last by
// -certificate_expiration. updated_at is when the stored asset last
// changed: through the API, an import or a rotation's record.
var AssetSorts = []string{
	SortSystemName, "-" + SortSystemName,
	SortExpiration, "-" + SortExpiration,
	SortPlatform, "-" + SortPlatform,
	SortUpdated, "-" + SortUpdated,
}

// ParseAssetSort splits a sort (AssetFilter.Sort) into its field and
// direction; "" is system_name ascending. ok is false for a sort not in
// AssetSorts.
func ParseAssetSort(s string) (field string, desc, ok bool) {
	if s == "" {
		return SortSystemName, false, true
	}
	if !slices.Contains(AssetSorts, s) {
		return "", false, false
	}
	field, desc = strings.CutPrefix(s, "-")
	return field, desc, true
}

// CheckQuery reports why q (AssetFilter.Query, without surrounding
// blanks) cannot be searched for: it is a part of a name or an address,
// so it holds only the characters those do.
func CheckQuery(q string) string {
	if len(q) > MaxSearchValue {
		return fmt.Sprintf("is %d characters long; the limit is %d", len(q), MaxSearchValue)
	}
	for _, c := range q {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.ContainsRune(".-_:*", c)) {
			return fmt.Sprintf("%s: search for a part of a name or an address (letters, digits, '.', '-', '_', ':' and '*')", quoteShort(q))
		}
	}
	return ""
}

// Check reports every parameter of f past its bound as an EINVALID error
// with one problem per parameter, named as the search's query parameter.
// The labels problem stops at the first pair out of bounds, so a huge
// input yields one short problem.
func (f AssetFilter) Check() error {
	var probs []Problem
	for _, p := range []struct{ field, v string }{
		{"system_name", f.SystemName}, {"common_name", f.CommonName}, {"ip_address", f.IPAddress},
		{"data_center", f.DataCenter}, {"host_platform", f.HostPlatform}, {"origin", f.Origin},
		{"certificate_authority", f.CertificateAuthority}, {"os_version", f.OSVersion}, {"device_model", f.DeviceModel},
		{"credential", f.Credential},
	} {
		if len(p.v) > MaxSearchValue {
			probs = append(probs, Problem{Field: p.field, Message: fmt.Sprintf("is %d characters long; the limit is %d", len(p.v), MaxSearchValue)})
		}
	}
	if msg := CheckQuery(strings.TrimSpace(f.Query)); msg != "" {
		probs = append(probs, Problem{Field: "q", Message: msg})
	}
	if _, _, ok := ParseAssetSort(f.Sort); !ok {
		probs = append(probs, Problem{Field: "sort", Message: fmt.Sprintf("%s is not a sort order; use one of: %s", quoteShort(f.Sort), strings.Join(AssetSorts, ", "))})
	}
	if len(f.Cursor) > MaxCursor {
		probs = append(probs, Problem{Field: "cursor", Message: fmt.Sprintf("is %d characters long; the limit is %d", len(f.Cursor), MaxCursor)})
	}
	if msg := labelsProblem(f.Labels); msg != "" {
		probs = append(probs, Problem{Field: "labels", Message: msg})
	}
	if len(probs) > 0 {
		return Invalid("invalid search", probs...)
	}
	return nil
}

func labelsProblem(labels map[string]string) string {
	if len(labels) > MaxSearchLabels {
		return fmt.Sprintf("has %d key=value pairs; the limit is %d", len(labels), MaxSearchLabels)
	}
	for _, k := range sortedKeys(labels) {
		if len(k) > MaxLabelKey {
			return fmt.Sprintf("key %s is %d characters long; the limit is %d", quoteShort(k), len(k), MaxLabelKey)
		}
		if v := labels[k]; len(v) > MaxLabelValue {
			return fmt.Sprintf("value of %s is %d characters long; the limit is %d", quoteShort(k), len(v), MaxLabelValue)
		}
	}
	return ""
}
