package api_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPIExamplesAccepted sends every request-body example the
// document publishes (the /docs page offers them to try) to its
// operation, as an ADMIN, in document order with creations first: each
// must succeed, and the checked server holds the answers to the document.
func TestOpenAPIExamplesAccepted(t *testing.T) {
	srv, _ := newServer(t)
	do := func(method, path, body, token string) (int, string) {
		code, b, _ := request(t, srv, method, path, body, token)
		return code, b
	}
	admin := login(t, do, "admin", "Passw0rd!")
	_, spec, _ := request(t, srv, "GET", "/openapi.json", "", "")
	type schema struct {
		Ref      string `json:"$ref"`
		Examples []any  `json:"examples"`
	}
	var doc struct {
		Paths map[string]map[string]struct {
			RequestBody *struct {
				Content map[string]struct {
					Schema   *schema        `json:"schema"`
					Example  any            `json:"example"`
					Examples map[string]any `json:"examples"`
				} `json:"content"`
			} `json:"requestBody"`
		} `json:"paths"`
		Components struct {
			Schemas map[string]schema `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(spec), &doc); err != nil {
		t.Fatal(err)
	}
	type sample struct {
		method, path string
		body         any
	}
	var samples []sample
	for path, item := range doc.Paths {
		for method, op := range item {
			if op.RequestBody == nil {
				continue
			}
			for _, mt := range op.RequestBody.Content {
				if mt.Example != nil {
					samples = append(samples, sample{method, path, mt.Example})
				}
				for _, ex := range mt.Examples {
					samples = append(samples, sample{method, path, ex.(map[string]any)["value"]})
				}
				if s := mt.Schema; s != nil {
					if s.Ref != "" {
						c := doc.Components.Schemas[s.Ref[strings.LastIndex(s.Ref, "/")+1:]]
						s = &c
					}
					for _, ex := range s.Examples {
						samples = append(samples, sample{method, path, ex})
					}
				}
			}
		}
	}
	// What an example updates must exist first.
	rank := map[string]int{"post": 0, "put": 1, "patch": 2, "delete": 3}
	slices.SortStableFunc(samples, func(a, b sample) int {
		if c := strings.Compare(a.path, b.path); c != 0 {
			return c
		}
		return rank[a.method] - rank[b.method]
	})
	var tried []string
	for _, s := range samples {
		b, _ := json.Marshal(s.body)
		code, body := do(strings.ToUpper(s.method), s.path, string(b), admin)
		if code < 200 || code > 299 {
			t.Errorf("%s %s with the document's example %s: %d %s", strings.ToUpper(s.method), s.path, b, code, body)
		}
		tried = append(tried, strings.ToUpper(s.method)+" "+s.path)
	}
	for _, want := range []string{"POST /api/v1/assets", "PUT /api/v1/assets"} {
		if !slices.Contains(tried, want) {
			t.Errorf("the document has no example for %s (examples for: %v)", want, tried)
		}
	}
}

// TestAssetOutputOnlyFields: fields the API sets (readOnly in the
// document) are ignored when a client sends them, and a bad value deep in
// one is named by its field, in plain words.
func TestAssetOutputOnlyFields(t *testing.T) {
	srv, _ := newServer(t)
	do := func(method, path, body, token string) (int, string) {
		code, b, _ := request(t, srv, method, path, body, token)
		return code, b
	}
	admin := login(t, do, "admin", "Passw0rd!")
	base := `"system_name":"ro.example.com","common_name":"ro.example.com","certificate_authority":"lets_encrypt","host_platform":"panos"`

	code, body := do("POST", "/api/v1/assets", `{`+base+`,"last_rotation":{"time":"yesterday","status":"ok"}}`, admin)
	if code != 400 || !strings.Contains(body, "last_rotation.time") || !strings.Contains(body, "ISO 8601") || strings.Contains(body, "JSON object") {
		t.Errorf("bad time inside last_rotation: %d %s", code, body)
	}

	sent := `{` + base + `,"origin":"import","certificate_expiration":"2030-01-01T00:00:00Z","certificate_validation":"False",
		"last_rotation":{"time":"2025-01-01T00:00:00Z","status":"success","failures":0},"certificate_serial":"0a",
		"certificate_issuer":"CN=Someone","certificate_not_before":"2025-01-01T00:00:00Z",
		"monitored":true,"certificate_observed_at":"2025-01-02T00:00:00Z"}`
	code, body = do("POST", "/api/v1/assets", sent, admin)
	var got map[string]any
	json.Unmarshal([]byte(body), &got)
	if code != 201 {
		t.Fatalf("asset with output-only fields: %d %s", code, body)
	}
	want := map[string]any{"origin": "API", "certificate_expiration": nil, "certificate_validation": "True", "monitored": false}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %#v, want %#v (the API sets it)", k, got[k], v)
		}
	}
	for _, k := range []string{"last_rotation", "certificate_serial", "certificate_issuer", "certificate_not_before", "renewal_window", "certificate_observed_at"} {
		if _, ok := got[k]; ok {
			t.Errorf("%s = %v was taken from the request; the API sets it", k, got[k])
		}
	}
	code, body = do("GET", "/api/v1/search?system_name=ro.example.com", "", admin)
	if code != 200 || strings.Contains(body, "CN=Someone") || strings.Contains(body, `"0a"`) {
		t.Errorf("stored asset: %d %s", code, body)
	}
	// An update keeps what the API set, whatever it is sent.
	code, body = do("PUT", "/api/v1/assets", `{`+base+`,"monitored":true,"certificate_observed_at":"2025-01-02T00:00:00Z"}`, admin)
	if code != 200 || !strings.Contains(body, `"monitored":false`) || strings.Contains(body, "certificate_observed_at") {
		t.Errorf("update with output-only fields: %d %s", code, body)
	}
}

// TestAssetFieldErrorsInPlainWords: a value of the wrong type, at any
// depth, is named by the field the client wrote, with JSON type names.
func TestAssetFieldErrorsInPlainWords(t *testing.T) {
	srv, _ := newServer(t)
	do := func(method, path, body, token string) (int, string) {
		code, b, _ := request(t, srv, method, path, body, token)
		return code, b
	}
	admin := login(t, do, "admin", "Passw0rd!")
	base := `"system_name":"fe.example.com","common_name":"fe.example.com","certificate_authority":"lets_encrypt","host_platform":"panos"`
	for _, c := range []struct{ extra, want string }{
		{`"renewal_window":5`, `"location":"renewal_window"`},
		{`"renewal_window":5`, "must be an object, not a number"},
		{`"renewal_window":{"start":"x"}`, `"location":"renewal_window.start"`},
		{`"last_rotation":{"failures":"x"}`, `"location":"last_rotation.failures"`},
		{`"port":"x"`, `"location":"port"`},
		{`"labels":["a"]`, "must be an object, not an array"},
		{`"certificate_not_before":"soon"`, `"location":"certificate_not_before"`},
		{`"certificate_observed_at":"soon"`, `"location":"certificate_observed_at"`},
		{`"monitored":"yes"`, `"location":"monitored"`},
		{`"monitored":"yes"`, "must be a boolean, not a string"},
	} {
		for _, method := range []string{"POST", "PUT"} {
			code, body := do(method, "/api/v1/assets", `{`+base+`,`+c.extra+`}`, admin)
			if code != 400 || !strings.Contains(body, c.want) || strings.Contains(body, "plain") || strings.Contains(body, "JSON object") {
				t.Errorf("%s %s: %d %s\nwant 400 with %s", method, c.extra, code, body, c.want)
			}
		}
	}
}
