// Package rotatetest runs one whole rotation for a driver's tests: an
// in-process Pebble issues the certificate through DNS-01 answered by the
// built-in DNS server in a delegate zone, and the rotation engine's
// Rotator drives the device through preflight, CSR, order, install,
// verify and record, exactly as in production.
package rotatetest

import (
	"bytes"
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/dnstest"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/store"
)

const zone = "acme.example.test"

// Env is a store, a delegate zone and a Pebble.
type Env struct {
	DB    *store.DB
	Roots *x509.CertPool // Pebble's roots: what issued chains lead to
	res   *dnstest.Resolver
	is    *acme.Issuer
	ch    *ottrdns.Challenges
}

// New starts the environment; names get their _acme-challenge CNAME into
// the delegate zone.
func New(t *testing.T, names ...string) *Env {
	t.Helper()
	sealer, _ := ottr.NewSealer(bytes.Repeat([]byte{7}, 32))
	db, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir(), Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv, res := dnstest.StartZone(t, db, zone)
	for _, n := range names {
		res.CNAME("_acme-challenge."+n, "_acme-challenge."+strings.ReplaceAll(n, ".", "-")+"."+zone)
	}
	p, err := acmetest.Start(acmetest.Options{Resolver: res.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ch := &ottrdns.Challenges{Zones: map[string]ottr.DNSZone{zone: &ottrdns.StoreZone{Store: db}},
		Resolvers: []string{res.Addr}, Nameservers: []string{srv.Addr()}, PropagationTimeout: 5 * time.Second}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(p.RootPEM())
	return &Env{DB: db, Roots: roots, res: res, ch: ch,
		is: &acme.Issuer{CAs: map[string]acme.CA{"pebble": {Directory: p.Directory, DirectoryCA: p.TLSRootPEM, TrustedRoots: p.RootPEM()}},
			Secrets: db, DNS: ch}}
}

// Rotate stores a (its certificate_authority becomes "pebble"), runs one
// rotation with open as the driver factory and addr as the device's
// address, and returns the finished rotation and its log. A failed run is
// closed as failed (with rollback), as the engine would.
func (e *Env) Rotate(t *testing.T, a *ottr.Asset, addr string, open func(context.Context, *ottr.Asset) (ottr.Driver, error)) (*ottr.Rotation, error) {
	t.Helper()
	ctx := t.Context()
	a.CertificateAuthority = "pebble"
	if _, err := e.DB.GetAsset(ctx, a.SystemName); err != nil {
		if err := e.DB.CreateAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	r := &rotate.Rotator{Assets: e.DB, Rotations: e.DB, Issuer: e.is, DNS: e.ch, Open: open,
		Roots:       func(string) *x509.CertPool { return e.Roots },
		Address:     func(*ottr.Asset) string { return addr },
		StepTimeout: 2 * time.Minute}
	rot := &ottr.Rotation{SystemName: a.SystemName, Trigger: ottr.TriggerCLI, State: ottr.StateQueued}
	if err := e.DB.CreateRotation(ctx, rot); err != nil {
		t.Fatal(err)
	}
	runErr := r.Run(ctx, rot.ID)
	if runErr != nil {
		if err := r.Fail(ctx, rot.ID, runErr); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.DB.GetRotation(ctx, rot.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got, runErr
}

// Log renders a rotation's log for a failure message.
func Log(r *ottr.Rotation) string {
	var b strings.Builder
	for _, l := range r.Log {
		b.WriteString(string(l.Step) + " " + l.Level + " " + l.Message + "\n")
	}
	return b.String()
}

// Failed runs a rotation that must fail: it checks the rotation and the
// asset record want as the reason, and that current (what the device
// serves afterwards) is still before.
func (e *Env) Failed(t *testing.T, a *ottr.Asset, addr string, open func(context.Context, *ottr.Asset) (ottr.Driver, error),
	want string, before *x509.Certificate, current func() (*x509.Certificate, error)) {
	t.Helper()
	rot, _ := e.Rotate(t, a, addr, open)
	if rot.State != ottr.StateFailed || !strings.Contains(rot.Error, want) {
		t.Fatalf("rotation %s: %q, want the reason %q\n%s", rot.State, rot.Error, want, Log(rot))
	}
	stored, err := e.DB.GetAsset(t.Context(), a.SystemName)
	if err != nil || stored.LastRotation == nil || stored.LastRotation.Status != string(ottr.StateFailed) || !strings.Contains(stored.LastRotation.Error, want) {
		t.Errorf("asset's last rotation: %+v %v", stored.LastRotation, err)
	}
	now, err := current()
	if err != nil || !now.Equal(before) {
		t.Errorf("the device serves %v (%v), want its previous certificate %x", now, err, before.SerialNumber)
	}
}
