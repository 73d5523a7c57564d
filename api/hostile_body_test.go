package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/internal/testtool"
)

// Every answer to a hostile body stays small and cheap: no amplification
// for anyone who can reach the API.
const (
	maxHostileReply = 16 << 10
	maxHostileCost  = 50 * time.Millisecond
)

// bodyOp is an endpoint that reads a request body, as published.
type bodyOp struct {
	method, path string
	fields       []string          // the body's top-level fields, sorted; none for free-form bodies
	types        map[string]string // their JSON types
	secured      bool              // it needs a token
}

// bodyOps lists every operation in the published OpenAPI description that
// takes a request body, so a new endpoint is covered without editing this
// test. Path parameters are filled with values the fixture has.
func bodyOps(t *testing.T, fx *rbacFixture) []bodyOp {
	t.Helper()
	code, body, _ := request(t, fx.srv, "GET", "/openapi.json", "", "")
	if code != 200 {
		t.Fatalf("GET /openapi.json: %d", code)
	}
	type schema struct {
		Ref        string `json:"$ref"`
		Properties map[string]struct {
			Type any `json:"type"` // a name or a list of names
		} `json:"properties"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody *struct {
				Content map[string]struct {
					Schema schema `json:"schema"`
				} `json:"content"`
			} `json:"requestBody"`
			Security []map[string][]string `json:"security"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	params := strings.NewReplacer("{username}", "victim-admin", "{system_name}", "admin.example.com", "{id}", fx.rots["ADMIN"])
	var ops []bodyOp
	for path, item := range doc.Paths {
		for method, op := range item {
			if op.RequestBody == nil {
				continue
			}
			p := params.Replace(path)
			if strings.Contains(p, "{") {
				t.Fatalf("%s %s: no fixture value for its path parameter; add one to bodyOps", method, path)
			}
			s := op.RequestBody.Content["application/json"].Schema
			if s.Ref != "" {
				s = doc.Components.Schemas[strings.TrimPrefix(s.Ref, "#/components/schemas/")]
			}
			o := bodyOp{method: strings.ToUpper(method), path: p, types: map[string]string{}, secured: len(op.Security) > 0}
			for f, fs := range s.Properties {
				o.fields = append(o.fields, f)
				o.types[f] = fmt.Sprint(fs.Type)
			}
			slices.Sort(o.fields)
			ops = append(ops, o)
		}
	}
	if len(ops) < 6 {
		t.Fatalf("only %d operations with a body in /openapi.json", len(ops))
	}
	return ops
}

// hostile is a body under the size limit built to make the server work or
// write: want is what the answer must name when it is a 400.
type hostile struct {
	name string
	body []byte
	want string
}

func hostileBodies(op bodyOp) []hostile {
	field := "a" // free-form bodies: any key will do
	if len(op.fields) > 0 {
		field = op.fields[0]
	}
	var b bytes.Buffer
	build := func(f func(*bytes.Buffer)) []byte {
		b.Reset()
		f(&b)
		return bytes.Clone(b.Bytes())
	}
	manyKeys := build(func(b *bytes.Buffer) {
		b.WriteString(`{`)
		for i := range 40000 {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(b, `"k%d":0`, i)
		}
		b.WriteString(`}`)
	})
	keysWant := "k0"
	if len(op.fields) == 0 {
		keysWant = "keys" // a free-form body has no unknown keys, only too many
	}
	// The huge array goes where an array belongs, if anywhere.
	arrayField, arrayWant := field, "elements"
	if len(op.fields) > 0 {
		arrayWant = "not an array"
		for _, f := range op.fields {
			if op.types[f] == "array" {
				arrayField, arrayWant = f, "elements"
				break
			}
		}
	}
	// The long string goes where the handler looks first.
	stringField := field
	if op.types["system_name"] != "" {
		stringField = "system_name"
	}
	deep := `{"` + field + `":` + strings.Repeat("[", 200000) + strings.Repeat("]", 200000) + `}`
	hugeArray := build(func(b *bytes.Buffer) {
		fmt.Fprintf(b, `{%q:[0`, arrayField)
		for range 300000 {
			b.WriteString(",0")
		}
		b.WriteString(`]}`)
	})
	long := strings.Repeat("a", 900<<10)
	wrongTypes := build(func(b *bytes.Buffer) {
		fields := op.fields
		if len(fields) == 0 {
			fields = []string{"platform", "certificate_authorities", "hosted_zones"}
		}
		nested := "[[" + strings.Repeat("0,", 999) + "0]]"
		b.WriteString("{")
		for i, f := range fields {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(b, "%q:%s", f, nested)
		}
		b.WriteString("}")
	})
	dupes := build(func(b *bytes.Buffer) {
		b.WriteString("{")
		for i := range (900 << 10) / (len(field) + 5) {
			if i > 0 {
				b.WriteString(",")
			}
			fmt.Fprintf(b, "%q:0", field)
		}
		b.WriteString("}")
	})
	return []hostile{
		{"40k unknown keys", manyKeys, keysWant},
		{"deep nesting", []byte(deep), "deep"},
		{"huge array", hugeArray, arrayWant},
		{"long string", []byte(`{"` + stringField + `":"` + long + `"}`), stringField},
		{"long key", []byte(`{"` + long + `":1}`), "longer than"},
		{"many wrong-typed fields", wrongTypes, field},
		{"duplicate keys", dupes, "duplicate"},
		{"invalid UTF-8", []byte(`{"` + field + "\":\"\xff\xfe" + long[:1000] + `"}`), "UTF-8"},
		{"unterminated", []byte(`{"` + field + `":"` + long), "JSON"},
		{"not an object", []byte(`[` + strings.Repeat(`"x",`, 1000) + `"x"]`), "object"},
	}
}

// TestHostileBodies sends every endpoint that reads a body, anonymously
// and as ADMIN, bodies under 1 MiB built to amplify: 40,000 unknown keys,
// deep nesting, huge arrays, long strings and keys, many wrong-typed or
// duplicate fields, invalid UTF-8. Each answer must be a 4xx problem+json
// under 16 KB that names the problem without echoing the body, and cost
// the server under 50 ms (the best of up to 10 tries, in-process).
func TestHostileBodies(t *testing.T) {
	testtool.MainPassOnly(t, "it times one request at a time, which the race detector slows tenfold")
	fx := newRBACFixture(t)
	h := fx.handler // timed: the API alone, not the OpenAPI check
	budget := maxHostileCost
	for _, op := range bodyOps(t, fx) {
		for _, hb := range hostileBodies(op) {
			if len(hb.body) >= 1<<20 {
				t.Fatalf("%s: %d bytes is not under 1 MiB", hb.name, len(hb.body))
			}
			for _, who := range []string{"none", "ADMIN"} {
				t.Run(op.method+" "+op.path+" "+hb.name+" as "+who, func(t *testing.T) {
					serve := func(body []byte) (*httptest.ResponseRecorder, time.Duration) {
						req := httptest.NewRequestWithContext(t.Context(), op.method, op.path, bytes.NewReader(body))
						req.Header.Set("Content-Type", "application/json")
						if tok := fx.tokens[who]; tok != "" {
							req.Header.Set("Authorization", tok)
						}
						rec := httptest.NewRecorder()
						start := time.Now()
						done := make(chan struct{})
						go func() { h.ServeHTTP(rec, req); close(done) }()
						select {
						case <-done:
						case <-time.After(100 * budget):
							t.Fatalf("no answer in %v", 100*budget) // the handler goroutine is left to finish
						}
						return rec, time.Since(start)
					}
					// Each hostile request is followed by an empty body's,
					// so both see the machine as it is at that moment: a
					// machine slowed by other work slows both alike, a body
					// that costs real work does not.
					var rec *httptest.ResponseRecorder
					best, baseline := time.Hour, time.Hour
					for range 10 {
						var took time.Duration
						rec, took = serve(hb.body)
						best = min(best, took)
						if best < budget || best > 20*budget {
							break // cheap, or too dear for any load to explain
						}
						_, took = serve([]byte("{}"))
						baseline = min(baseline, took)
					}
					reply := rec.Body.String()
					if rec.Code < 400 || rec.Code >= 500 {
						t.Errorf("status %d, want 4xx: %.300s", rec.Code, reply)
					}
					if !strings.Contains(rec.Header().Get("Content-Type"), "problem+json") {
						t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
					}
					if len(reply) > maxHostileReply {
						t.Errorf("reply is %d bytes, want under %d: %.300s", len(reply), maxHostileReply, reply)
					}
					if rec.Code == http.StatusBadRequest && !strings.Contains(reply, hb.want) {
						t.Errorf("400 not naming %q: %.500s", hb.want, reply)
					}
					if strings.Contains(reply, strings.Repeat("a", 400)) || strings.Contains(reply, strings.Repeat("0,", 200)) {
						t.Errorf("the reply echoes the body: %.500s", reply)
					}
					// Once more, untimed, through the OpenAPI check.
					checked := httptest.NewRequestWithContext(t.Context(), op.method, op.path, bytes.NewReader(hb.body))
					checked.Header.Set("Content-Type", "application/json")
					if tok := fx.tokens[who]; tok != "" {
						checked.Header.Set("Authorization", tok)
					}
					fx.srv.Config.Handler.ServeHTTP(httptest.NewRecorder(), checked)
					if testing.Verbose() {
						t.Logf("best %v", best)
					}
					if best > budget && (best > 20*budget || best > 20*baseline) {
						t.Errorf("took %v, want under %v (an empty body took %v)", best, budget, baseline)
					}
				})
			}
		}
	}
}
