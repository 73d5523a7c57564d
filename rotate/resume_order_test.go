package rotate_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// signedThenLost is an issuer whose process dies after the CA signed the
// order and before the chain reached the rotation row.
type signedThenLost struct{ *countingIssuer }

func (s signedThenLost) Issue(ctx context.Context, req ottr.IssueRequest) ([]*x509.Certificate, error) {
	if _, err := s.countingIssuer.Issue(ctx, req); err != nil {
		return nil, err
	}
	return nil, ottr.Errorf(ottr.EUNAVAILABLE, "process killed")
}

// A rotation interrupted after the CA signed its order collects that
// certificate on resume instead of ordering another: the device still
// holds the key the order's CSR was made for.
func TestResumedRotationCollectsSignedOrder(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	a := f.device(t, "web1")
	r := f.queue(t, a)
	crashed := *f.rot
	crashed.Issuer = signedThenLost{f.issuer}
	if err := crashed.Run(ctx, r.ID); err == nil || !strings.Contains(err.Error(), "process killed") {
		t.Fatalf("first attempt: %v", err)
	}
	got, _ := f.get(t, r.ID)
	if got.OrderURL == "" || got.Chain != "" || got.CSR == "" {
		t.Fatalf("after the crash: order %q, chain kept %v, CSR kept %v", got.OrderURL, got.Chain != "", got.CSR != "")
	}
	if err := f.rot.Run(ctx, r.ID); err != nil {
		_, log := f.get(t, r.ID)
		t.Fatalf("resumed attempt: %v\n%s", err, log)
	}
	done, log := f.get(t, r.ID)
	if done.State != ottr.StateSucceeded || f.issuer.n != 1 {
		t.Fatalf("resumed: %s with %d orders\n%s", done.State, f.issuer.n, log)
	}
	if !strings.Contains(log, "collected serial "+done.NewSerial) {
		t.Errorf("log does not say the signed certificate was collected:\n%s", log)
	}
	// A new key makes the recorded order moot.
	b := f.device(t, "web2")
	r2 := f.queue(t, b)
	if err := crashed.Run(ctx, r2.ID); err == nil {
		t.Fatal("crash expected")
	}
	if _, err := f.db.UpdateRotation(ctx, r2.ID, func(x *ottr.Rotation) error {
		x.OrderURL = strings.TrimSuffix(x.OrderURL, "/") + "-gone"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.rot.Run(ctx, r2.ID); err != nil {
		_, log := f.get(t, r2.ID)
		t.Fatalf("order gone: %v\n%s", err, log)
	}
	done, log = f.get(t, r2.ID)
	if done.State != ottr.StateSucceeded || f.issuer.n != 3 || !strings.Contains(log, "was never signed; starting over") {
		t.Errorf("order unknown to the CA: %s with %d orders\n%s", done.State, f.issuer.n, log)
	}
}
