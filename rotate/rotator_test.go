package rotate_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/acme"
	ottrdns "github.com/ottr-dev/ottr/dns"
	"github.com/ottr-dev/ottr/driver/exec"
	"github.com/ottr-dev/ottr/driver/served"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/dnstest"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/sim/tlsdir"
	"github.com/ottr-dev/ottr/store"
)

const zone = "acme.example.test"

var template, _ = filepath.Abs("../contrib/exec-template")

// recorder is a Notifier that keeps what it was told.
type recorder struct {
	mu   sync.Mutex
	sent []ottr.Rotation
}

func (n *recorder) Notify(_ context.Context, r *ottr.Rotation, _ *ottr.Asset) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.sent = append(n.sent, *r)
	return nil
}

// countingIssuer counts orders.
type countingIssuer struct {
	ottr.Issuer
	mu sync.Mutex
	n  int
}

func (c *countingIssuer) Issue(ctx context.Context, req ottr.IssueRequest) ([]*x509.Certificate, error) {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	return c.Issuer.Issue(ctx, req)
}

// ResumeOrder passes through to the real issuer: resuming is not ordering.
func (c *countingIssuer) ResumeOrder(ctx context.Context, req ottr.IssueRequest, url string) ([]*x509.Certificate, error) {
	return c.Issuer.(ottr.OrderResumer).ResumeOrder(ctx, req, url)
}

// RenewalWindow passes ARI through to the real issuer.
func (c *countingIssuer) RenewalWindow(ctx context.Context, ca, certID string) (ottr.RenewalWindow, error) {
	return c.Issuer.(ottr.RenewalWindowIssuer).RenewalWindow(ctx, ca, certID)
}

type fixture struct {
	mu      sync.Mutex // guards devices and script: workers read them
	db      *store.DB
	rot     *rotate.Rotator
	issuer  *countingIssuer
	notes   *recorder
	devices map[string]*tlsdir.Device
	wrap    func(ottr.Driver) ottr.Driver
	script  map[string]string // platform overrides of the install script
}

var testSealer, _ = ottr.NewSealer(bytes.Repeat([]byte{3}, 32))

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureOn(t, store.Config{DataDir: t.TempDir(), Sealer: testSealer})
}

func newFixtureOn(t *testing.T, sc store.Config) *fixture {
	t.Helper()
	db, err := store.Open(t.Context(), sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv, res := dnstest.StartZone(t, db, zone)
	p, err := acmetest.Start(acmetest.Options{Resolver: res.Addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	ch := &ottrdns.Challenges{Zones: map[string]ottr.DNSZone{zone: &ottrdns.StoreZone{Store: db}},
		Resolvers: []string{res.Addr}, Nameservers: []string{srv.Addr()}, PropagationTimeout: 5 * time.Second}
	for _, n := range []string{"web1", "web2", "web3", "web4", "web5", "web6"} {
		res.CNAME("_acme-challenge."+n+".example.com", "_acme-challenge."+n+"."+zone)
	}
	iss := &countingIssuer{Issuer: &acme.Issuer{
		CAs:     map[string]acme.CA{"pebble": {Directory: p.Directory, DirectoryCA: p.TLSRootPEM}},
		Secrets: db, DNS: ch,
	}}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(p.RootPEM())
	f := &fixture{db: db, issuer: iss, notes: &recorder{}, devices: map[string]*tlsdir.Device{}, script: map[string]string{}}
	f.rot = &rotate.Rotator{
		Assets: db, Rotations: db, Issuer: iss, DNS: ch, Notifier: f.notes,
		Roots: func(string) *x509.CertPool { return roots },
		Address: func(a *ottr.Asset) string {
			f.mu.Lock()
			defer f.mu.Unlock()
			if d := f.devices[a.SystemName]; d != nil {
				return d.Addr
			}
			return "127.0.0.1:1" // nothing listens
		},
		Open: func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
			f.mu.Lock()
			d := f.devices[a.SystemName]
			override, wrap := f.script[a.SystemName], f.wrap
			f.mu.Unlock()
			dir, addr := filepath.Join(t.TempDir(), "gone"), "127.0.0.1:1"
			if d != nil {
				dir, addr = d.Dir, d.Addr
			}
			install := filepath.Join(template, "install.sh")
			if override != "" {
				install = override
			}
			drv, err := exec.New(exec.Config{
				CSR: []string{filepath.Join(template, "csr.sh")}, Install: []string{install},
				Rollback: []string{filepath.Join(template, "rollback.sh")},
				Env:      map[string]string{"DEVICE_DIR": dir}, Address: addr, Asset: a, Timeout: 20 * time.Second,
			})
			if err != nil {
				return nil, err
			}
			if wrap != nil {
				return wrap(drv), nil
			}
			return drv, nil
		},
	}
	return f
}

// device adds an asset whose device serves a first certificate.
func (f *fixture) device(t *testing.T, name string) *ottr.Asset {
	t.Helper()
	cn := name + ".example.com"
	a := &ottr.Asset{SystemName: cn, CommonName: cn, SubjectAlternativeName: []string{cn},
		CertificateAuthority: "pebble", HostPlatform: "exec", CertificateValidation: false}
	if err := f.db.CreateAsset(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	dev, err := tlsdir.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dev.Close() })
	f.mu.Lock()
	f.devices[cn] = dev
	f.mu.Unlock()
	return a
}

// setScript overrides (or, with "", restores) an asset's install script.
func (f *fixture) setScript(systemName, path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if path == "" {
		delete(f.script, systemName)
		return
	}
	f.script[systemName] = path
}

func (f *fixture) addr(systemName string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.devices[systemName].Addr
}

func (f *fixture) queue(t *testing.T, a *ottr.Asset) *ottr.Rotation {
	t.Helper()
	r := &ottr.Rotation{SystemName: a.SystemName, State: ottr.StateQueued, Trigger: ottr.TriggerCLI}
	if err := f.db.CreateRotation(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) get(t *testing.T, id string) (*ottr.Rotation, string) {
	t.Helper()
	r, err := f.db.GetRotation(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range r.Log {
		b.WriteString(string(l.Step) + " " + l.Level + " " + l.Message + "\n")
	}
	return r, b.String()
}

func TestRotateEndToEnd(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web1")
	r := f.queue(t, a)
	if err := f.rot.Run(t.Context(), r.ID); err != nil {
		_, log := f.get(t, r.ID)
		t.Fatalf("Run: %v\n%s", err, log)
	}
	got, log := f.get(t, r.ID)
	if got.State != ottr.StateSucceeded || got.NewSerial == "" || got.NewExpiration == nil || got.Attempts != 1 {
		t.Errorf("rotation = %+v", got)
	}
	for _, w := range []string{"preflight info device reachable", "delegated", "csr info csr: made a p256 key", "issued serial",
		"install info installed and committed", "verify info device serves serial " + got.NewSerial, "record info recorded"} {
		if !strings.Contains(log, w) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	chain, err := served.Chain(t.Context(), f.addr(a.SystemName), a.CommonName)
	if err != nil || chain[0].SerialNumber.Text(16) != got.NewSerial {
		t.Fatalf("device serves %v, %v", chain, err)
	}
	as, _ := f.db.GetAsset(t.Context(), a.SystemName)
	if as.CertificateExpiration == nil || !as.CertificateExpiration.Equal(chain[0].NotAfter.Truncate(time.Second)) ||
		as.CertificateSerial != got.NewSerial || !bool(as.CertificateValidation) || as.LastRotation.Status != "succeeded" ||
		!strings.Contains(as.CertificateIssuer, "Pebble") {
		t.Errorf("asset = %+v (last %+v)", as, as.LastRotation)
	}
	// Pebble's renewal window for the new certificate is on the asset,
	// under the certificate's ARI identifier, to be asked again later.
	id, _ := ottr.ARICertID(chain[0])
	if w := as.RenewalWindow; w == nil || w.CertID != id || w.Valid(as.CertificateExpiration) != nil ||
		w.Start.Before(chain[0].NotBefore) || w.End.After(chain[0].NotAfter) || !w.CheckAfter.After(time.Now()) {
		t.Errorf("renewal window %+v (certificate %s, %v to %v)", as.RenewalWindow, id, chain[0].NotBefore, chain[0].NotAfter)
	}
	if !strings.Contains(log, "record info the CA suggests renewing between") {
		t.Errorf("log lacks the renewal window:\n%s", log)
	}
	// The notifier hears of successes too; it decides whether to send.
	if len(f.notes.sent) != 1 || f.notes.sent[0].State != ottr.StateSucceeded {
		t.Errorf("notifications: %+v", f.notes.sent)
	}

	// A second rotation replaces the certificate, remembering the old one.
	r2 := f.queue(t, a)
	if err := f.rot.Run(t.Context(), r2.ID); err != nil {
		t.Fatal(err)
	}
	got2, _ := f.get(t, r2.ID)
	if got2.OldSerial != got.NewSerial || got2.NewSerial == got.NewSerial {
		t.Errorf("second rotation: old %s new %s (first new %s)", got2.OldSerial, got2.NewSerial, got.NewSerial)
	}
	// The old certificate's window went with it.
	as2, _ := f.db.GetAsset(t.Context(), a.SystemName)
	if w := as2.RenewalWindow; w == nil || w.CertID == id || !certIDHasSerial(w.CertID, got2.NewSerial) {
		t.Errorf("window after the second rotation: %+v (new serial %s)", w, got2.NewSerial)
	}
}

func TestRotateFailures(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()

	fail := func(t *testing.T, a *ottr.Asset, code, want string) (*ottr.Rotation, string) {
		t.Helper()
		r := f.queue(t, a)
		err := f.rot.Run(ctx, r.ID)
		if ottr.ErrorCode(err) != code || !strings.Contains(err.Error(), want) {
			t.Fatalf("Run: %v, want %s containing %q", err, code, want)
		}
		if err := f.rot.Fail(ctx, r.ID, err); err != nil {
			t.Fatal(err)
		}
		got, log := f.get(t, r.ID)
		if got.State != ottr.StateFailed || !strings.Contains(got.Error, want) || !strings.Contains(log, want) {
			t.Errorf("rotation %+v\nlog:\n%s", got, log)
		}
		as, _ := f.db.GetAsset(ctx, a.SystemName)
		if as.LastRotation == nil || as.LastRotation.Status != "failed" || !strings.Contains(as.LastRotation.Error, want) {
			t.Errorf("asset's last rotation = %+v", as.LastRotation)
		}
		last := f.notes.sent[len(f.notes.sent)-1]
		if last.ID != r.ID || last.State != ottr.StateFailed || !strings.Contains(last.Error, want) {
			t.Errorf("notification %+v", last)
		}
		return got, log
	}

	t.Run("device unreachable", func(t *testing.T) {
		a := f.device(t, "web2")
		f.mu.Lock()
		f.devices[a.SystemName].Close()
		delete(f.devices, a.SystemName)
		f.mu.Unlock()
		got, _ := fail(t, a, ottr.EUNAVAILABLE, "unreachable at 127.0.0.1:1")
		if got.Step != ottr.StepPreflight {
			t.Errorf("failed at %s", got.Step)
		}
	})

	t.Run("wrong credentials", func(t *testing.T) {
		a := f.device(t, "web3")
		bad := filepath.Join(t.TempDir(), "install.sh")
		os.WriteFile(bad, []byte("#!/bin/sh\necho 'authentication failed' >&2\nexit 77\n"), 0o755)
		f.setScript(a.SystemName, bad)
		_, _ = fail(t, a, ottr.EUNAUTHORIZED, "authentication failed")
	})

	t.Run("install script fails", func(t *testing.T) {
		a := f.device(t, "web4")
		bad := filepath.Join(t.TempDir(), "install.sh")
		os.WriteFile(bad, []byte("#!/bin/sh\necho 'commit failed: device busy' >&2\nexit 1\n"), 0o755)
		f.setScript(a.SystemName, bad)
		got, log := fail(t, a, ottr.EUNAVAILABLE, "commit failed: device busy")
		if got.Step != ottr.StepInstall || !strings.Contains(log, "install: commit failed") {
			t.Errorf("step %s, log:\n%s", got.Step, log)
		}
		if got.NewSerial == "" || got.Chain == "" {
			t.Error("the issued chain was not kept for the retry")
		}
	})

	t.Run("verify mismatch rolls back", func(t *testing.T) {
		a := f.device(t, "web5")
		// A first good rotation, so there is a previous certificate.
		r := f.queue(t, a)
		if err := f.rot.Run(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
		good, _ := f.get(t, r.ID)
		// Now the device "commits" something else: it serves a chain that is
		// not the new one.
		f.mu.Lock()
		f.wrap = func(d ottr.Driver) ottr.Driver { return &staleDevice{Driver: d} }
		f.mu.Unlock()
		defer func() { f.mu.Lock(); f.wrap = nil; f.mu.Unlock() }()
		got, log := fail(t, a, ottr.EUNAVAILABLE, "verify: device serves serial "+good.NewSerial+", not the new")
		if !strings.Contains(log, "previous certificate restored") {
			t.Errorf("no rollback in the log:\n%s", log)
		}
		if got.Chain != "" || got.CSR != "" {
			t.Error("the withdrawn chain is kept: a retry would install a certificate whose key the device no longer has")
		}
		chain, _ := served.Chain(ctx, f.addr(a.SystemName), a.CommonName)
		if chain[0].SerialNumber.Text(16) != good.NewSerial {
			t.Errorf("after rollback the device serves %x, want the previous %s", chain[0].SerialNumber, good.NewSerial)
		}
	})

	t.Run("CA error", func(t *testing.T) {
		a := f.device(t, "web6")
		if _, err := f.db.UpdateAsset(ctx, a.SystemName, func(a *ottr.Asset) error { a.CertificateAuthority = "digicert"; return nil }); err != nil {
			t.Fatal(err)
		}
		a.CertificateAuthority = "digicert"
		got, _ := fail(t, a, ottr.EINVALID, `certificate_authority "digicert" is not configured`)
		if got.Step != ottr.StepOrder {
			t.Errorf("failed at %s", got.Step)
		}
	})
}

// staleDevice installs, but keeps serving what it served before.
type staleDevice struct {
	ottr.Driver
	before []*x509.Certificate
}

func (s *staleDevice) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	s.before, _ = s.Driver.Current(ctx)
	return s.Driver.(ottr.CSRMaker).CSR(ctx, req)
}

func (s *staleDevice) Current(ctx context.Context) ([]*x509.Certificate, error) {
	if s.before != nil {
		return s.before, nil
	}
	return s.Driver.Current(ctx)
}

func (s *staleDevice) Restore(ctx context.Context, prev []*x509.Certificate) error {
	return s.Driver.(ottr.Restorer).Restore(ctx, prev)
}

// A rotation resumed after the certificate was issued (the process died
// during install) installs that certificate and does not order again.
func TestResumeDoesNotOrderTwice(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web1")
	bad := filepath.Join(t.TempDir(), "install.sh")
	os.WriteFile(bad, []byte("#!/bin/sh\nexit 1\n"), 0o755)
	f.setScript(a.SystemName, bad)
	r := f.queue(t, a)
	if err := f.rot.Run(t.Context(), r.ID); err == nil {
		t.Fatal("first attempt succeeded")
	}
	first, _ := f.get(t, r.ID)
	f.setScript(a.SystemName, "") // the device works again
	if err := f.rot.Run(t.Context(), r.ID); err != nil {
		t.Fatal(err)
	}
	got, log := f.get(t, r.ID)
	if f.issuer.n != 1 {
		t.Errorf("ordered %d times, want 1", f.issuer.n)
	}
	if got.State != ottr.StateSucceeded || got.NewSerial != first.NewSerial || got.Attempts != 2 {
		t.Errorf("rotation = %+v", got)
	}
	if !strings.Contains(log, "resuming with the certificate already issued") {
		t.Errorf("log:\n%s", log)
	}
	// A finished rotation delivered again does nothing.
	if err := f.rot.Run(t.Context(), r.ID); err != nil || f.issuer.n != 1 {
		t.Errorf("duplicate delivery: %v, %d orders", err, f.issuer.n)
	}
}
