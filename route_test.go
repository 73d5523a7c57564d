package ottr_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

func loadRoutes(t testing.TB) *ottr.RouteTable {
	t.Helper()
	f, err := os.Open("testdata/route.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rt, err := ottr.ParseRouteTable(f)
	if err != nil {
		t.Fatalf("parse Ottr's route.json: %v", err)
	}
	return rt
}

func TestRouteTableOttrExampleRoundTrips(t *testing.T) {
	orig, err := os.ReadFile("testdata/route.json")
	if err != nil {
		t.Fatal(err)
	}
	rt := loadRoutes(t)
	out, err := json.Marshal(rt)
	if err != nil {
		t.Fatal(err)
	}
	var want, got any
	if err := json.Unmarshal(orig, &want); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("route.json does not round-trip (-file +written):\n%s", d)
	}
	if got, want := rt.PlatformNames(), []string{"Ubuntu", "Windows", "f5", "ios", "lighthouse", "nxos", "panos"}; !cmp.Equal(got, want) {
		t.Errorf("platforms = %v, want %v", got, want)
	}
	if rt.Platforms["Windows"].Status != ottr.Pending {
		t.Errorf("Windows status = %q, want PENDING", rt.Platforms["Windows"].Status)
	}
}

func TestRouteLookup(t *testing.T) {
	rt := loadRoutes(t)
	tests := []struct {
		name                    string
		platform, os, model, ca string
		recipe                  string // "" means no route
		key, reason             string // for no route: key and a fragment of the reason
	}{
		{"panos with listed model", "panos", "9.1.0", "PA-XXXX", "lets_encrypt", "otter-panos-9x-lets-encrypt", "", ""},
		{"Ottr test: Ubuntu no model list", "Ubuntu", "20.04", "N/A", "lets_encrypt", "otter-linux-aws-ssm-lets-encrypt", "", ""},
		{"Ottr test: panos unknown os", "panos", "0.0.1", "PA-XXXX", "lets_encrypt", "", "platform.panos.os.0.0.1", "has no route"},
		{"model not listed", "panos", "9.1.0", "PA-ZZZZ", "lets_encrypt", "", "platform.panos.os.9.1.0.model", `"PA-ZZZZ" is not in the route's model list ['PA-XXXX', 'PA-YYYY']`},
		{"CA without recipe", "f5", "14.1.0", "", "digicert", "", "platform.f5.os.14.1.0.certificate_authority.digicert", `CA "digicert" has no recipe`},
		{"PENDING platform never crashes", "Windows", "2019", "", "lets_encrypt", "", "platform.Windows", "is PENDING"},
		{"unknown platform", "junos", "18.2", "SRX5600", "lets_encrypt", "", "platform.junos", "not in the route table"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := rt.Lookup(tc.platform, tc.os, tc.model, tc.ca)
			if tc.recipe != "" {
				if err != nil {
					t.Fatalf("Lookup: %v", err)
				}
				if r.Recipe != tc.recipe {
					t.Errorf("recipe = %q, want %q", r.Recipe, tc.recipe)
				}
				return
			}
			nr, ok := err.(*ottr.NoRouteError)
			if !ok {
				t.Fatalf("Lookup = %v, %v; want *NoRouteError", r, err)
			}
			if nr.Key != tc.key || !strings.Contains(nr.Reason, tc.reason) {
				t.Errorf("no route = {%q, %q}; want key %q and reason containing %q", nr.Key, nr.Reason, tc.key, tc.reason)
			}
		})
	}
}

func TestRouteLookupVersionPrefix(t *testing.T) {
	rt, err := ottr.ParseRouteTable(strings.NewReader(`{"platform":{"linux":{"os":{
		"9":{"certificate_authority":{"le":"linux-9"}},
		"9.1":{"certificate_authority":{"le":"linux-91"}},
		"10.x":{"certificate_authority":{"le":"linux-10"}},
		"9.1.5":{"certificate_authority":{"le":"linux-915"}}}}},
		"certificate_authorities":["le"]}`))
	if err != nil {
		t.Fatal(err)
	}
	for v, want := range map[string]string{
		"9.1.5": "linux-915", // exact wins
		"9.1.0": "linux-91",  // longest prefix
		"9.2":   "linux-9",
		"10.4":  "linux-10", // ".x" wildcard
		"91.0":  "",         // prefixes match at a dot only
	} {
		r, err := rt.Lookup("linux", v, "", "le")
		got := ""
		if err == nil {
			got = r.Recipe
		}
		if got != want {
			t.Errorf("os %q → %q (err %v), want %q", v, got, err, want)
		}
	}
}

func TestParseRouteTableProblems(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		paths []string // JSON paths that must be named
	}{
		{"not JSON", `{"platform": {`, []string{"$"}},
		{"syntax error has line", "{\n\"platform\": {,}\n}", []string{"$"}},
		{"trailing data", `{"platform":{},"certificate_authorities":[]} {}`, []string{"$"}},
		{"null", `null`, []string{"$"}},
		{"platform wrong type", `{"platform": [], "certificate_authorities": []}`, []string{"platform"}},
		{"pending typo", `{"platform": {"ios": "PENDNG"}, "certificate_authorities": []}`, []string{"platform.ios"}},
		{"os missing", `{"platform": {"f5": {}}, "certificate_authorities": []}`, []string{"platform.f5.os"}},
		{"ca map wrong type", `{"platform": {"f5": {"os": {"1": {"certificate_authority": ["le"]}}}}, "certificate_authorities": ["le"]}`, []string{"platform.f5.os.1.certificate_authority"}},
		{"model not list", `{"platform": {"f5": {"os": {"1": {"certificate_authority": {"le":"x"}, "model": "A"}}}}, "certificate_authorities": ["le"]}`, []string{"platform.f5.os.1.model"}},
		{"CA not declared and missing key", `{"platform": {"f5": {"os": {"1": {"certificate_authority": {"digicert":"x"}}}}}}`, []string{"certificate_authorities"}},
		{"undeclared CA", `{"platform": {"f5": {"os": {"1": {"certificate_authority": {"digicert":"x"}}}}}, "certificate_authorities": ["le"]}`, []string{"platform.f5.os.1.certificate_authority.digicert"}},
		{"hosted zones wrong type", `{"platform": {}, "certificate_authorities": [], "hosted_zones": ["example.com"]}`, []string{"hosted_zones"}},
		{"several at once", `{"platform": {"a": 1, "b": "X"}, "certificate_authorities": "le"}`, []string{"platform.a", "platform.b", "certificate_authorities"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rt, err := ottr.ParseRouteTable(strings.NewReader(tc.in))
			if err == nil {
				t.Fatalf("ParseRouteTable accepted %s: %+v", tc.in, rt)
			}
			if rt != nil {
				t.Error("an invalid table was returned")
			}
			if ottr.ErrorCode(err) != ottr.EINVALID {
				t.Errorf("code = %q, want invalid", ottr.ErrorCode(err))
			}
			fields := map[string]bool{}
			for _, p := range ottr.ErrorProblems(err) {
				fields[p.Field] = true
			}
			for _, p := range tc.paths {
				if !fields[p] {
					t.Errorf("problems %v do not name %q", ottr.ErrorProblems(err), p)
				}
			}
		})
	}
}

func TestParseRouteTableSyntaxPosition(t *testing.T) {
	_, err := ottr.ParseRouteTable(strings.NewReader("{\n  \"platform\": {,}\n}"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("error %v does not give the line of the syntax error", err)
	}
}

func FuzzParseRouteTable(f *testing.F) {
	orig, err := os.ReadFile("testdata/route.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(orig)
	f.Add([]byte(`{"platform":{"x":"PENDING"},"certificate_authorities":[]}`))
	f.Add([]byte(`{"platform":{"x":{"os":{"1":{"certificate_authority":{"a":"b"},"model":[]}}}},"certificate_authorities":["a"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rt, err := ottr.ParseRouteTable(strings.NewReader(string(data)))
		if err != nil {
			if ottr.ErrorCode(err) != ottr.EINVALID {
				t.Fatalf("error with code %q: %v", ottr.ErrorCode(err), err)
			}
			return
		}
		// A table that parsed must be usable for every kind of lookup and
		// must survive a round trip.
		for _, p := range rt.PlatformNames() {
			_, _ = rt.Lookup(p, "1", "m", "a")
		}
		out, err := json.Marshal(rt)
		if err != nil {
			t.Fatalf("marshal parsed table: %v", err)
		}
		if _, err := ottr.ParseRouteTable(strings.NewReader(string(out))); err != nil {
			t.Fatalf("re-parse of written table: %v\n%s", err, out)
		}
	})
}
