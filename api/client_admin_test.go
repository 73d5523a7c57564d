package api_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// TestClientDashboardCalls: the Client methods the dashboard uses beside
// the store's answer what the routes do, and their errors are the
// server's problems, code and words.
func TestClientDashboardCalls(t *testing.T) {
	fx := newRBACFixture(t)
	ctx := t.Context()
	dev := &api.Client{BaseURL: fx.srv.URL, Token: fx.tokens["DEVELOPER"]}

	if cas, err := dev.CAs(ctx); err != nil || !cmp.Equal(cas, []string{"lets_encrypt"}) {
		t.Errorf("CAs: %v %v", cas, err)
	}
	a := &ottr.Asset{SystemName: "mixed.example.com", CommonName: "mixed.example.com", SubjectAlternativeName: []string{"mixed.example.com", "alias.example.org"},
		CertificateAuthority: "lets_encrypt", HostPlatform: "panos"}
	if err := fx.db.CreateAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	fx.dns["mixed.example.com"] = true
	got, err := dev.Delegation(ctx, "Mixed.Example.com")
	want := []api.DelegationResult{
		{Name: "mixed.example.com", OK: true, Zone: "acme.example.net"},
		{Name: "alias.example.org", Error: "alias.example.org: _acme-challenge.alias.example.org has no CNAME"},
	}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("Delegation: %v\n%s", err, cmp.Diff(want, got))
	}
	if _, err := dev.Delegation(ctx, "absent.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND || !strings.Contains(ottr.ErrorMessage(err), `asset "absent.example.com" not found`) {
		t.Errorf("Delegation of an absent asset: %v", err)
	}
	tk, err := api.NewTokens(ctx, api.TokenConfig{KeyPEM: rbacKeys()[0], Users: fx.db}) // the fixture's key: its tokens hold
	if err != nil {
		t.Fatal(err)
	}
	noDNS := api.NewCheckedServer(t, (&api.Server{Users: fx.db, Assets: fx.db, Tokens: tk, Version: "test"}).Handler())
	if _, err := (&api.Client{BaseURL: noDNS.URL, Token: fx.tokens["DEVELOPER"]}).Delegation(ctx, "mixed.example.com"); ottr.ErrorCode(err) != ottr.EUNAVAILABLE ||
		ottr.ErrorMessage(err) != "no delegate zones are configured (dns.zones)" {
		t.Errorf("Delegation without delegate zones: %v", err)
	}

	admin := &api.Client{BaseURL: fx.srv.URL, Token: fx.tokens["ADMIN"]}
	if err := admin.UnlockUser(ctx, "victim-developer"); err != nil {
		t.Errorf("UnlockUser: %v", err)
	}
	if err := admin.UnlockUser(ctx, "nobody"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("UnlockUser of nobody: %v", err)
	}
	if err := dev.UnlockUser(ctx, "victim-developer"); ottr.ErrorCode(err) != ottr.EFORBIDDEN || !strings.Contains(ottr.ErrorMessage(err), "ADMIN role required") {
		t.Errorf("UnlockUser as DEVELOPER: %v", err)
	}

	c := &api.Client{BaseURL: fx.srv.URL}
	if err := c.ChangePassword(ctx, "victim-developer", "wrong", "N3w.Passw0rd.9"); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Errorf("ChangePassword with a wrong password: %v", err)
	}
	if err := c.ChangePassword(ctx, "victim-developer", "Passw0rd!", "short"); ottr.ErrorCode(err) != ottr.EINVALID || len(ottr.ErrorProblems(err)) == 0 {
		t.Errorf("ChangePassword to a weak one: %v %v", err, ottr.ErrorProblems(err))
	}
	if err := c.ChangePassword(ctx, "victim-developer", "Passw0rd!", "N3w.Passw0rd.9"); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if err := c.Login(ctx, "victim-developer", "N3w.Passw0rd.9"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
}
