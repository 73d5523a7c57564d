package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// TestCredentialSets: the overview names every stored set with its keys
// and users (from the configuration and from assets' own credential
// field), the sets named but not stored, and a set that cannot be read,
// and no value of any set appears in the answer.
func TestCredentialSets(t *testing.T) {
	db := openStore(t)
	ctx := t.Context()
	hash, _ := api.HashPassword("Passw0rd!")
	if err := db.CreateUser(ctx, &ottr.User{Username: "admin", Role: ottr.RoleAdmin, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	secrets := []string{"Pan0s.Api.S3cret", "api-admin-user", "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC", "Key.Passphrase.42", "not-a-string-7"}
	for name, body := range map[string]string{
		"panos":   "username=api-admin-user\npassword=Pan0s.Api.S3cret\n",
		"web-ssh": `{"username":"ottr","private_key":"-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----","passphrase":"Key.Passphrase.42"}`,
		"broken":  `{"password":"not-a-string-7","token":7}`,
	} {
		if err := db.PutSecret(ctx, ottr.CredentialSecretPrefix+name, []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	// A secret of another kind is no credential set.
	if err := db.PutSecret(ctx, "dns/tsig", []byte("Other.S3cret")); err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, "Other.S3cret")
	for _, n := range []string{"fw1.example.com", "fw2.example.com"} {
		if err := db.CreateAsset(ctx, &ottr.Asset{SystemName: n, CommonName: n, SubjectAlternativeName: []string{n},
			CertificateAuthority: "lets_encrypt", HostPlatform: "panos", Credential: "web-ssh"}); err != nil {
			t.Fatal(err)
		}
	}
	tk, err := api.NewTokens(ctx, api.TokenConfig{Secrets: db, Users: db})
	if err != nil {
		t.Fatal(err)
	}
	users := func(context.Context) (map[string][]string, error) {
		return map[string][]string{
			"panos":       {"panos", "lighthouse"},
			"web-ssh":     {"asset:fw1.example.com"},
			"f5-admin":    {"f5"},
			"env:JUNOS_C": {"junos"},
		}, nil
	}
	srv := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, Audit: db, Secrets: db, CredentialUsers: users, Version: "test"}).Handler())
	do := func(method, path, body, token string) (int, string) {
		code, b, _ := request(t, srv, method, path, body, token)
		return code, b
	}
	admin := login(t, do, "admin", "Passw0rd!")
	code, body := do("GET", "/admin/v1/credentials", "", admin)
	if code != 200 {
		t.Fatalf("GET /admin/v1/credentials: %d %s", code, body)
	}
	for _, s := range secrets {
		if strings.Contains(body, s) {
			t.Errorf("the answer holds the value %q: %s", s, body)
		}
	}
	var got []api.CredentialSet
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := []api.CredentialSet{
		{Name: "broken", Keys: []string{}, UsedBy: []string{}, Error: "cannot be read: token: must be a string, not a number"},
		{Name: "f5-admin", Keys: []string{}, UsedBy: []string{"f5"}, Missing: true},
		{Name: "panos", Keys: []string{"password", "username"}, UsedBy: []string{"panos", "lighthouse"}},
		{Name: "web-ssh", Keys: []string{"passphrase", "private_key", "username"}, UsedBy: []string{"asset:fw1.example.com", "asset:fw2.example.com"}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("credential sets (-want +got):\n%s", d)
	}

	c := &api.Client{BaseURL: srv.URL, Token: admin}
	sets, err := c.Credentials(ctx)
	if err != nil || !cmp.Equal(sets, want) {
		t.Errorf("Client.Credentials: %v\n%s", err, cmp.Diff(want, sets))
	}

	if code, body, _ := request(t, srv, "GET", "/api/v1/search?credential=web-ssh", "", admin); code != 200 ||
		strings.Count(body, `"system_name"`) != 2 {
		t.Errorf("search by credential: %d %s", code, body)
	}
	// Past 100 assets the overview says there are more.
	if err := db.PutSecret(ctx, ottr.CredentialSecretPrefix+"bulk", []byte("token=Bulk.T0ken")); err != nil {
		t.Fatal(err)
	}
	for i := range 101 {
		n := fmt.Sprintf("bulk%03d.example.com", i)
		if err := db.CreateAsset(ctx, &ottr.Asset{SystemName: n, CommonName: n, CertificateAuthority: "lets_encrypt", HostPlatform: "panos", Credential: "bulk"}); err != nil {
			t.Fatal(err)
		}
	}
	sets, err = c.Credentials(ctx)
	if err != nil || sets[0].Name != "broken" || sets[1].Name != "bulk" || len(sets[1].UsedBy) != 100 || !sets[1].MoreAssets || sets[4].MoreAssets {
		t.Errorf("a set named by 101 assets: %v %+v", err, sets)
	}

	// Without a configuration hook, used_by is the inventory's alone; a
	// server that keeps no sets says so.
	bare := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, Secrets: db, Version: "test"}).Handler())
	c.BaseURL = bare.URL
	if sets, err := c.Credentials(ctx); err != nil || len(sets) != 4 || len(sets[2].UsedBy) != 0 || len(sets[3].UsedBy) != 2 {
		t.Errorf("without CredentialUsers: %+v %v", sets, err)
	}
	none := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, Version: "test"}).Handler())
	c.BaseURL = none.URL
	if _, err := c.Credentials(ctx); ottr.ErrorCode(err) != ottr.EUNAVAILABLE || !strings.Contains(ottr.ErrorMessage(err), "no credential sets") {
		t.Errorf("without Secrets: %v", err)
	}
}
