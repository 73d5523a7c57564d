package api

import (
	"context"
	"net/http"
	"net/url"
)

// Logout revokes the client's token (POST /user/v1/logout) and forgets it.
func (c *Client) Logout(ctx context.Context) error {
	if _, err := c.do(ctx, http.MethodPost, "/user/v1/logout", nil, nil); err != nil {
		return err
	}
	c.Token = ""
	return nil
}

// SetCertificateValidation sets whether the server verifies an asset's
// device certificate when connecting to it (ADMIN).
func (c *Client) SetCertificateValidation(ctx context.Context, name string, validate bool) error {
	verb := "unset"
	if validate {
		verb = "set"
	}
	_, err := c.do(ctx, http.MethodPatch, "/api/v1/management/certificate-validation/"+verb+"/"+url.PathEscape(name), nil, nil)
	return err
}
