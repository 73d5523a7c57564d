package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestSearchBounds: a search parameter past its bound is one 400 problem
// naming the parameter and the limit, however far past it is, instead of
// a query the database refuses (SQLite's expression depth) or a reply that
// repeats every bad value.
func TestSearchBounds(t *testing.T) {
	fx := newRBACFixture(t)
	pairs := func(n int) string {
		p := make([]string, n)
		for i := range p {
			p[i] = fmt.Sprintf("k%d=v", i)
		}
		return strings.Join(p, ",")
	}
	long := strings.Repeat("a", 254)
	tests := []struct {
		name, query, field, limit string
	}{
		{"1,000 label pairs", "labels=" + pairs(1000), "labels", "20"},
		{"21 label pairs", "labels=" + pairs(ottr.MaxSearchLabels+1), "labels", "20"},
		{"1,000 malformed pairs", "labels=" + strings.Repeat("x,", 999) + "x", "labels", "20"},
		{"long label key", "labels=" + strings.Repeat("k", 64) + "=v", "labels", "63"},
		{"long label value", "labels=k=" + strings.Repeat("v", 256), "labels", "255"},
		{"long system_name", "system_name=" + long, "system_name", "253"},
		{"long common_name", "common_name=" + long, "common_name", "253"},
		{"long ip_address", "ip_address=" + long, "ip_address", "253"},
		{"long data_center", "data_center=" + long, "data_center", "253"},
		{"long host_platform", "host_platform=" + long, "host_platform", "253"},
		{"long origin", "origin=" + long, "origin", "253"},
		{"long certificate_authority", "certificate_authority=" + long, "certificate_authority", "253"},
		{"long os_version", "os_version=" + long, "os_version", "253"},
		{"long device_model", "device_model=" + long, "device_model", "253"},
		{"long q", "q=" + long, "q", "253"},
		{"long credential", "credential=" + long, "credential", "253"},
		{"long cursor", "cursor=" + strings.Repeat("Y", 1000), "cursor", "512"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, _ := url.ParseQuery(tc.query)
			code, body, _ := request(t, fx.srv, "GET", "/api/v1/search?"+q.Encode(), "", fx.tokens["DEVELOPER"])
			if code != 400 {
				t.Fatalf("%d %.300s; want 400", code, body)
			}
			var p struct {
				Errors []struct {
					Location, Message string
				}
			}
			if err := json.Unmarshal([]byte(body), &p); err != nil {
				t.Fatalf("%v: %.300s", err, body)
			}
			if len(p.Errors) != 1 || !strings.HasSuffix(p.Errors[0].Location, tc.field) || !strings.Contains(p.Errors[0].Message, tc.limit) {
				t.Errorf("%d problems, first %.200v; want one naming %s and its limit %s", len(p.Errors), p.Errors, tc.field, tc.limit)
			}
			if len(body) > 2048 {
				t.Errorf("reply is %d bytes; a bound violation needs no more than a line", len(body))
			}
		})
	}
	// At the bounds the search runs.
	q := url.Values{"labels": {pairs(ottr.MaxSearchLabels)}, "system_name": {strings.Repeat("a", 249) + ".com"}}
	if code, body, _ := request(t, fx.srv, "GET", "/api/v1/search?"+q.Encode(), "", fx.tokens["DEVELOPER"]); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("search at the bounds: %d %.300s; want 200 []", code, body)
	}
}
