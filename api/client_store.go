package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ottr-dev/ottr"
)

// The Client has the asset, rotation and user methods of the store, so
// commands work the same on a server as on the database.

// CreateAsset adds an asset; a is replaced by the asset as stored.
func (c *Client) CreateAsset(ctx context.Context, a *ottr.Asset) error {
	var out ottr.Asset
	if _, err := c.do(ctx, http.MethodPost, "/api/v1/assets", a, &out); err != nil {
		return err
	}
	*a = out
	return nil
}

// GetAsset returns one asset; ENOTFOUND if absent.
func (c *Client) GetAsset(ctx context.Context, name string) (*ottr.Asset, error) {
	page, _, err := c.Search(ctx, url.Values{"system_name": {ottr.NormalName(name)}})
	if err != nil {
		return nil, err
	}
	if len(page) == 0 {
		return nil, ottr.Errorf(ottr.ENOTFOUND, "asset %q not found", name)
	}
	return page[0], nil
}

// UpdateAsset reads the asset, applies fn and sends the change. Through
// the API the CA and the recorded expiry cannot change (Ottr's update
// never changed them); certificate_validation goes through its own
// endpoint. Another client's change between the read and the write is
// overwritten, as with Ottr's API.
func (c *Client) UpdateAsset(ctx context.Context, name string, fn func(*ottr.Asset) error) (*ottr.Asset, error) {
	cur, err := c.GetAsset(ctx, name)
	if err != nil {
		return nil, err
	}
	next := cur.Clone()
	if err := fn(next); err != nil {
		return nil, err
	}
	var probs []ottr.Problem
	if next.CertificateAuthority != cur.CertificateAuthority {
		probs = append(probs, ottr.Problem{Field: "certificate_authority", Message: "cannot change through the API; delete the asset and add it again"})
	}
	if !sameTime(next.CertificateExpiration, cur.CertificateExpiration) {
		probs = append(probs, ottr.Problem{Field: "certificate_expiration", Message: "is recorded by rotations and cannot be set through the API; rotate the asset instead"})
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("asset "+cur.SystemName+" cannot be updated that way", probs...)
	}
	body := map[string]any{
		"system_name": cur.SystemName, "common_name": next.CommonName, "subject_alternative_name": next.SubjectAlternativeName,
		"certificate_authority": next.CertificateAuthority, "host_platform": next.HostPlatform, "os_version": next.OSVersion,
		"device_model": next.DeviceModel, "ip_address": next.IPAddress, "data_center": next.DataCenter,
		"labels": next.Labels, "port": next.Port, "credential": next.Credential, "dns_zone": next.DNSZone,
	}
	var out ottr.Asset
	if _, err := c.do(ctx, http.MethodPut, "/api/v1/assets", body, &out); err != nil {
		return nil, err
	}
	if next.CertificateValidation != cur.CertificateValidation {
		verb := "unset"
		if next.CertificateValidation {
			verb = "set"
		}
		if _, err := c.do(ctx, http.MethodPatch, "/api/v1/management/certificate-validation/"+verb+"/"+url.PathEscape(cur.SystemName), nil, nil); err != nil {
			return nil, err
		}
		out.CertificateValidation = next.CertificateValidation
	}
	return &out, nil
}

func sameTime(a, b *ottr.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(b.Time)
}

// DeleteAsset removes an asset; ENOTFOUND if absent.
func (c *Client) DeleteAsset(ctx context.Context, name string) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v1/assets/delete/"+url.PathEscape(name), nil, nil)
	return err
}

// FindAssets returns one page of matching assets; the cursor is the next
// page's, as the server's Link header gave it.
func (c *Client) FindAssets(ctx context.Context, f ottr.AssetFilter) ([]*ottr.Asset, string, error) {
	q := url.Values{}
	for k, v := range map[string]string{
		"system_name": f.SystemName, "common_name": f.CommonName, "ip_address": f.IPAddress, "data_center": f.DataCenter,
		"host_platform": f.HostPlatform, "origin": f.Origin, "certificate_authority": f.CertificateAuthority, "cursor": f.Cursor,
		"os_version": f.OSVersion, "device_model": f.DeviceModel, "credential": f.Credential, "q": f.Query, "sort": f.Sort,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.DaysUntilExpiration != nil {
		q.Set("days_until_expiration", strconv.Itoa(*f.DaysUntilExpiration))
	}
	if len(f.Labels) > 0 {
		var kv []string
		for k, v := range f.Labels {
			kv = append(kv, k+"="+v)
		}
		q.Set("labels", strings.Join(kv, ","))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	page, next, err := c.Search(ctx, q)
	return page, cursorOf(next), err
}

// cursorOf takes the cursor out of a next-page link.
func cursorOf(link string) string {
	if link == "" {
		return ""
	}
	u, err := url.Parse(link)
	if err != nil {
		return ""
	}
	return u.Query().Get("cursor")
}

// FindRotations lists rotations newest first, without logs.
func (c *Client) FindRotations(ctx context.Context, f ottr.RotationFilter) ([]*ottr.Rotation, string, error) {
	q := url.Values{}
	if f.SystemName != "" {
		q.Set("system_name", f.SystemName)
	}
	if f.State != "" {
		q.Set("state", string(f.State))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	if f.Cursor != "" {
		q.Set("cursor", f.Cursor)
	}
	var out []*ottr.Rotation
	h, err := c.do(ctx, http.MethodGet, "/api/v1/rotations?"+q.Encode(), nil, &out)
	if err != nil {
		return nil, "", err
	}
	return out, cursorOf(linkNext(h.Get("Link"))), nil
}

// GetRotation returns a rotation with its log.
func (c *Client) GetRotation(ctx context.Context, id string) (*ottr.Rotation, error) {
	return c.Rotation(ctx, id)
}

// CancelRotation cancels a live rotation.
func (c *Client) CancelRotation(ctx context.Context, id string) (*ottr.Rotation, error) {
	var out ottr.Rotation
	_, err := c.do(ctx, http.MethodPost, "/api/v1/rotations/"+url.PathEscape(id)+"/cancel", nil, &out)
	return &out, err
}

// CreateUser adds a user with a password and role.
func (c *Client) CreateUser(ctx context.Context, username, password string, role ottr.Role) (*ottr.User, error) {
	var out ottr.User
	_, err := c.do(ctx, http.MethodPost, "/admin/v1/users", map[string]string{"username": username, "password": password, "role": string(role)}, &out)
	return &out, err
}

// ListUsers returns every user (name, role, created).
func (c *Client) ListUsers(ctx context.Context) ([]*ottr.User, error) {
	var out []*ottr.User
	_, err := c.do(ctx, http.MethodGet, "/admin/v1/users", nil, &out)
	return out, err
}

// SetUserRole gives a user a role (ADMIN only); the server refuses to take
// ADMIN from the last ADMIN (ECONFLICT).
func (c *Client) SetUserRole(ctx context.Context, username string, role ottr.Role) (*ottr.User, error) {
	var out ottr.User
	if _, err := c.do(ctx, http.MethodPatch, "/admin/v1/users/"+url.PathEscape(username), map[string]string{"role": string(role)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UnlockUser lifts a user's login lockouts (ADMIN).
func (c *Client) UnlockUser(ctx context.Context, username string) error {
	_, err := c.do(ctx, http.MethodPost, "/admin/v1/users/"+url.PathEscape(username)+"/unlock", nil, nil)
	return err
}

// DeleteUser removes a user.
func (c *Client) DeleteUser(ctx context.Context, username string) error {
	_, err := c.do(ctx, http.MethodDelete, "/admin/v1/users/"+url.PathEscape(username), nil, nil)
	return err
}
