package api_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/store"
)

// rbacKeys are made once: RSA key generation dominates a fixture's cost.
var rbacKeys = sync.OnceValue(func() [3][]byte {
	pemOf := func() []byte {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		return pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	}
	hash, _ := api.HashPassword("Passw0rd!")
	return [3][]byte{pemOf(), pemOf(), []byte(hash)}
})

// callers are who a matrix row is tried as: no or broken credentials,
// then each role. The fixture gives each its own targets ({who}).
var callers = []string{"none", "malformed", "forged", "expired", "deleted", "demoted", "DEVELOPER", "PRIVILEGED", "ADMIN"}

// rbacFixture is a server with everything an endpoint can touch, and for
// every caller a token, an asset "<who>.example.com", a user
// "victim-<who>" and a live rotation on that asset.
type rbacFixture struct {
	srv *httptest.Server
	// handler is the API's own, without the OpenAPI check srv runs, for
	// tests that time it.
	handler http.Handler
	db      *store.DB
	tokens  map[string]string
	rots    map[string]string
	dns     delegated
}

func newRBACFixture(t *testing.T) *rbacFixture {
	t.Helper()
	k := rbacKeys()
	key, foreignKey, hash := k[0], k[1], string(k[2])
	db := openStore(t)
	ctx := t.Context()
	f, _ := os.Open("../testdata/route.json")
	rt, err := ottr.ParseRouteTable(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	tk, err := api.NewTokens(ctx, api.TokenConfig{KeyPEM: key, Users: db, Revocations: db})
	if err != nil {
		t.Fatal(err)
	}
	foreign, _ := api.NewTokens(ctx, api.TokenConfig{KeyPEM: foreignKey, Users: db})
	past, _ := api.NewTokens(ctx, api.TokenConfig{KeyPEM: key, Users: db, Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	fx := &rbacFixture{db: db, tokens: map[string]string{"none": "", "malformed": "Bearer not.a.token"}, rots: map[string]string{}}
	issue := func(who string, tks *api.Tokens, role ottr.Role) {
		u := &ottr.User{Username: "u-" + strings.ToLower(who), Role: role, PasswordHash: hash}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		tok, err := tks.Issue(u)
		if err != nil {
			t.Fatal(err)
		}
		fx.tokens[who] = "Bearer " + tok
	}
	for _, r := range []ottr.Role{ottr.RoleDeveloper, ottr.RolePrivileged, ottr.RoleAdmin} {
		issue(string(r), tk, r)
	}
	issue("forged", foreign, ottr.RoleAdmin)
	issue("expired", past, ottr.RoleAdmin)
	issue("deleted", tk, ottr.RoleAdmin)
	db.DeleteUser(ctx, "u-deleted")
	issue("demoted", tk, ottr.RoleAdmin)
	db.UpdateUser(ctx, "u-demoted", func(u *ottr.User) error { u.Role = ottr.RoleDeveloper; return nil })
	dns := delegated{}
	fx.dns = dns
	for _, who := range callers {
		name := strings.ToLower(who) + ".example.com"
		dns[name] = true
		if err := db.CreateAsset(ctx, &ottr.Asset{SystemName: name, CommonName: name, SubjectAlternativeName: []string{name},
			CertificateAuthority: "lets_encrypt", HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX"}); err != nil {
			t.Fatal(err)
		}
		if err := db.CreateUser(ctx, &ottr.User{Username: "victim-" + strings.ToLower(who), Role: ottr.RoleDeveloper, PasswordHash: hash}); err != nil {
			t.Fatal(err)
		}
		r := &ottr.Rotation{SystemName: name, Trigger: ottr.TriggerAPI, State: ottr.StateQueued}
		if err := db.CreateRotation(ctx, r); err != nil {
			t.Fatal(err)
		}
		fx.rots[who] = r.ID
		// A key presented and refused, for the ADMIN to accept.
		if err := db.PutTrust(ctx, &ottr.DeviceTrust{SystemName: name, Fingerprint: "tls SHA256:old", Pending: "tls SHA256:new", Updated: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	fx.handler = (&api.Server{Users: db, Assets: db, Tokens: tk, Audit: db, Routes: rt, DNS: dns, Secrets: db,
		Rotations: &queue{live: map[string]*ottr.Rotation{}}, RotationStore: db, Trust: db, CAs: []string{"lets_encrypt"}, Version: "test",
		Status: func(context.Context, int) (*ottr.FleetStatus, error) {
			return &ottr.FleetStatus{States: map[string]int{}, Failing: []ottr.FailingAsset{}, Unrouted: []ottr.UnroutedAsset{}}, nil
		},
		Discover: func(_ context.Context, req ottr.DiscoverRequest) (*ottr.DiscoverResult, error) {
			return &ottr.DiscoverResult{Addresses: len(req.Targets), Endpoints: []ottr.DiscoveredEndpoint{}}, nil
		}}).Handler()
	fx.srv = api.NewCheckedServer(t, fx.handler)
	t.Cleanup(fx.srv.Close)
	return fx
}

// TestRBACMatrix tries every endpoint as every caller: missing, malformed,
// forged, expired, deleted-user and demoted-user tokens, then each role.
// Below the endpoint's role the answer is 403, without a valid token 401
// (a token from before its user's role changed is no longer valid),
// otherwise the endpoint's success status.
func TestRBACMatrix(t *testing.T) {
	route, _ := os.ReadFile("../testdata/route.json")
	rows := []struct {
		method, path, body string
		need               ottr.Role // "" = public
		ok                 int
	}{
		{"GET", "/", "", "", 200},
		{"GET", "/healthz", "", "", 200},
		{"GET", "/readyz", "", "", 200},
		{"GET", "/openapi.json", "", "", 200},
		{"GET", "/swagger.json", "", "", 200},
		{"GET", "/metrics", "", "", 200},
		{"GET", "/docs", "", "", 200},
		{"POST", "/user/v1/authenticate", `{"username":"victim-{who}","password":"Passw0rd!"}`, "", 200},
		{"PUT", "/user/v1/authenticate", `{"username":"victim-{who}","password":"Passw0rd!","updated_password":"N3w.Passw0rd"}`, "", 204},
		{"POST", "/user/v1/logout", "", ottr.RoleDeveloper, 204},
		{"GET", "/admin/v1/users", "", ottr.RoleAdmin, 200},
		{"POST", "/admin/v1/users", `{"username":"new-{who}","password":"Passw0rd!","role":"DEVELOPER"}`, ottr.RoleAdmin, 201},
		{"PATCH", "/admin/v1/users/victim-{who}", `{"role":"PRIVILEGED"}`, ottr.RoleAdmin, 200},
		{"DELETE", "/admin/v1/users/victim-{who}", "", ottr.RoleAdmin, 204},
		{"POST", "/admin/v1/users/victim-{who}/unlock", "", ottr.RoleAdmin, 204},
		{"GET", "/admin/v1/events", "", ottr.RoleAdmin, 200},
		{"GET", "/admin/v1/credentials", "", ottr.RoleAdmin, 200},
		{"PATCH", "/admin/v1/management/certificate-validation/unset/{who}.example.com", "", ottr.RoleAdmin, 200},
		{"PATCH", "/admin/v1/management/certificate-validation/set/{who}.example.com", "", ottr.RoleAdmin, 200},
		{"PATCH", "/api/v1/management/certificate-validation/unset/{who}.example.com", "", ottr.RoleAdmin, 200},
		{"PATCH", "/api/v1/management/certificate-validation/set/{who}.example.com", "", ottr.RoleAdmin, 200},
		{"GET", "/admin/v1/management/trust/{who}.example.com", "", ottr.RoleAdmin, 200},
		{"PATCH", "/admin/v1/management/trust/accept/{who}.example.com", "", ottr.RoleAdmin, 200},
		{"POST", "/api/v1/assets", `{"system_name":"new-{who}.example.com","common_name":"new-{who}.example.com","certificate_authority":"lets_encrypt","host_platform":"panos","os_version":"9.1.0","device_model":"PA-XXXX"}`, ottr.RolePrivileged, 201},
		{"PUT", "/api/v1/assets", `{"system_name":"{who}.example.com","common_name":"{who}.example.com","certificate_authority":"lets_encrypt","host_platform":"panos","os_version":"9.1.0","device_model":"PA-YYYY"}`, ottr.RolePrivileged, 200},
		{"POST", "/api/v1/certificate/rotate/{who}.example.com", "", ottr.RolePrivileged, 202},
		{"POST", "/api/v1/rotations/{rot}/cancel", "", ottr.RolePrivileged, 200},
		{"DELETE", "/api/v1/assets/delete/{who}.example.com", "", ottr.RolePrivileged, 204},
		{"GET", "/api/v1/search", "", ottr.RoleDeveloper, 200},
		{"GET", "/api/v1/search?host_platform=panos&days_until_expiration=30", "", ottr.RoleDeveloper, 200},
		{"GET", "/api/v1/rotations", "", ottr.RoleDeveloper, 200},
		{"GET", "/api/v1/rotations/{rot}", "", ottr.RoleDeveloper, 200},
		{"GET", "/api/v1/routes", "", ottr.RoleDeveloper, 200},
		{"GET", "/api/v1/status", "", ottr.RoleDeveloper, 200},
		{"GET", "/api/v1/policy", "", ottr.RoleDeveloper, 200},
		{"POST", "/api/v1/routes/validate", string(route), ottr.RoleDeveloper, 200},
		{"GET", "/api/v1/certificate-authorities", "", ottr.RoleDeveloper, 200},
		{"GET", "/api/v1/assets/{who}.example.com/delegation", "", ottr.RoleDeveloper, 200},
		{"POST", "/api/v1/discover", `{"targets":["{who}.example.com:443"]}`, ottr.RoleAdmin, 200},
		{"POST", "/api/v1/discover/import", `{"endpoints":[{"address":"10.9.9.9:443","host":"10.9.9.9","port":443,"platform":"panos",` +
			`"certificate":{"subject":"CN=disc-{who}.example.com","common_name":"disc-{who}.example.com","dns_names":["disc-{who}.example.com"],` +
			`"issuer":"CN=Old CA","serial":"1f","not_before":"2026-01-01T00:00:00Z","not_after":"2027-01-01T00:00:00Z","key_type":"RSA 2048",` +
			`"self_signed":false,"trusted":false,"chain_length":1,"sha256":"00"}}],"certificate_authority":"lets_encrypt","apply":true}`, ottr.RoleAdmin, 200},
	}
	for _, row := range rows {
		t.Run(row.method+" "+row.path, func(t *testing.T) {
			t.Parallel()
			fx := newRBACFixture(t)
			for _, who := range callers {
				lw := strings.ToLower(who)
				path := strings.NewReplacer("{who}", lw, "{rot}", fx.rots[who]).Replace(row.path)
				body := strings.ReplaceAll(row.body, "{who}", lw)
				want := row.ok
				switch {
				case row.need == "":
				case !isRole(who): // the demoted user's token too: a role change revokes it
					want = 401
				case !ottr.Role(who).Includes(row.need):
					want = 403
				}
				before := fx.events(t)
				code, resp, h := request(t, fx.srv, row.method, path, body, fx.tokens[who])
				after := fx.events(t)
				if code >= 400 && after != before {
					t.Errorf("as %s: refused with %d but the audit log changed", who, code)
				}
				if code < 300 && row.method != "GET" && row.method+row.path != "POST/user/v1/authenticate" && row.path != "/api/v1/routes/validate" && after != before+1 {
					t.Errorf("as %s: a change with no audit event (%d before, %d after)", who, before, after)
				}
				if code != want {
					t.Errorf("as %s: %d, want %d: %.200s", who, code, want, resp)
				}
				if code >= 400 && !strings.Contains(h.Get("Content-Type"), "problem+json") {
					t.Errorf("as %s: %d without problem+json", who, code)
				}
			}
		})
	}
}

func isRole(who string) bool {
	_, err := ottr.ParseRole(who)
	return err == nil
}

// events counts the audit log: every change made through the API records
// one, so a refused call must leave the count as it was.
func (fx *rbacFixture) events(t *testing.T) int {
	t.Helper()
	ev, _, err := fx.db.FindEvents(t.Context(), ottr.EventFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	return len(ev)
}
