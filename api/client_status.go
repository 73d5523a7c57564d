package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/ottr-dev/ottr"
)

// Status returns the server's fleet summary, listing at most listMax
// failing and unrouted assets (listMax <= 0: as many as the API gives,
// 10000).
func (c *Client) Status(ctx context.Context, listMax int) (*ottr.FleetStatus, error) {
	if listMax <= 0 || listMax > 10000 {
		listMax = 10000
	}
	var out ottr.FleetStatus
	_, err := c.do(ctx, http.MethodGet, "/api/v1/status?list_limit="+strconv.Itoa(listMax), nil, &out)
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// Policy returns the server's renewal policy.
func (c *Client) Policy(ctx context.Context) (ottr.RenewalPolicy, error) {
	var out RenewalPolicy
	if _, err := c.do(ctx, http.MethodGet, "/api/v1/policy", nil, &out); err != nil {
		return ottr.RenewalPolicy{}, err
	}
	return out.Policy(), nil
}
