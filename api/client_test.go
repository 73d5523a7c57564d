package api_test

import (
	"net/url"
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
		a, err := c.CreateAsset(ctx, &ottr.Asset{SystemName: n + ".example.com", CommonName: n + ".example.com",
			CertificateAuthority: "lets_encrypt", HostPlatform: "panos"})
		if err != nil || a.Origin != "API" {
			t.Fatalf("create %s: %v %+v", n, err, a)
		}
	}
	// Server-side validation comes back as field problems.
	_, err := c.CreateAsset(ctx, &ottr.Asset{SystemName: "not a name"})
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
	if _, _, err := c.Rotate(ctx, "a.example.com"); ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("rotate without an engine: %v", err)
	}
	if _, err := (&api.Client{BaseURL: "http://127.0.0.1:1"}).Rotation(ctx, "x"); ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Errorf("server down: %v", err)
	}
}
