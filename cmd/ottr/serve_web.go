package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"net/http"
	"strings"

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
		Connect: func(token string) web.Backend { return apiBackend{client(token)} },
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

// apiBackend is the API client as the dashboard's Backend: the two answers
// in the API's own types become the dashboard's, field for field.
type apiBackend struct{ *api.Client }

func (b apiBackend) Delegation(ctx context.Context, name string) ([]web.DelegationResult, error) {
	res, err := b.Client.Delegation(ctx, name)
	out := make([]web.DelegationResult, len(res))
	for i, r := range res {
		out[i] = web.DelegationResult(r)
	}
	return out, err
}

func (b apiBackend) Credentials(ctx context.Context) ([]web.CredentialSet, error) {
	sets, err := b.Client.Credentials(ctx)
	out := make([]web.CredentialSet, len(sets))
	for i, s := range sets {
		out[i] = web.CredentialSet(s)
	}
	return out, err
}

// credentialUsers says, for each stored credential set the configuration
// names, who names it: platforms by name, one asset's device settings as
// "asset:<system_name>". env: and file: references are no stored sets.
func (a *app) credentialUsers(context.Context) (map[string][]string, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	add := func(cred, who string) {
		if cred == "" || strings.HasPrefix(cred, "env:") || strings.HasPrefix(cred, "file:") {
			return
		}
		users[cred] = append(users[cred], who)
	}
	for _, p := range sortedKeys(c.Devices.Platforms) {
		add(c.Devices.Platforms[p].Credential, p)
	}
	for _, name := range sortedKeys(c.Devices.Assets) {
		add(c.Devices.Assets[name].Credential, "asset:"+name)
	}
	return users, nil
}
