package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// TestStatusRoute: the summary is the server's, its lists bounded by
// list_limit; a limit out of range is refused naming the parameter, and a
// server that computes no summary says so with 503.
func TestStatusRoute(t *testing.T) {
	db := openStore(t)
	tk, err := api.NewTokens(t.Context(), api.TokenConfig{Secrets: db, Users: db})
	if err != nil {
		t.Fatal(err)
	}
	dev := &ottr.User{Username: "dev", Role: ottr.RoleDeveloper, PasswordHash: "x"}
	if err := db.CreateUser(t.Context(), dev); err != nil {
		t.Fatal(err)
	}
	tok, err := tk.Issue(dev)
	if err != nil {
		t.Fatal(err)
	}
	var asked int
	s := &api.Server{Users: db, Assets: db, Tokens: tk, Version: "test",
		Status: func(_ context.Context, n int) (*ottr.FleetStatus, error) {
			asked = n
			return &ottr.FleetStatus{Assets: 3, States: map[string]int{ottr.AssetHealthy: 3}, Failing: []ottr.FailingAsset{}, Unrouted: []ottr.UnroutedAsset{},
				Router: &ottr.RouterStatus{State: "running", Leader: "replica-a", Replica: "replica-a"}}, nil
		}}
	srv := api.NewCheckedServer(t, s.Handler())
	t.Cleanup(srv.Close)
	code, body, _ := request(t, srv, "GET", "/api/v1/status", "", "Bearer "+tok)
	var st ottr.FleetStatus
	if code != 200 || json.Unmarshal([]byte(body), &st) != nil || st.Assets != 3 || st.Router == nil || st.Router.Leader != "replica-a" || asked != 100 {
		t.Fatalf("status: %d %s (asked for %d)", code, body, asked)
	}
	if code, _, _ := request(t, srv, "GET", "/api/v1/status?list_limit=7", "", "Bearer "+tok); code != 200 || asked != 7 {
		t.Fatalf("list_limit=7: %d, asked for %d", code, asked)
	}
	for _, q := range []string{"0", "10001", "ten"} {
		code, body, _ := request(t, srv, "GET", "/api/v1/status?list_limit="+q, "", "Bearer "+tok)
		if code != 400 || !strings.Contains(body, "list_limit") {
			t.Errorf("list_limit=%s: %d %s", q, code, body)
		}
	}
	s.Status = nil
	srv2 := api.NewCheckedServer(t, s.Handler())
	t.Cleanup(srv2.Close)
	if code, body, _ := request(t, srv2, "GET", "/api/v1/status", "", "Bearer "+tok); code != 503 || !strings.Contains(body, "no fleet summary") {
		t.Errorf("without a summary: %d %s", code, body)
	}
}

// TestPolicyRoundTrip: the client gets back exactly the policy the server
// decides with, rules by CA and route included.
func TestPolicyRoundTrip(t *testing.T) {
	db := openStore(t)
	tk, err := api.NewTokens(t.Context(), api.TokenConfig{Secrets: db, Users: db})
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := api.HashPassword("Passw0rd!")
	if err := db.CreateUser(t.Context(), &ottr.User{Username: "dev", Role: ottr.RoleDeveloper, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	want := ottr.RenewalPolicy{Default: ottr.RenewalRule{Before: 60 * 24 * time.Hour}, Jitter: 0.05,
		ByCA:    map[string]ottr.RenewalRule{"internal": {Fraction: 0.5}},
		ByRoute: map[string]ottr.RenewalRule{"otter-panos-9x-lets-encrypt": {Before: 10 * 24 * time.Hour, Fraction: 0.25}}}
	srv := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, Version: "test", Policy: want}).Handler())
	t.Cleanup(srv.Close)
	c := &api.Client{BaseURL: srv.URL}
	if err := c.Login(t.Context(), "dev", "Passw0rd!"); err != nil {
		t.Fatal(err)
	}
	got, err := c.Policy(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("policy (-server +client):\n%s", d)
	}
}
