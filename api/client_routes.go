package api

import (
	"bytes"
	"context"
	"encoding/json"

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
