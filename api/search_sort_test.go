package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// TestSearchSortEnum: the orders the document publishes for sort are the
// ones the store takes.
func TestSearchSortEnum(t *testing.T) {
	f, _ := reflect.TypeFor[api.SearchInput]().FieldByName("Sort")
	if got := strings.Split(f.Tag.Get("enum"), ","); !slices.Equal(got, ottr.AssetSorts) {
		t.Errorf("sort enum %v, want ottr.AssetSorts %v", got, ottr.AssetSorts)
	}
}

// TestSearchSortedPages follows the Link headers of a sorted, filtered
// search to its end, over HTTP and through the Client, and checks the
// refusals of a bad sort, a bad q and a cursor of another order.
func TestSearchSortedPages(t *testing.T) {
	fx := newRBACFixture(t)
	ctx := t.Context()
	now := time.Now().UTC().Truncate(time.Second)
	var want []string // by certificate_expiration, descending: never rotated last
	for i := range 9 {
		name := fmt.Sprintf("sort%d.example.com", i)
		a := &ottr.Asset{SystemName: name, CommonName: name, SubjectAlternativeName: []string{name, fmt.Sprintf("Alias%d.Example.NET", i)},
			CertificateAuthority: "lets_encrypt", HostPlatform: "panos", OSVersion: "10.2.0", DeviceModel: "PA-440"}
		if i%3 != 0 {
			a.CertificateExpiration = ottr.NewTime(now.Add(time.Duration(i%4) * time.Hour))
		}
		if err := fx.db.CreateAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	// Expiries: i%4 hours from now for i not a multiple of 3; ties by
	// name, reversed.
	want = []string{"sort7.example.com", "sort2.example.com", "sort5.example.com", "sort1.example.com", "sort8.example.com", "sort4.example.com",
		"sort6.example.com", "sort3.example.com", "sort0.example.com"}
	q := url.Values{"sort": {"-certificate_expiration"}, "q": {"alias"}, "os_version": {"10.2.0"}, "device_model": {"PA-440"}, "limit": {"2"}}
	var got []string
	path := "/api/v1/search?" + q.Encode()
	for pages := 0; path != ""; pages++ {
		code, body, h := request(t, fx.srv, "GET", path, "", fx.tokens["DEVELOPER"])
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var page []ottr.Asset
		json.Unmarshal([]byte(body), &page)
		for _, a := range page {
			got = append(got, a.SystemName)
		}
		path = ""
		if l := h.Get("Link"); l != "" {
			path = l[strings.Index(l, "<")+1 : strings.Index(l, ">")]
			for _, p := range []string{"sort=-certificate_expiration", "q=alias", "os_version=10.2.0", "device_model=PA-440"} {
				if !strings.Contains(path, p) {
					t.Errorf("next page %s lost %s", path, p)
				}
			}
		}
		if pages > 10 {
			t.Fatal("pages do not end")
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("pages by -certificate_expiration: %v, want %v", got, want)
	}

	c := &api.Client{BaseURL: fx.srv.URL, Token: fx.tokens["DEVELOPER"]}
	got = nil
	f := ottr.AssetFilter{Sort: "-certificate_expiration", Query: " ALIAS", OSVersion: "10.2.0", DeviceModel: "PA-440", Limit: 4}
	for pages := 0; ; pages++ {
		page, next, err := c.FindAssets(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page {
			got = append(got, a.SystemName)
		}
		if next == "" || pages > 10 {
			break
		}
		f.Cursor = next
	}
	if !slices.Equal(got, want) {
		t.Errorf("Client.FindAssets pages: %v, want %v", got, want)
	}
	if page, _, err := c.FindAssets(ctx, ottr.AssetFilter{Query: "alias4.", DeviceModel: "PA-440"}); err != nil || len(page) != 1 || page[0].SystemName != "sort4.example.com" {
		t.Errorf("Client.FindAssets by q: %v %v", page, err)
	}
	if page, _, err := c.FindAssets(ctx, ottr.AssetFilter{Query: "alias4.", DeviceModel: "PA-3220"}); err != nil || len(page) != 0 {
		t.Errorf("Client.FindAssets by q and another model: %v %v", page, err)
	}

	_, byPlatform, err := c.FindAssets(ctx, ottr.AssetFilter{Sort: "host_platform", Limit: 1})
	if err != nil || byPlatform == "" {
		t.Fatalf("a page by platform: %q %v", byPlatform, err)
	}
	for _, tc := range []struct {
		query, field, text string
	}{
		{"sort=expiry", "sort", "certificate_expiration, -certificate_expiration"},
		{"sort=" + url.QueryEscape("host_platform DESC"), "sort", "-host_platform"},
		{"q=" + url.QueryEscape("a' OR '1'='1"), "q", "part of a name or an address"},
		{"q=" + url.QueryEscape("50%"), "q", "part of a name or an address"},
		{"cursor=" + byPlatform, "cursor", "sorted by host_platform, not by system_name"},
	} {
		code, body, _ := request(t, fx.srv, "GET", "/api/v1/search?"+tc.query, "", fx.tokens["DEVELOPER"])
		var p struct {
			Errors []struct{ Location, Message string }
		}
		json.Unmarshal([]byte(body), &p)
		if code != 400 || len(p.Errors) != 1 || !strings.HasSuffix(p.Errors[0].Location, tc.field) || !strings.Contains(p.Errors[0].Message, tc.text) {
			t.Errorf("%s: %d %s; want 400 naming %s with %q", tc.query, code, body, tc.field, tc.text)
		}
	}
	// Through the Client the refusal is the server's problem, as is.
	_, _, err = c.FindAssets(ctx, ottr.AssetFilter{Sort: "newest"})
	if probs := ottr.ErrorProblems(err); ottr.ErrorCode(err) != ottr.EINVALID || len(probs) != 1 || !strings.HasSuffix(probs[0].Field, "sort") {
		t.Errorf("Client.FindAssets with a bad sort: %v %v", err, probs)
	}
}
