package api_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestOpenAPIGolden pins the published API description: a change to a
// path, a field or a status shows up in review as a diff of
// testdata/openapi.json (regenerate with go test ./api -run OpenAPI -update).
func TestOpenAPIGolden(t *testing.T) {
	srv, _ := newServer(t)
	code, body, h := request(t, srv, "GET", "/openapi.json", "", "")
	if code != 200 || h.Get("Content-Type") != "application/vnd.oai.openapi+json" {
		t.Fatalf("GET /openapi.json: %d %s", code, h.Get("Content-Type"))
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["openapi"] != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", doc["openapi"])
	}
	got, _ := json.MarshalIndent(doc, "", "  ")
	got = append(got, '\n')
	const golden = "testdata/openapi.json"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (create it with -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("/openapi.json differs from %s; if the change is intended, run go test ./api -run OpenAPI -update and review the diff", golden)
	}
}
