package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"net/http"

	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/web"
)

// dashboardKey is the dashboard's cookie and CSRF secret, derived from the
// master key: every replica sharing the master key (as they must) accepts
// every other's sessions, and nothing more is stored.
func (a *app) dashboardKey() ([]byte, error) {
	mk, err := a.masterKey()
	if err != nil {
		return nil, err
	}
	return hkdf.Key(sha256.New, mk, nil, "ottr dashboard sessions v1", 32)
}

// dashboard puts the web dashboard in front of the API's handler h. Its
// pages ask the API for everything through h in this process, so they
// have the API's roles and validation. secure marks cookies Secure on
// plain-HTTP requests (TLS ends at a proxy in front).
func (a *app) dashboard(h http.Handler, secure bool) (*web.Server, http.Handler, error) {
	key, err := a.dashboardKey()
	if err != nil {
		return nil, nil, err
	}
	transport := web.InProcess(h)
	client := func(token string) *api.Client {
		// The host is never dialled: InProcess serves every request.
		return &api.Client{BaseURL: "http://ottr.internal", Token: token, HTTPClient: transport}
	}
	d, err := web.New(web.Config{
		Connect: func(token string) web.Backend { return client(token) },
		Login: func(ctx context.Context, username, password string) (string, error) {
			c := client("")
			err := c.Login(ctx, username, password)
			return c.Token, err
		},
		Key: key, SecureCookies: secure, Logger: a.log, Version: version,
	})
	if err != nil {
		return nil, nil, err
	}
	return d, d.Handler(h), nil
}
