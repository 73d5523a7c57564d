package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// queue is an Enqueuer that joins a second request for the same asset.
type queue struct {
	mu   sync.Mutex
	live map[string]*ottr.Rotation
}

func (q *queue) Enqueue(_ context.Context, r *ottr.Rotation) (bool, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if l, ok := q.live[r.SystemName]; ok {
		*r = *l
		return true, nil
	}
	r.ID, r.State = "rot-"+r.SystemName, ottr.StateQueued
	q.live[r.SystemName] = r
	return false, nil
}

// delegated answers Delegate for the names in it, EINVALID for others.
type delegated map[string]bool

func (d delegated) Delegate(_ context.Context, n string) (ottr.Delegation, error) {
	if d[n] {
		return ottr.Delegation{Name: n, Target: "_acme-challenge." + n + ".acme.example.net", Zone: "acme.example.net"}, nil
	}
	return ottr.Delegation{}, ottr.Errorf(ottr.EINVALID, "%s: _acme-challenge.%s has no CNAME", n, n)
}
func (delegated) AddTXT(context.Context, ottr.Delegation, string) error    { return nil }
func (delegated) RemoveTXT(context.Context, ottr.Delegation, string) error { return nil }
func (delegated) WaitTXT(context.Context, ottr.Delegation, []string) error { return nil }

func TestRotateEndpoint(t *testing.T) {
	db := openStore(t)
	ctx := t.Context()
	hash, _ := api.HashPassword("Passw0rd!")
	db.CreateUser(ctx, &ottr.User{Username: "admin", Role: ottr.RoleAdmin, PasswordHash: hash})
	db.CreateUser(ctx, &ottr.User{Username: "dev", Role: ottr.RoleDeveloper, PasswordHash: hash})
	f, _ := os.Open("../testdata/route.json")
	rt, err := ottr.ParseRouteTable(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []*ottr.Asset{
		{SystemName: "fw01.example.com", CommonName: "fw01.example.com", SubjectAlternativeName: []string{"fw01.example.com", "vpn.example.com"},
			CertificateAuthority: "lets_encrypt", HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX"},
		{SystemName: "fw03.example.com", CommonName: "fw03.example.com", SubjectAlternativeName: []string{"fw03.example.com"},
			CertificateAuthority: "lets_encrypt", HostPlatform: "panos", OSVersion: "10.2.0", DeviceModel: "PA-XXXX"},
	} {
		if err := db.CreateAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	tk, _ := api.NewTokens(ctx, api.TokenConfig{Secrets: db, Users: db})
	q := &queue{live: map[string]*ottr.Rotation{}}
	s := &api.Server{Users: db, Assets: db, Tokens: tk, Routes: rt, Rotations: q,
		DNS: delegated{"fw01.example.com": true, "fw03.example.com": true}}
	srv := api.NewCheckedServer(t, s.Handler())
	defer srv.Close()
	do := func(path, token string) (int, string, http.Header) {
		return request(t, srv, "POST", path, "", token)
	}
	admin, _ := tk.Issue(&ottr.User{Username: "admin", Role: ottr.RoleAdmin})
	dev, _ := tk.Issue(&ottr.User{Username: "dev", Role: ottr.RoleDeveloper})

	// vpn.example.com is not delegated yet: say so, queue nothing.
	code, body, _ := do("/api/v1/certificate/rotate/fw01.example.com", "Bearer "+admin)
	if code != 400 || !strings.Contains(body, `{"message":"_acme-challenge.vpn.example.com has no CNAME","location":"vpn.example.com"}`) || len(q.live) != 0 {
		t.Fatalf("undelegated SAN (named once, as the problem's location): %d %s", code, body)
	}
	s.DNS = delegated{"fw01.example.com": true, "vpn.example.com": true, "fw03.example.com": true}
	srv.Config.Handler = api.CheckedHandler(t, s.Handler())
	code, body, h := do("/api/v1/certificate/rotate/fw01.example.com", "Bearer "+admin)
	var out struct {
		ID     string `json:"id"`
		State  string `json:"state"`
		Joined bool   `json:"joined"`
	}
	json.Unmarshal([]byte(body), &out)
	if code != 202 || out.ID == "" || out.State != "queued" || out.Joined || h.Get("Location") != "/api/v1/rotations/"+out.ID {
		t.Fatalf("rotate: %d %s %v", code, body, h)
	}
	if q.live["fw01.example.com"].Trigger != ottr.TriggerAPI || q.live["fw01.example.com"].RequestedBy != "admin" ||
		q.live["fw01.example.com"].Recipe != "otter-panos-9x-lets-encrypt" {
		t.Errorf("queued %+v", q.live["fw01.example.com"])
	}
	if _, body, _ := do("/api/v1/certificate/rotate/fw01.example.com", "Bearer "+admin); !strings.Contains(body, `"joined":true`) {
		t.Errorf("second request does not join: %s", body)
	}
	// Unrouted: the missing route.json key is named.
	if code, body, _ := do("/api/v1/certificate/rotate/fw03.example.com", "Bearer "+admin); code != 400 || !strings.Contains(body, "platform.panos.os.10.2.0") {
		t.Errorf("unrouted: %d %s", code, body)
	}
	if code, _, _ := do("/api/v1/certificate/rotate/fw01.example.com", "Bearer "+dev); code != 403 {
		t.Errorf("developer: %d", code)
	}
	if code, _, _ := do("/api/v1/certificate/rotate/nope.example.com", "Bearer "+admin); code != 404 {
		t.Errorf("absent: %d", code)
	}
	s.Rotations = nil
	srv.Config.Handler = api.CheckedHandler(t, s.Handler())
	if code, _, _ := do("/api/v1/certificate/rotate/fw01.example.com", "Bearer "+admin); code != 503 {
		t.Errorf("no engine: %d", code)
	}
}
