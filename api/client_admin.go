package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/ottr-dev/ottr"
)

// Credentials describes the stored credential sets, and those named but
// not stored: names, key names and users, never a value (ADMIN).
func (c *Client) Credentials(ctx context.Context) ([]CredentialSet, error) {
	var out []CredentialSet
	_, err := c.do(ctx, http.MethodGet, "/admin/v1/credentials", nil, &out)
	return out, err
}

// Events returns one page of the audit log, newest first, selected by f
// (ADMIN), and the cursor of the next page ("" on the last).
func (c *Client) Events(ctx context.Context, f ottr.EventFilter) ([]*ottr.Event, string, error) {
	q := url.Values{}
	for k, v := range map[string]string{"actor": f.Actor, "action": f.Action, "resource": f.Resource, "cursor": f.Cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out []*ottr.Event
	h, err := c.do(ctx, http.MethodGet, "/admin/v1/events?"+q.Encode(), nil, &out)
	if err != nil {
		return nil, "", err
	}
	return out, cursorOf(linkNext(h.Get("Link"))), nil
}
