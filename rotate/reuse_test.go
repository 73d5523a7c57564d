package rotate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// An asset whose install keeps failing is not re-ordered on every retry:
// the next rotation installs the certificate the failed one had issued.
// Once the asset names something else, that certificate is not used.
func TestUnusedCertificateIsInstalledNotReordered(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	a := f.device(t, "web1")
	broken := filepath.Join(t.TempDir(), "install.sh")
	os.WriteFile(broken, []byte("#!/bin/sh\necho 'config locked by admin' >&2\nexit 1\n"), 0o755)
	f.setScript(a.SystemName, broken)

	failRotation := func() *ottr.Rotation {
		r := f.queue(t, a)
		err := f.rot.Run(ctx, r.ID)
		if err == nil {
			t.Fatal("install with a broken script succeeded")
		}
		if err := f.rot.Fail(ctx, r.ID, err); err != nil {
			t.Fatal(err)
		}
		got, _ := f.get(t, r.ID)
		return got
	}
	first := failRotation()
	if first.Chain == "" || f.issuer.n != 1 {
		t.Fatalf("first rotation: chain kept %v, %d orders", first.Chain != "", f.issuer.n)
	}
	second := failRotation()
	if f.issuer.n != 1 || second.NewSerial != first.NewSerial {
		t.Fatalf("second failing rotation ordered again: %d orders, serial %s then %s", f.issuer.n, first.NewSerial, second.NewSerial)
	}
	third := failRotation()
	if f.issuer.n != 1 || third.NewSerial != first.NewSerial {
		t.Fatalf("third failing rotation ordered again: %d orders", f.issuer.n)
	}
	// Three installs of one certificate failed: the device may have lost
	// its key, so the fourth rotation orders a new one.
	fourth := failRotation()
	if f.issuer.n != 2 || fourth.NewSerial == first.NewSerial {
		t.Fatalf("fourth rotation: %d orders, serial %s (first %s)", f.issuer.n, fourth.NewSerial, first.NewSerial)
	}
	first = fourth
	// The device is fixed: the same certificate goes into service.
	f.setScript(a.SystemName, "")
	r := f.queue(t, a)
	if err := f.rot.Run(ctx, r.ID); err != nil {
		_, log := f.get(t, r.ID)
		t.Fatalf("run: %v\n%s", err, log)
	}
	got, log := f.get(t, r.ID)
	if got.State != ottr.StateSucceeded || got.NewSerial != first.NewSerial || f.issuer.n != 2 {
		t.Fatalf("after the fix: %s serial %s (issued %s), %d orders\n%s", got.State, got.NewSerial, first.NewSerial, f.issuer.n, log)
	}
	if !strings.Contains(log, "instead of ordering again") {
		t.Errorf("log does not say the issued certificate was reused:\n%s", log)
	}

	// Renamed asset: a certificate for the old names is never installed.
	b := f.device(t, "web2")
	f.setScript(b.SystemName, broken)
	a = b
	failed := failRotation()
	if _, err := f.db.UpdateAsset(ctx, b.SystemName, func(x *ottr.Asset) error {
		x.SubjectAlternativeName = append(x.SubjectAlternativeName, "web3.example.com")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	f.setScript(b.SystemName, "")
	before := f.issuer.n
	r = f.queue(t, b)
	if err := f.rot.Run(ctx, r.ID); err != nil {
		_, log := f.get(t, r.ID)
		t.Fatalf("run after rename: %v\n%s", err, log)
	}
	got, _ = f.get(t, r.ID)
	if f.issuer.n != before+1 || got.NewSerial == failed.NewSerial {
		t.Errorf("certificate for the old names reused: %d orders, serial %s", f.issuer.n-before, got.NewSerial)
	}
}
