package rotate_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
	"github.com/ottr-dev/ottr/rotate"
)

// TestRestoreAfterRestart: the previous chain is kept on the rotation row,
// so an attempt run by another process (a restart after kill -9, another
// replica) still restores the device when verification fails.
func TestRestoreAfterRestart(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	a := f.device(t, "web1")
	first := f.queue(t, a)
	if err := f.rot.Run(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	good, _ := f.get(t, first.ID)

	// Attempt 1 reads what the device serves, then dies at install.
	bad := filepath.Join(t.TempDir(), "install.sh")
	os.WriteFile(bad, []byte("#!/bin/sh\nexit 1\n"), 0o755)
	f.setScript(a.SystemName, bad)
	r := f.queue(t, a)
	if err := f.rot.Run(ctx, r.ID); err == nil {
		t.Fatal("attempt 1 succeeded against a failing install")
	}
	if got, _ := f.get(t, r.ID); !strings.Contains(got.PreviousChain, "BEGIN CERTIFICATE") {
		t.Fatalf("previous chain not on the rotation row: %q", got.PreviousChain)
	}

	// Attempt 2 runs in a fresh process: nothing in memory. The device
	// installs but keeps serving the old chain, so verification fails and
	// the previous certificate must be put back from the row.
	f.setScript(a.SystemName, "")
	f.mu.Lock()
	f.wrap = func(d ottr.Driver) ottr.Driver {
		before, _ := d.Current(context.Background()) // frozen at open: the resumed attempt makes no CSR
		return &staleDevice{Driver: d, before: before}
	}
	f.mu.Unlock()
	fresh := &rotate.Rotator{Assets: f.rot.Assets, Rotations: f.rot.Rotations, Issuer: f.rot.Issuer, DNS: f.rot.DNS,
		Open: f.rot.Open, Address: f.rot.Address, Routes: f.rot.Routes, Roots: f.rot.Roots, Notifier: f.rot.Notifier}
	if err := fresh.Run(ctx, r.ID); err == nil {
		t.Fatal("attempt 2 verified a chain the device does not serve")
	}
	_, log := f.get(t, r.ID)
	if !strings.Contains(log, "previous certificate restored") {
		t.Errorf("no restore by the fresh process:\n%s", log)
	}
	cur, err := served.Chain(ctx, f.addr(a.SystemName), a.CommonName)
	if err != nil || cur[0].SerialNumber.Text(16) != good.NewSerial {
		t.Errorf("device serves %v (%v), want the previous serial %s", cur, err, good.NewSerial)
	}
}
