package api_test

import (
	"errors"
	"net"
	"net/url"
	"syscall"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

func TestClient(t *testing.T) {
	srv, _ := newServer(t)
	ctx := t.Context()
	c := &api.Client{BaseURL: srv.URL}
	if err := c.Login(ctx, "admin", "wrong"); ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		t.Fatalf("wrong password: %v", err)
	}
	if err := c.Login(ctx, "admin", "Passw0rd!"); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b", "c"} {
		a := &ottr.Asset{SystemName: n + ".example.com", CommonName: n + ".example.com",
			CertificateAuthority: "lets_encrypt", HostPlatform: "panos"}
		if err := c.CreateAsset(ctx, a); err != nil || a.Origin != "API" {
			t.Fatalf("create %s: %v %+v", n, err, a)
		}
	}
	// Server-side validation comes back as field problems.
	err := c.CreateAsset(ctx, &ottr.Asset{SystemName: "not a name"})
	if ottr.ErrorCode(err) != ottr.EINVALID || len(ottr.ErrorProblems(err)) == 0 {
		t.Errorf("invalid asset: %v %v", err, ottr.ErrorProblems(err))
	}
	page, next, err := c.Search(ctx, url.Values{"limit": {"2"}})
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("page 1: %d %q %v", len(page), next, err)
	}
	page, next, err = c.SearchPage(ctx, next)
	if err != nil || len(page) != 1 || next != "" {
		t.Errorf("page 2: %d %q %v", len(page), next, err)
	}
	// The store-like methods the CLI uses.
	two := 2
	found, cursor, err := c.FindAssets(ctx, ottr.AssetFilter{HostPlatform: "panos", Limit: 2})
	if err != nil || len(found) != 2 || cursor == "" {
		t.Fatalf("find: %d %q %v", len(found), cursor, err)
	}
	if found, cursor, _ = c.FindAssets(ctx, ottr.AssetFilter{HostPlatform: "panos", Cursor: cursor}); len(found) != 1 || cursor != "" {
		t.Errorf("find page 2: %d %q", len(found), cursor)
	}
	if found, _, _ = c.FindAssets(ctx, ottr.AssetFilter{DaysUntilExpiration: &two}); len(found) != 0 {
		t.Errorf("none expire: %d", len(found))
	}
	up, err := c.UpdateAsset(ctx, "B.example.com", func(a *ottr.Asset) error {
		a.IPAddress, a.Port, a.Labels, a.CertificateValidation = "10.0.0.9", 8443, map[string]string{"team": "netops"}, false
		return nil
	})
	if err != nil || up.IPAddress != "10.0.0.9" || up.Port != 8443 || up.Labels["team"] != "netops" || bool(up.CertificateValidation) {
		t.Fatalf("update: %v %+v", err, up)
	}
	if got, err := c.GetAsset(ctx, "b.example.com"); err != nil || got.Port != 8443 || bool(got.CertificateValidation) {
		t.Errorf("get after update: %v %+v", err, got)
	}
	if _, err := c.UpdateAsset(ctx, "b.example.com", func(a *ottr.Asset) error { a.CertificateAuthority = "digicert"; return nil }); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("CA change through the API: %v", err)
	}
	if err := c.DeleteAsset(ctx, "c.example.com"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetAsset(ctx, "c.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
		t.Errorf("get deleted: %v", err)
	}
	if _, err := c.CreateUser(ctx, "ops", "Ops.Passw0rd", ottr.RolePrivileged); err != nil {
		t.Fatal(err)
	}
	if us, err := c.ListUsers(ctx); err != nil || len(us) != 2 || us[1].Username != "ops" || us[1].PasswordHash != "" {
		t.Errorf("users: %v %+v", err, us)
	}
	if err := c.DeleteUser(ctx, "ops"); err != nil {
		t.Error(err)
	}
	if rs, _, err := c.FindRotations(ctx, ottr.RotationFilter{}); ottr.ErrorCode(err) != ottr.EUNAVAILABLE || rs != nil {
		t.Errorf("rotations without a store: %v", err)
	}
	if _, _, err := c.Rotate(ctx, "a.example.com"); ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("rotate without an engine: %v", err)
	}
	if _, err := (&api.Client{BaseURL: "http://127.0.0.1:1"}).Rotation(ctx, "x"); ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("server down: %v", err)
	}
}

// A server that refuses the connection is EUNAVAILABLE, and the socket
// error stays reachable for callers that tell the causes apart.
func TestClientUnreachableKeepsTheCause(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	c := &api.Client{BaseURL: "http://" + addr}
	err = c.Login(t.Context(), "admin", "Passw0rd!")
	if ottr.ErrorCode(err) != ottr.EUNAVAILABLE || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Login: %v (%s), want %s caused by ECONNREFUSED", err, ottr.ErrorCode(err), ottr.EUNAVAILABLE)
	}
}
