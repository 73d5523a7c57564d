package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// Client talks to an Ottr (or Ottr-compatible) API. Errors from the
// server come back as *ottr.Error with the server's code, message and
// field problems, so callers handle them like local ones.
type Client struct {
	BaseURL    string       // e.g. https://ottr.example.com
	Token      string       // "Bearer …" as returned by Login
	HTTPClient *http.Client // default: 30s timeout
}

func (c *Client) http() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: 30 * time.Second}
}

// codes maps HTTP statuses back to error codes.
func codeFor(status int) string {
	switch status {
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		return ottr.EINVALID
	case http.StatusUnauthorized:
		return ottr.EUNAUTHORIZED
	case http.StatusForbidden:
		return ottr.EFORBIDDEN
	case http.StatusNotFound:
		return ottr.ENOTFOUND
	case http.StatusConflict:
		return ottr.ECONFLICT
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusBadGateway, http.StatusGatewayTimeout:
		return ottr.EUNAVAILABLE
	}
	return ottr.EINTERNAL
}

// do sends a request and decodes a JSON answer into out (if not nil). It
// returns the response headers.
func (c *Client) do(ctx context.Context, method, path string, in, out any) (http.Header, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return nil, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(c.BaseURL, "/")+path, body)
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "server %q: %v", c.BaseURL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/problem+json")
	if c.Token != "" {
		req.Header.Set("Authorization", c.Token)
	}
	resp, err := c.http().Do(req)
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "%s %s: %w", method, c.BaseURL, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 400 {
		var p struct {
			Detail string `json:"detail"`
			Errors []struct {
				Location string `json:"location"`
				Message  string `json:"message"`
			} `json:"errors"`
		}
		_ = json.Unmarshal(b, &p)
		e := &ottr.Error{Code: codeFor(resp.StatusCode), Message: p.Detail}
		if e.Message == "" {
			e.Message = fmt.Sprintf("%s %s: %s", method, path, resp.Status)
		}
		for _, d := range p.Errors {
			e.Problems = append(e.Problems, ottr.Problem{Field: d.Location, Message: d.Message})
		}
		return resp.Header, e
	}
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.Header, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.Header, nil
}

// Login authenticates and keeps the token.
func (c *Client) Login(ctx context.Context, username, password string) error {
	var out struct {
		Token string `json:"token"`
	}
	if _, err := c.do(ctx, http.MethodPost, "/user/v1/authenticate", map[string]string{"username": username, "password": password}, &out); err != nil {
		return err
	}
	c.Token = out.Token
	return nil
}

// ChangePassword changes a user's password, given the current one. It
// revokes the user's tokens, this client's among them when it is theirs:
// log in again with the new password.
func (c *Client) ChangePassword(ctx context.Context, username, password, newPassword string) error {
	_, err := c.do(ctx, http.MethodPut, "/user/v1/authenticate",
		map[string]string{"username": username, "password": password, "updated_password": newPassword}, nil)
	return err
}

// Search returns one page of assets and the path of the next ("" at the
// end).
func (c *Client) Search(ctx context.Context, q url.Values) ([]*ottr.Asset, string, error) {
	path := "/api/v1/search"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	return c.SearchPage(ctx, path)
}

// SearchPage fetches a page by the path a previous page's Link gave.
func (c *Client) SearchPage(ctx context.Context, path string) ([]*ottr.Asset, string, error) {
	var out []*ottr.Asset
	h, err := c.do(ctx, http.MethodGet, path, nil, &out)
	if err != nil {
		return nil, "", err
	}
	return out, linkNext(h.Get("Link")), nil
}

// linkNext is the target of a Link header's rel="next", or "".
func linkNext(l string) string {
	if strings.Contains(l, `rel="next"`) {
		if i, j := strings.Index(l, "<"), strings.Index(l, ">"); i >= 0 && j > i {
			return l[i+1 : j]
		}
	}
	return ""
}

// Rotate starts (or joins) a rotation of an asset.
func (c *Client) Rotate(ctx context.Context, systemName string) (id string, joined bool, err error) {
	var out struct {
		ID     string `json:"id"`
		Joined bool   `json:"joined"`
	}
	_, err = c.do(ctx, http.MethodPost, "/api/v1/certificate/rotate/"+url.PathEscape(systemName), nil, &out)
	return out.ID, out.Joined, err
}

// Rotation returns a rotation with its log.
func (c *Client) Rotation(ctx context.Context, id string) (*ottr.Rotation, error) {
	var out ottr.Rotation
	_, err := c.do(ctx, http.MethodGet, "/api/v1/rotations/"+url.PathEscape(id), nil, &out)
	return &out, err
}

// Trust returns what the server trusts of a device (ADMIN).
func (c *Client) Trust(ctx context.Context, systemName string) (*ottr.DeviceTrust, error) {
	var out ottr.DeviceTrust
	_, err := c.do(ctx, http.MethodGet, "/admin/v1/management/trust/"+url.PathEscape(systemName), nil, &out)
	return &out, err
}

// AcceptTrust pins the key a device last presented and lifts a hold for
// approval (ADMIN).
func (c *Client) AcceptTrust(ctx context.Context, systemName string) (*ottr.DeviceTrust, error) {
	var out ottr.DeviceTrust
	_, err := c.do(ctx, http.MethodPatch, "/admin/v1/management/trust/accept/"+url.PathEscape(systemName), nil, &out)
	return &out, err
}
