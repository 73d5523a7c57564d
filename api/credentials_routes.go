package api

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// CredentialSet is what the API tells of a credential set: its name, the
// names of its keys and who uses it. Never a value.
type CredentialSet struct {
	Name string   `json:"name" example:"panos"`
	Keys []string `json:"keys" doc:"the names of the set's keys, sorted; never their values" example:"[\"password\",\"username\"]"`
	// UsedBy is who names the set: platforms and assets in the
	// configuration (Server.CredentialUsers) and assets whose own
	// credential field does, as "asset:<system_name>".
	UsedBy []string `json:"used_by" doc:"who names the set: platforms (by name) and assets (asset:<system_name>), from the configuration and the inventory" example:"[\"panos\",\"asset:fw1.example.com\"]"`
	// MoreAssets says the inventory has more assets naming the set than
	// UsedBy lists (search with credential=<name> for every one).
	MoreAssets bool `json:"more_assets,omitempty" doc:"more inventory assets name the set than used_by lists; GET /api/v1/search?credential=<name> lists them all"`
	// Missing says the set is named but not stored: a rotation of a
	// device that needs it fails until it is (ottr credential set).
	Missing bool `json:"missing,omitempty" doc:"named by the configuration or an asset but not stored"`
	// Error says why a stored set cannot be read (it is sealed under
	// another master key, say); Keys is then empty.
	Error string `json:"error,omitempty" doc:"why a stored set cannot be read (sealed under another master key, say); keys is then empty"`
}

// CredentialsOutput lists the credential sets by name.
type CredentialsOutput struct {
	Body []CredentialSet
}

// maxCredentialAssets is how many inventory assets naming one set the
// overview lists.
const maxCredentialAssets = 100

func (s *Server) credentialRoutes(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "list-credentials", Method: http.MethodGet, Path: "/admin/v1/credentials",
		Summary: "Credential sets: their names, key names and users, never a value (ADMIN)", Tags: []string{"credentials"},
		Security: []map[string][]string{{"bearer": {}}},
		Errors:   []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable}},
		func(ctx context.Context, in *struct{ Authed }) (*CredentialsOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin); err != nil {
				return nil, err
			}
			sets, err := s.credentialSets(ctx)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &CredentialsOutput{Body: sets}, nil
		})
}

// credentialSets describes every stored set, and every set named but not
// stored. A stored set is opened only to read its key names: the values
// stay in Secrets, which redact themselves, and are dropped here.
func (s *Server) credentialSets(ctx context.Context) ([]CredentialSet, error) {
	if s.Secrets == nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "this server keeps no credential sets")
	}
	users := map[string][]string{}
	if s.CredentialUsers != nil {
		u, err := s.CredentialUsers(ctx)
		if err != nil {
			return nil, err
		}
		users = u
	}
	names, err := s.Secrets.ListSecrets(ctx, ottr.CredentialSecretPrefix)
	if err != nil {
		return nil, err
	}
	byName := map[string]*CredentialSet{}
	for _, n := range names {
		name := strings.TrimPrefix(n, ottr.CredentialSecretPrefix)
		set := &CredentialSet{Name: name, Keys: []string{}}
		byName[name] = set
		raw, err := s.Secrets.GetSecret(ctx, n)
		if err == nil {
			var c ottr.Credential
			if c, err = ottr.ParseCredential(raw); err == nil {
				set.Keys = c.Keys()
			}
			clear(raw)
		}
		switch {
		case err == nil:
		case ottr.ErrorCode(err) == ottr.ENOTFOUND:
			delete(byName, name) // deleted since it was listed
		case ottr.ErrorCode(err) == ottr.EINTERNAL:
			return nil, err
		default:
			// The messages of both name no value: a set that cannot be
			// opened or parsed is said to be so, with its neighbours.
			set.Error = "cannot be read: " + ottr.ErrorMessage(err)
		}
	}
	// Sets the configuration names but nobody stored; env: and file:
	// references are no stored sets.
	for name := range users {
		if byName[name] == nil && ottr.CheckCredentialName(name) == nil {
			byName[name] = &CredentialSet{Name: name, Keys: []string{}, Missing: true}
		}
	}
	out := make([]CredentialSet, 0, len(byName))
	for _, name := range slices.Sorted(maps.Keys(byName)) {
		set := byName[name]
		set.UsedBy = append([]string{}, users[name]...)
		if s.Assets != nil {
			list, next, err := s.Assets.FindAssets(ctx, ottr.AssetFilter{Credential: name, Limit: maxCredentialAssets})
			if err != nil {
				return nil, err
			}
			for _, a := range list {
				if u := "asset:" + a.SystemName; !slices.Contains(set.UsedBy, u) {
					set.UsedBy = append(set.UsedBy, u)
				}
			}
			set.MoreAssets = next != ""
		}
		out = append(out, *set)
	}
	return out, nil
}
