package api_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// nextAttempts is an engine that knows when rotations are retried.
type nextAttempts map[string]time.Time

func (nextAttempts) Enqueue(context.Context, *ottr.Rotation) (bool, error) { return false, nil }

func (n nextAttempts) NextAttempt(_ context.Context, id string) (time.Time, bool, error) {
	at, ok := n[id]
	return at, ok, nil
}

// A live rotation whose last attempt failed shows when the next one
// runs; one running or finished does not.
func TestRotationNextAttempt(t *testing.T) {
	db := openStore(t)
	ctx := t.Context()
	db.CreateUser(ctx, &ottr.User{Username: "dev", Role: ottr.RoleDeveloper, PasswordHash: "x"})
	db.CreateAsset(ctx, &ottr.Asset{SystemName: "a.example.com", CommonName: "a.example.com", CertificateAuthority: "lets_encrypt", HostPlatform: "panos"})
	failed := &ottr.Rotation{SystemName: "a.example.com", State: ottr.StateRunning, Attempts: 1}
	db.CreateRotation(ctx, failed)
	db.UpdateRotation(ctx, failed.ID, func(r *ottr.Rotation) error { r.Error = "device unreachable"; return nil })
	done := &ottr.Rotation{SystemName: "a.example.com", State: ottr.StateFailed, Attempts: 2, Error: "device unreachable"}
	db.CreateRotation(ctx, done)
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	eng := nextAttempts{failed.ID: at, done.ID: at}
	tk, _ := api.NewTokens(ctx, api.TokenConfig{Secrets: db, Users: db})
	srv := api.NewCheckedServer(t, (&api.Server{Users: db, Assets: db, Tokens: tk, RotationStore: db, Rotations: eng}).Handler())
	defer srv.Close()
	dev, _ := tk.Issue(&ottr.User{Username: "dev", Role: ottr.RoleDeveloper})

	code, body, _ := request(t, srv, "GET", "/api/v1/rotations/"+failed.ID, "", "Bearer "+dev)
	var r ottr.Rotation
	json.Unmarshal([]byte(body), &r)
	if code != 200 || r.NextAttemptAt == nil || !r.NextAttemptAt.Equal(at) || r.Error != "device unreachable" {
		t.Errorf("failed attempt: %d %s", code, body)
	}
	code, body, _ = request(t, srv, "GET", "/api/v1/rotations/"+done.ID, "", "Bearer "+dev)
	r = ottr.Rotation{}
	json.Unmarshal([]byte(body), &r)
	if code != 200 || r.NextAttemptAt != nil {
		t.Errorf("finished rotation: %d %s", code, body)
	}
}
