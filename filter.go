package ottr

import "fmt"

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

// Check reports every parameter of f past its bound as an EINVALID error
// with one problem per parameter, named as the search's query parameter.
// The labels problem stops at the first pair out of bounds, so a huge
// input yields one short problem.
func (f AssetFilter) Check() error {
	var probs []Problem
	for _, p := range []struct{ field, v string }{
		{"system_name", f.SystemName}, {"common_name", f.CommonName}, {"ip_address", f.IPAddress},
		{"data_center", f.DataCenter}, {"host_platform", f.HostPlatform}, {"origin", f.Origin},
		{"certificate_authority", f.CertificateAuthority},
	} {
		if len(p.v) > MaxSearchValue {
			probs = append(probs, Problem{Field: p.field, Message: fmt.Sprintf("is %d characters long; the limit is %d", len(p.v), MaxSearchValue)})
		}
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
