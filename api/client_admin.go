package api

import (
	"context"
	"net/http"
)

// Credentials describes the stored credential sets, and those named but
// not stored: names, key names and users, never a value (ADMIN).
func (c *Client) Credentials(ctx context.Context) ([]CredentialSet, error) {
	var out []CredentialSet
	_, err := c.do(ctx, http.MethodGet, "/admin/v1/credentials", nil, &out)
	return out, err
}
