package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// TestCredentialsFollowTheDevice: a PRIVILEGED user manages the inventory
// but cannot steer a stored credential to a host of their choosing — not by
// naming a credential set, not by moving a device that is sent one, and not
// by adding a device that is sent one before an ADMIN has seen it.
func TestCredentialsFollowTheDevice(t *testing.T) {
	db := openStore(t)
	ctx := t.Context()
	tk, err := api.NewTokens(ctx, api.TokenConfig{Secrets: db, Users: db})
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[ottr.Role]string{}
	for _, r := range []ottr.Role{ottr.RoleAdmin, ottr.RolePrivileged} {
		u := &ottr.User{Username: strings.ToLower(string(r)), Role: r, PasswordHash: "x"}
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		tok, _ := tk.Issue(u)
		tokens[r] = "Bearer " + tok
	}
	admin, priv := tokens[ottr.RoleAdmin], tokens[ottr.RolePrivileged]
	// Platform "panos" logs in with a stored set; "plain" sends nothing.
	uses := func(a *ottr.Asset) bool { return a.HostPlatform == "panos" || a.Credential != "" }
	srv := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, Audit: db, Trust: db, UsesCredential: uses, Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	do := func(method, path, body, token string) (int, string) {
		code, resp, _ := request(t, srv, method, path, body, token)
		return code, resp
	}
	asset := func(name, platform, extra string) string {
		return `{"system_name":"` + name + `","common_name":"` + name + `","certificate_authority":"lets_encrypt","host_platform":"` + platform + `"` + extra + `}`
	}
	events := func() int {
		ev, _, err := db.FindEvents(ctx, ottr.EventFilter{Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		return len(ev)
	}
	expect := func(what string, code int, resp string, want int, field string) {
		t.Helper()
		if code != want || !strings.Contains(resp, field) {
			t.Errorf("%s: %d %.300s, want %d naming %q", what, code, resp, want, field)
		}
	}

	// Naming a credential set is the ADMIN's; server files and variables
	// are nobody's through the API.
	code, resp := do("POST", "/api/v1/assets", asset("x1.example.com", "plain", `,"credential":"panos-admin"`), priv)
	expect("PRIVILEGED names a credential set", code, resp, 403, "credential")
	for _, ref := range []string{"file:/etc/shadow", "env:OTTR_MASTER_KEY"} {
		for _, tok := range []string{priv, admin} {
			code, resp := do("POST", "/api/v1/assets", asset("x2.example.com", "plain", `,"credential":"`+ref+`"`), tok)
			expect("credential "+ref, code, resp, 400, "configuration-only")
		}
	}
	if _, err := db.GetAsset(ctx, "x1.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("refused asset stored: %v", err)
	}

	// An ADMIN adds a device: no hold. Its first contact pins a key.
	code, resp = do("POST", "/api/v1/assets", asset("fw1.example.com", "panos", `,"ip_address":"10.0.0.1"`), admin)
	expect("ADMIN adds", code, resp, 201, "fw1")
	if _, err := db.GetTrust(ctx, "fw1.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("ADMIN's device held: %v", err)
	}
	if err := ottr.CheckTrust(ctx, db, "fw1.example.com", true, time.Now)(false, "tls SHA256:fw1"); err != nil {
		t.Fatal(err)
	}

	// PRIVILEGED may not move it, change its port, credential or platform.
	before, evBefore := events(), 0
	evBefore = before
	for _, tc := range []struct{ body, field string }{
		{asset("fw1.example.com", "panos", `,"ip_address":"192.0.2.66"`), "ip_address"},
		{asset("fw1.example.com", "panos", `,"ip_address":"10.0.0.1","port":4443`), "port"},
		{asset("fw1.example.com", "panos", `,"ip_address":"10.0.0.1","credential":"other"`), "credential"},
		{asset("fw1.example.com", "plain", `,"ip_address":"10.0.0.1"`), "host_platform"},
	} {
		code, resp := do("PUT", "/api/v1/assets", tc.body, priv)
		expect("PRIVILEGED changes "+tc.field, code, resp, 403, tc.field)
	}
	if a, _ := db.GetAsset(ctx, "fw1.example.com"); a.IPAddress != "10.0.0.1" || a.Port != 0 || a.HostPlatform != "panos" || a.Credential != "" {
		t.Errorf("refused changes stored: %+v", a)
	}
	if tr, _ := db.GetTrust(ctx, "fw1.example.com"); tr == nil || tr.Fingerprint != "tls SHA256:fw1" {
		t.Errorf("refused change touched the pin: %+v", tr)
	}
	if events() != evBefore {
		t.Errorf("refused changes audited")
	}
	// Other inventory fields stay PRIVILEGED's, as in Ottr.
	code, resp = do("PUT", "/api/v1/assets", asset("fw1.example.com", "panos", `,"ip_address":"10.0.0.1","data_center":"DC9"`), priv)
	expect("PRIVILEGED changes data_center", code, resp, 200, "DC9")
	// A device sent no credential may be moved, but not into a platform
	// that is sent one.
	do("POST", "/api/v1/assets", asset("web1.example.com", "plain", `,"ip_address":"10.0.0.2"`), admin)
	code, resp = do("PUT", "/api/v1/assets", asset("web1.example.com", "plain", `,"ip_address":"10.0.0.3"`), priv)
	expect("PRIVILEGED moves a device without credential", code, resp, 200, "10.0.0.3")
	code, resp = do("PUT", "/api/v1/assets", asset("web1.example.com", "panos", `,"ip_address":"192.0.2.66"`), priv)
	expect("PRIVILEGED moves a device into a credentialed platform", code, resp, 403, "host_platform")

	// An ADMIN may move it: audited, and the old pin is forgotten.
	before = events()
	code, resp = do("PUT", "/api/v1/assets", asset("fw1.example.com", "panos", `,"ip_address":"10.0.0.9"`), admin)
	expect("ADMIN moves", code, resp, 200, "10.0.0.9")
	if _, err := db.GetTrust(ctx, "fw1.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("pin kept after an ADMIN moved the device: %v", err)
	}
	ev, _, _ := db.FindEvents(ctx, ottr.EventFilter{Limit: 10})
	if events() != before+2 || !hasAction(ev, "asset.trust.reset") {
		t.Errorf("ADMIN move: %d events (was %d), want update and trust reset", events(), before)
	}

	// A device a PRIVILEGED user adds is held: nothing is sent to it, even
	// with a certificate that verifies, until an ADMIN accepts its key.
	code, resp = do("POST", "/api/v1/assets", asset("new.example.com", "panos", `,"ip_address":"192.0.2.66"`), priv)
	expect("PRIVILEGED adds", code, resp, 201, "new.example.com")
	check := ottr.CheckTrust(ctx, db, "new.example.com", false, time.Now)
	if err := check(true, "tls SHA256:evil"); ottr.ErrorCode(err) != ottr.EFORBIDDEN {
		t.Fatalf("held device contacted: %v", err)
	}
	code, resp = do("GET", "/admin/v1/management/trust/new.example.com", "", admin)
	expect("show trust", code, resp, 200, `"pending":"tls SHA256:evil"`)
	code, resp = do("PATCH", "/admin/v1/management/trust/accept/new.example.com", "", priv)
	expect("PRIVILEGED accepts", code, resp, 403, "ADMIN")
	code, resp = do("PATCH", "/admin/v1/management/trust/accept/new.example.com", "", admin)
	expect("ADMIN accepts", code, resp, 200, `"fingerprint":"tls SHA256:evil"`)
	if err := check(true, "tls SHA256:evil"); err != nil {
		t.Errorf("accepted device: %v", err)
	}
	code, resp = do("PATCH", "/admin/v1/management/trust/accept/new.example.com", "", admin)
	expect("accept with nothing waiting", code, resp, 409, "no key waiting")
	// A device without credential needs no hold.
	do("POST", "/api/v1/assets", asset("web2.example.com", "plain", ""), priv)
	if _, err := db.GetTrust(ctx, "web2.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("device without credential held: %v", err)
	}

	// Turning validation off is an ADMIN vouching for the next contact.
	code, _ = do("PATCH", "/admin/v1/management/certificate-validation/unset/new.example.com", "", admin)
	if _, err := db.GetTrust(ctx, "new.example.com"); code != 200 || ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("unset validation: %d, trust record %v", code, err)
	}
}

func hasAction(ev []*ottr.Event, action string) bool {
	for _, e := range ev {
		if e.Action == action {
			return true
		}
	}
	return false
}
