package api_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// TestEventsPagedAndFiltered: the audit log's pages keep their filter
// (actor, action, resource, since) from one Link to the next, over HTTP
// and through Client.Events, and a filter past its bound is a 400 naming
// it.
func TestEventsPagedAndFiltered(t *testing.T) {
	fx := newRBACFixture(t)
	ctx := t.Context()
	start := time.Now().Add(-time.Minute)
	for i := range 12 {
		actor := []string{"alice", "bob", "cli:root"}[i%3]
		e := &ottr.Event{Actor: actor, Action: []string{"asset.update", "user.role"}[i%2], Resource: fmt.Sprintf("asset/e%d.example.com", i%4),
			Time: start.Add(time.Duration(i) * time.Second)}
		if err := fx.db.RecordEvent(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	// alice: i = 0, 3, 6, 9, newest first.
	var got []string
	path := "/admin/v1/events?actor=alice&limit=1"
	for pages := 0; path != ""; pages++ {
		code, body, h := request(t, fx.srv, "GET", path, "", fx.tokens["ADMIN"])
		if code != 200 {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		var page []ottr.Event
		json.Unmarshal([]byte(body), &page)
		for _, e := range page {
			got = append(got, e.Actor+" "+e.Resource)
		}
		path = ""
		if l := h.Get("Link"); l != "" {
			path = l[strings.Index(l, "<")+1 : strings.Index(l, ">")]
		}
		if pages > 10 {
			t.Fatal("pages do not end")
		}
	}
	want := "alice asset/e1.example.com,alice asset/e2.example.com,alice asset/e3.example.com,alice asset/e0.example.com"
	if strings.Join(got, ",") != want {
		t.Errorf("alice's events page by page: %v, want %s", got, want)
	}

	c := &api.Client{BaseURL: fx.srv.URL, Token: fx.tokens["ADMIN"]}
	f := ottr.EventFilter{Action: "user.role", Resource: "asset/e1.example.com", Since: start.Add(4 * time.Second), Limit: 1}
	var ids []int64
	for pages := 0; ; pages++ {
		page, next, err := c.Events(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range page {
			if e.Action != "user.role" || e.Resource != "asset/e1.example.com" || e.Time.Before(f.Since) {
				t.Errorf("an event outside the filter: %+v", e)
			}
			ids = append(ids, e.ID)
		}
		if next == "" || pages > 10 {
			break
		}
		f.Cursor = next
	}
	// i odd and i%4 == 1 from i = 4 on: 5 and 9.
	if len(ids) != 2 || ids[0] <= ids[1] {
		t.Errorf("Client.Events pages: ids %v, want two, newest first", ids)
	}
	if _, _, err := c.Events(ctx, ottr.EventFilter{Actor: strings.Repeat("x", 300)}); ottr.ErrorCode(err) != ottr.EINVALID ||
		len(ottr.ErrorProblems(err)) != 1 || !strings.HasSuffix(ottr.ErrorProblems(err)[0].Field, "actor") {
		t.Errorf("a long actor: %v %v", err, ottr.ErrorProblems(err))
	}
	c.Token = fx.tokens["PRIVILEGED"]
	if _, _, err := c.Events(ctx, ottr.EventFilter{}); ottr.ErrorCode(err) != ottr.EFORBIDDEN {
		t.Errorf("PRIVILEGED reads the audit log: %v", err)
	}
}
