package main

import (
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// A config file's mistakes are named by key path and line, with what the
// key wants and what was found: never yaml's Go type names.
func TestConfigDecodeErrorsNameKeys(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		want       []string // one problem each, in order
	}{
		{"unknown key", "router:\n  intervall: 5m\n",
			[]string{"router.intervall: unknown key (F line 2); the keys here are interval, jitter, paused, renew_before, renew_fraction, routes, watch, watch_concurrency, watch_timeout"}},
		{"unknown top-level keys", "foo: 1\nbar: 2\n",
			[]string{"foo: unknown key (F line 1)", "bar: unknown key (F line 2)"}},
		{"scalar for a list", "dns:\n  zones: 5\n", []string{"dns.zones: want a list, found 5 (F line 2)"}},
		{"mapping for a list", "dns:\n  zones:\n    a: 1\n", []string{"dns.zones: want a list, found a mapping (F line 3)"}},
		{"list for a string", "listen: [1, 2]\n", []string{"listen: want a string, found a list (F line 1)"}},
		{"number for a section", "router: 3\n", []string{"router: want a mapping of keys, found 3 (F line 1)"}},
		{"inside a named CA", "certificate_authorities:\n  le:\n    directroy: x\n", []string{"certificate_authorities.le.directroy: unknown key (F line 3)"}},
		{"inside a DNS provider", "dns:\n  zones: [acme.example.net]\n  providers:\n    acme.example.net:\n      type: rfc2136\n      server: [1]\n",
			[]string{"dns.providers.acme.example.net.server: want a string, found a list (line 6)"}},
		{"scalar for a DNS provider", "dns:\n  providers:\n    acme.example.net: 5\n",
			[]string{"dns.providers.acme.example.net: want a mapping of keys, found 5 (F line 3)"}},
		{"bad duration", "router:\n  interval: abc\n", []string{`router.interval: "abc" is not a duration`}},
		{"YAML syntax", "a: b: c\n", []string{"F: not valid YAML: mapping values are not allowed in this context (check the indentation"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.body)
			_, err := loadConfig(path, func(string) string { return "" })
			if ottr.ErrorCode(err) != ottr.EINVALID {
				t.Fatalf("loadConfig: %v, want EINVALID", err)
			}
			probs := ottr.ErrorProblems(err)
			if len(probs) != len(tc.want) {
				t.Fatalf("problems %v, want %d", probs, len(tc.want))
			}
			for i, w := range tc.want {
				if w = strings.ReplaceAll(w, "F", path); !strings.HasPrefix(probs[i].String(), w) {
					t.Errorf("problem %d = %q, want it to start with %q", i, probs[i], w)
				}
			}
			for _, leak := range []string{"main.", "[]string", "unmarshal", "!!", "yaml:"} {
				if strings.Contains(strings.ReplaceAll(err.Error(), path, "F"), leak) {
					t.Errorf("error shows %q: %v", leak, err)
				}
			}
		})
	}
}
