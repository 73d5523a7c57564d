package api_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// The CA's renewal window is shown with the asset and never taken from a
// client: it belongs to the certificate a rotation recorded.
func TestRenewalWindowIsOutputOnly(t *testing.T) {
	db := openStore(t)
	hash, _ := api.HashPassword("Passw0rd!")
	if err := db.CreateUser(t.Context(), &ottr.User{Username: "admin", Role: ottr.RoleAdmin, PasswordHash: hash}); err != nil {
		t.Fatal(err)
	}
	tk, err := api.NewTokens(t.Context(), api.TokenConfig{Secrets: db, Users: db})
	if err != nil {
		t.Fatal(err)
	}
	srv := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, Audit: db, Version: "test"}).Handler())
	t.Cleanup(srv.Close)
	two := func(m, p, b, tok string) (int, string) { c, body, _ := request(t, srv, m, p, b, tok); return c, body }
	admin := login(t, two, "admin", "Passw0rd!")

	code, body := two("POST", "/api/v1/assets", `{"system_name":"fw01.example.com","common_name":"fw01.example.com",
		"certificate_authority":"lets_encrypt","host_platform":"panos",
		"renewal_window":{"start":"2026-01-01T00:00:00Z","end":"2026-01-02T00:00:00Z","cert_id":"a.b"}}`, admin)
	if code != 201 || strings.Contains(body, "renewal_window") {
		t.Fatalf("create with a renewal window: %d %s", code, body)
	}
	if a, _ := db.GetAsset(t.Context(), "fw01.example.com"); a.RenewalWindow != nil {
		t.Fatalf("a client's renewal window was stored: %+v", a.RenewalWindow)
	}

	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if _, err := db.UpdateAsset(t.Context(), "fw01.example.com", func(a *ottr.Asset) error {
		a.CertificateExpiration = ottr.NewTime(start.Add(30 * 24 * time.Hour))
		a.RenewalWindow = &ottr.RenewalWindow{Start: *ottr.NewTime(start), End: *ottr.NewTime(start.Add(48 * time.Hour)),
			ExplanationURL: "https://ca.example/why", CertID: "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE", CheckAfter: *ottr.NewTime(start.Add(-time.Hour))}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Ottr's update keeps it.
	if code, body := two("PUT", "/api/v1/assets", `{"system_name":"fw01.example.com","common_name":"fw01.example.com",
		"certificate_authority":"lets_encrypt","host_platform":"panos","ip_address":"10.0.0.9"}`, admin); code != 200 {
		t.Fatalf("update: %d %s", code, body)
	}
	code, body = two("GET", "/api/v1/search?system_name=fw01.example.com", "", admin)
	var list []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &list); err != nil || code != 200 || len(list) != 1 {
		t.Fatalf("search: %d %s", code, body)
	}
	want := `{"start":"2026-12-01T00:00:00Z","end":"2026-12-03T00:00:00Z","explanation_url":"https://ca.example/why",` +
		`"cert_id":"aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE","check_after":"2026-11-30T23:00:00Z"}`
	if got := string(list[0]["renewal_window"]); got != want {
		t.Errorf("renewal_window = %s\nwant %s", got, want)
	}
}
