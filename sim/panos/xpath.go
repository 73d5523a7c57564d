package panos

import (
	"fmt"
	"strings"
)

// step is one location step of a configuration xpath: an element name
// and, for list entries, the name the entry is selected by.
type step struct {
	name  string
	key   string
	keyed bool
}

func (s step) String() string {
	if s.keyed {
		return fmt.Sprintf("%s[@name='%s']", s.name, s.key)
	}
	return s.name
}

// parseXPath reads the absolute xpaths the XML API takes: /a/b/entry[@name='x']/c,
// with the name quoted by ' or " (XPath allows both, and clients use
// both), spaces allowed around '=', and a final @name selecting entry
// names. Anything else (other predicates, "or" lists, wildcards) is
// refused by name rather than misread.
func parseXPath(x string) ([]step, error) {
	if !strings.HasPrefix(x, "/") {
		return nil, fmt.Errorf("xpath %q is not absolute (must start with /config)", x)
	}
	var steps []step
	i := 1
	for i <= len(x) {
		j := i
		for j < len(x) && x[j] != '/' && x[j] != '[' {
			j++
		}
		name := x[i:j]
		if name == "" || !validName(name) {
			return nil, fmt.Errorf("xpath %q: %q is not an element name", x, name)
		}
		s := step{name: name}
		if j < len(x) && x[j] == '[' {
			key, end, err := predicate(x, j)
			if err != nil {
				return nil, err
			}
			s.key, s.keyed = key, true
			j = end
		}
		steps = append(steps, s)
		if j == len(x) {
			break
		}
		if x[j] != '/' {
			return nil, fmt.Errorf("xpath %q: unexpected %q after %s", x, x[j:], s)
		}
		i = j + 1
		if i == len(x) {
			return nil, fmt.Errorf("xpath %q ends with /", x)
		}
	}
	if len(steps) == 0 || steps[0].name != "config" || steps[0].keyed {
		return nil, fmt.Errorf("xpath %q does not start with /config", x)
	}
	for k, s := range steps {
		if strings.HasPrefix(s.name, "@") && (s.name != "@name" || k != len(steps)-1) {
			return nil, fmt.Errorf("xpath %q: only a final @name is supported", x)
		}
	}
	return steps, nil
}

func validName(s string) bool {
	if s == "@name" {
		return true
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// predicate reads [@name='v'] or [@name="v"] starting at x[at] == '['.
func predicate(x string, at int) (key string, end int, err error) {
	rest := x[at+1:]
	trimmed := strings.TrimLeft(rest, " ")
	if !strings.HasPrefix(trimmed, "@name") {
		return "", 0, fmt.Errorf("xpath %q: only [@name='…'] predicates are supported", x)
	}
	trimmed = strings.TrimLeft(strings.TrimPrefix(trimmed, "@name"), " ")
	if !strings.HasPrefix(trimmed, "=") {
		return "", 0, fmt.Errorf("xpath %q: only [@name='…'] predicates are supported", x)
	}
	trimmed = strings.TrimLeft(strings.TrimPrefix(trimmed, "="), " ")
	if trimmed == "" || (trimmed[0] != '\'' && trimmed[0] != '"') {
		return "", 0, fmt.Errorf("xpath %q: the entry name must be quoted with ' or \"", x)
	}
	q := trimmed[0]
	closeAt := strings.IndexByte(trimmed[1:], q)
	if closeAt < 0 {
		return "", 0, fmt.Errorf("xpath %q: unterminated quote", x)
	}
	key = trimmed[1 : 1+closeAt]
	after := strings.TrimLeft(trimmed[2+closeAt:], " ")
	if !strings.HasPrefix(after, "]") {
		if strings.HasPrefix(after, "or") || strings.HasPrefix(after, "and") {
			return "", 0, fmt.Errorf("xpath %q: predicates joining several names are not simulated; name one entry per call", x)
		}
		return "", 0, fmt.Errorf("xpath %q: expected ] after the entry name", x)
	}
	if key == "" {
		return "", 0, fmt.Errorf("xpath %q: empty entry name", x)
	}
	end = len(x) - len(after) + 1
	return key, end, nil
}

// under reports whether steps starts with prefix, and what follows it.
func under(steps, prefix []step) ([]step, bool) {
	if len(steps) < len(prefix) {
		return nil, false
	}
	for i, p := range prefix {
		if steps[i] != p {
			return nil, false
		}
	}
	return steps[len(prefix):], true
}

func path(names ...string) []step {
	var out []step
	for _, n := range names {
		if name, key, ok := strings.Cut(n, "="); ok {
			out = append(out, step{name: name, key: key, keyed: true})
		} else {
			out = append(out, step{name: n})
		}
	}
	return out
}

// The subtrees of the configuration the simulator models.
var (
	certsSteps   = path("config", "shared", "certificate")
	profileSteps = path("config", "shared", "ssl-tls-service-profile")
	systemSteps  = path("config", "devices", "entry=localhost.localdomain", "deviceconfig", "system")
)
