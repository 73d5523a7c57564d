package rotate_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/store"
)

const (
	leakPassword = "Dev1ce-Passw0rd!"
	leakKey      = `-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDL2GcNEbq9bDC0xxnOM5L5yO5pjVVz1eJXj8p3T4k2RwAAAJhQ1C3zUNQt
-----END OPENSSH PRIVATE KEY-----`
)

// leakyDriver prints its credential every way a careless driver or device
// might: in log lines and in the errors it returns.
type leakyDriver struct{}

func (leakyDriver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	ottr.Logf(ctx, "connecting with password %s", leakPassword)
	return nil, ottr.Errorf(ottr.EUNAVAILABLE, "device rejected %s", leakPassword)
}

func (leakyDriver) Install(context.Context, []*x509.Certificate) error { return nil }

func (leakyDriver) CSR(ctx context.Context, _ ottr.CSRRequest) (*x509.CertificateRequest, error) {
	ottr.Logf(ctx, "Authorization: Basic %s", base64.StdEncoding.EncodeToString([]byte("ottr:"+leakPassword)))
	ottr.Logf(ctx, "password (base64) %s", base64.StdEncoding.EncodeToString([]byte(leakPassword)))
	for _, l := range strings.Split(leakKey, "\n") {
		ottr.Logf(ctx, "key: %s", l)
	}
	return nil, &ottr.Error{Code: ottr.EUNAUTHORIZED, Message: "device refused password " + leakPassword + " and key " + leakKey,
		Problems: []ottr.Problem{{Field: "credential", Message: "refused " + base64.StdEncoding.EncodeToString([]byte(leakPassword))}}}
}

// Whatever a driver prints or returns, the rotation's stored log, its
// error, the asset's last_rotation error, the notification and the error
// handed to the job queue hold no value of the device's credential.
func TestRotationLogAndErrorsMaskTheCredential(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	db, err := store.Open(ctx, store.Config{DataDir: t.TempDir(), Sealer: testSealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	a := &ottr.Asset{SystemName: "fw1.example.com", CommonName: "fw1.example.com", SubjectAlternativeName: []string{"fw1.example.com"},
		CertificateAuthority: "pebble", HostPlatform: "leaky"}
	if err := db.CreateAsset(ctx, a); err != nil {
		t.Fatal(err)
	}
	notes := &recorder{}
	r := &rotate.Rotator{Assets: db, Rotations: db, Notifier: notes,
		Open: func(ctx context.Context, _ *ottr.Asset) (ottr.Driver, error) {
			// What resolving the device's credential does in ottr serve.
			ottr.MaskCredential(ctx, ottr.Credential{"username": "ottr", "password": leakPassword, "private_key": leakKey})
			return leakyDriver{}, nil
		}}
	rot := &ottr.Rotation{SystemName: a.SystemName, State: ottr.StateQueued, Trigger: ottr.TriggerCLI}
	if err := db.CreateRotation(ctx, rot); err != nil {
		t.Fatal(err)
	}
	runErr := r.Run(ctx, rot.ID)
	if ottr.ErrorCode(runErr) != ottr.EUNAUTHORIZED {
		t.Fatalf("Run: %v, want the driver's unauthorized error", runErr)
	}
	if err := r.Fail(ctx, rot.ID, runErr); err != nil {
		t.Fatal(err)
	}
	got, log := (&fixture{db: db}).get(t, rot.ID)
	as, err := db.GetAsset(ctx, a.SystemName)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, "csr info key: [REDACTED]") || !strings.Contains(got.Error, "device refused password [REDACTED]") {
		t.Errorf("the driver's lines are missing from the log:\n%s\nerror: %s", log, got.Error)
	}
	where := map[string]string{
		"rotation log":        log,
		"rotation error":      got.Error,
		"asset last rotation": as.LastRotation.Error,
		"notification":        notes.sent[len(notes.sent)-1].Error,
		"error to the queue":  runErr.Error() + ottr.ErrorMessage(runErr) + ottr.ErrorProblems(runErr)[0].Message,
	}
	leaks := []string{leakPassword, base64.StdEncoding.EncodeToString([]byte(leakPassword)),
		base64.StdEncoding.EncodeToString([]byte("ottr:" + leakPassword)), "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "QyNTUxOQAAACDL2GcNEbq9bDC0xxnOM5L5yO5pjVVz1eJX"}
	for w, text := range where {
		for _, leak := range leaks {
			if strings.Contains(text, leak) {
				t.Errorf("%s holds %q:\n%s", w, leak, text)
			}
		}
	}
}
