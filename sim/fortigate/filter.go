package fortigate

import (
	"fmt"
	"strconv"
	"strings"
)

// filters are the CMDB filter parameters: every parameter must match
// (AND), and a parameter matches when one of its comma-separated terms
// does (OR), as FortiOS's REST API reference describes them.
type filters [][]term

type term struct{ key, op, pattern string }

// The operators, longest first so that "<=" is not read as "<".
var operators = []string{"==", "!=", "=@", "!@", "<=", ">=", "<", ">"}

func parseFilters(params []string) (filters, error) {
	var out filters
	for _, p := range params {
		var ors []term
		for _, t := range splitUnescaped(p) {
			found := false
			for i := 0; i < len(t) && !found; i++ {
				for _, op := range operators {
					if strings.HasPrefix(t[i:], op) {
						ors = append(ors, term{key: t[:i], op: op, pattern: t[i+len(op):]})
						found = true
						break
					}
				}
			}
			if !found || ors[len(ors)-1].key == "" {
				return nil, fmt.Errorf("%q is not key, operator (== != =@ !@ <= < >= >) and pattern", t)
			}
		}
		out = append(out, ors)
	}
	return out, nil
}

// splitUnescaped splits at commas not escaped with a backslash, and
// removes the escapes (\, and \\).
func splitUnescaped(s string) []string {
	var parts []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
		case s[i] == ',':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(s[i])
		}
	}
	return append(parts, cur.String())
}

func (f filters) match(obj map[string]any) bool {
	for _, ors := range f {
		ok := false
		for _, t := range ors {
			if v, present := obj[t.key]; present && t.match(fmt.Sprint(v)) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

// match compares case-insensitively; the ordering operators compare
// numbers when both sides are numbers.
func (t term) match(v string) bool {
	lv, lp := strings.ToLower(v), strings.ToLower(t.pattern)
	switch t.op {
	case "==":
		return lv == lp
	case "!=":
		return lv != lp
	case "=@":
		return strings.Contains(lv, lp)
	case "!@":
		return !strings.Contains(lv, lp)
	}
	cmp := strings.Compare(lv, lp)
	if a, err := strconv.ParseFloat(v, 64); err == nil {
		if b, err := strconv.ParseFloat(t.pattern, 64); err == nil {
			cmp = 0
			if a < b {
				cmp = -1
			} else if a > b {
				cmp = 1
			}
		}
	}
	switch t.op {
	case "<=":
		return cmp <= 0
	case ">=":
		return cmp >= 0
	case "<":
		return cmp < 0
	}
	return cmp > 0
}
