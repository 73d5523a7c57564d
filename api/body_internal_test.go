package api

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"
)

// checkBody lets through every body Ottr takes and names the first
// problem of each it must not.
func TestCheckBody(t *testing.T) {
	route, err := os.ReadFile("../testdata/route.json")
	if err != nil {
		t.Fatal(err)
	}
	str := &huma.Schema{Type: "string"}
	limit := 10
	login := map[string]*huma.Schema{"username": str, "password": {Type: "string", MaxLength: &limit}}
	asset := map[string]*huma.Schema{"system_name": str, "labels": {Type: "object"}, "subject_alternative_name": {Type: "array"}, "certificate_validation": {Type: "boolean"}}
	nest := func(n int) string { return `{"a":` + strings.Repeat("[", n-1) + strings.Repeat("]", n-1) + `}` }
	for _, c := range []struct {
		name, body string
		fields     map[string]*huma.Schema
		want       string // "" = passes
	}{
		{"route table", string(route), nil, ""},
		{"empty", "  ", login, ""},
		{"login", `{"username":"admin","password":"P\"a\\ss{[w0rd"}`, login, ""},
		{"asset in Ottr's forms", `{"system_name":"x.example.com","labels":{"a":"b","c":"d"},"subject_alternative_name":["x.example.com"],"certificate_validation":"True"}`, asset, ""},
		{"escaped key", `{"user\u006eame":"admin"}`, login, ""},
		{"32 levels", nest(32), nil, ""},
		{"33 levels", nest(33), nil, "32 levels"},
		{"unknown", `{"username":"a","zzz":1,"yyy":2}`, login, "body.zzz"},
		{"duplicate", `{"username":"a","username":"b"}`, login, "duplicate"},
		{"escaped duplicate", `{"username":"a","user\u006eame":"b"}`, login, "duplicate"},
		{"nested duplicate", `{"labels":{"a":"1","b":"2","a":"3"}}`, asset, "duplicate"},
		{"same keys in siblings and children", `{"a":{"x":{"y":1}},"b":{"x":{"y":1},"y":{"x":1,"y":{"x":1}}}}`, nil, ""},
		{"duplicate after a nested object", `{"a":{"x":1},"b":{"c":{"d":1,"e":2},"d":3,"c":4}}`, nil, "duplicate"},
		{"duplicate past 16 keys", `{"labels":{` + manyKeys(40) + `,"k6":"x"}}`, asset, "duplicate"},
		{"object for a string", `{"username":{"$ne":null}}`, login, "must be a string, not an object"},
		{"array for a boolean", `{"certificate_validation":[true]}`, asset, "must be a boolean, not an array"},
		{"array for an object", `{"labels":["a"]}`, asset, "must be an object, not an array"},
		{"too many keys", `{"labels":{` + manyKeys(maxBodyKeys+1) + `}}`, asset, "more than 1000 keys"},
		{"too many elements", `{"a":[` + strings.Repeat("1,", maxBodyElements) + `1]}`, nil, "more than 10000 elements"},
		{"long key", `{"` + strings.Repeat("k", maxBodyKeyLen+1) + `":1}`, nil, "longer than 256"},
		{"not an object", `"admin"`, login, "want a JSON object"},
		{"escaped within maxLength", `{"password":"` + strings.Repeat(`\ud83d\ude00`, 10) + `"}`, login, ""},
		{"far over maxLength", `{"password":"` + strings.Repeat(`\ud83d\ude00`, 11) + `"}`, login, "body.password: longer than 10 characters"},
		{"two values", `{} {}`, nil, "syntax"},
		{"ends early", `{"username":"a`, login, "ends early"},
		{"bad UTF-8", "{\"username\":\"\xc3\x28\"}", login, "UTF-8 (byte 13)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := checkBody([]byte(c.body), c.fields)
			switch {
			case c.want == "" && p != nil:
				t.Errorf("refused: %s: %s", p.Location, p.Message)
			case c.want != "" && p == nil:
				t.Errorf("passed, want %q", c.want)
			case c.want != "" && !strings.Contains(p.Location+": "+p.Message, c.want):
				t.Errorf("%s: %s; want %q", p.Location, p.Message, c.want)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strings.Repeat("x", i%3) + itoa(i) + `":"v"`)
	}
	return b.String()
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

// FuzzCheckBody: checkBody never panics, and what it lets through is
// empty or one valid JSON object.
func FuzzCheckBody(f *testing.F) {
	for _, s := range []string{`{"username":"a","password":"b"}`, `{"a":[1,{"b":"\"}"}]}`, `{"a":"\u00e9\\"}`, `[`, `{"a":1,"a":2}`, "{\"\xff\":1}"} {
		f.Add([]byte(s))
	}
	str := &huma.Schema{Type: "string"}
	fields := map[string]*huma.Schema{"username": str, "password": str, "a": {}}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, fs := range []map[string]*huma.Schema{nil, fields} {
			if checkBody(b, fs) == nil && len(strings.TrimSpace(string(b))) > 0 {
				var m map[string]any
				if err := json.Unmarshal(b, &m); err != nil {
					t.Fatalf("passed %q: %v", b, err)
				}
			}
		}
	})
}
