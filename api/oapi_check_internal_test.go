package api

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCheckerCatchesMismatches: the check every test server runs finds a
// body, a status and an accepted request the document does not allow,
// and passes their correct counterparts.
func TestCheckerCatchesMismatches(t *testing.T) {
	v := documentValidator(t, (&Server{Version: "test"}).Handler())
	asset := func(validation string) string {
		return `[{"system_name":"a.example.com","common_name":"a.example.com","subject_alternative_name":["a.example.com"],` +
			`"certificate_authority":"lets_encrypt","certificate_expiration":null,"certificate_validation":` + validation + `,` +
			`"host_platform":"panos","os_version":"","device_model":"","ip_address":"","data_center":"","origin":"API","monitored":false}]`
	}
	const problem = `{"title":"Bad Request","status":400,"detail":"invalid asset"}`
	for _, c := range []struct {
		name, method, path, reqBody string
		status                      int
		ctype, respBody             string
		want                        string // "" for no complaint
	}{
		{"boolean validation", "GET", "/api/v1/search", "", 200, "application/json", asset("true"), "certificate_validation"},
		{"Ottr's validation", "GET", "/api/v1/search", "", 200, "application/json", asset(`"True"`), ""},
		{"undeclared status", "GET", "/api/v1/search", "", 418, "application/problem+json", `{"title":"I'm a teapot","status":418}`, "418"},
		{"invalid request accepted", "POST", "/api/v1/assets", `{"system_name":"a.example.com"}`, 201, "application/json", asset(`"True"`)[1 : len(asset(`"True"`))-1], "accepted a request the document refuses"},
		{"invalid request refused", "POST", "/api/v1/assets", `{"system_name":"a.example.com"}`, 400, "application/problem+json", problem, ""},
	} {
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.reqBody))
		if c.reqBody != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp := &http.Response{StatusCode: c.status, Header: http.Header{"Content-Type": {c.ctype}}, Body: io.NopCloser(bytes.NewReader([]byte(c.respBody))), Request: req}
		got := checkExchange(v, req, []byte(c.reqBody), resp)
		if c.want == "" && got != "" {
			t.Errorf("%s: complaint about a correct exchange:\n%s", c.name, got)
		}
		if c.want != "" && !strings.Contains(got, c.want) {
			t.Errorf("%s: want a complaint naming %q, got %q", c.name, c.want, got)
		}
	}
}
