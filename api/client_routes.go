package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"

	"github.com/ottr-dev/ottr"
)

// Routes returns the server's route table (GET /api/v1/routes), so a
// client routes assets as the server's router does.
func (c *Client) Routes(ctx context.Context) (*ottr.RouteTable, error) {
	var raw json.RawMessage
	if _, err := c.do(ctx, "GET", "/api/v1/routes", nil, &raw); err != nil {
		return nil, err
	}
	return ottr.ParseRouteTable(bytes.NewReader(raw))
}

// CAs returns the names of the configured certificate authorities.
func (c *Client) CAs(ctx context.Context) ([]string, error) {
	var out []string
	_, err := c.do(ctx, http.MethodGet, "/api/v1/certificate-authorities", nil, &out)
	return out, err
}

// Delegation checks each of an asset's names: its _acme-challenge CNAME
// chain and whether it lands in a delegate zone. A name that does not is
// a result with OK false and its Error, not an error; ENOTFOUND for an
// absent asset, EUNAVAILABLE when the server has no delegate zones.
func (c *Client) Delegation(ctx context.Context, systemName string) ([]DelegationResult, error) {
	var out []DelegationResult
	_, err := c.do(ctx, http.MethodGet, "/api/v1/assets/"+url.PathEscape(systemName)+"/delegation", nil, &out)
	return out, err
}
