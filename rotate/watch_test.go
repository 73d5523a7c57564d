package rotate_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/storetest"
	"github.com/ottr-dev/ottr/rotate"
	"github.com/ottr-dev/ottr/store"
)

// leaf makes a certificate valid from notBefore to notAfter, issued by
// issuer, with serial.
func leaf(t *testing.T, serial int64, issuer string, notBefore, notAfter time.Time) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: issuer},
		Issuer: pkix.Name{CommonName: issuer}, NotBefore: notBefore, NotAfter: notAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// devices is a fake network: what each asset's device serves, or the
// error reaching it, and which assets were asked.
type devices struct {
	mu     sync.Mutex
	serves map[string][]*x509.Certificate
	fails  map[string]error
	asked  []string
}

func (d *devices) observe(_ context.Context, a *ottr.Asset) ([]*x509.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.asked = append(d.asked, a.SystemName)
	if err := d.fails[a.SystemName]; err != nil {
		return nil, err
	}
	if c, ok := d.serves[a.SystemName]; ok {
		return c, nil
	}
	return nil, syscall.ECONNREFUSED
}

func (d *devices) askedFor() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := slices.Clone(d.asked)
	slices.Sort(out)
	d.asked = nil
	return out
}

// warnings is a fake expiry notifier.
type warnings struct {
	mu   sync.Mutex
	got  []ottr.ExpiryWarning
	fail error
}

func (n *warnings) NotifyExpiry(_ context.Context, w ottr.ExpiryWarning) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.fail != nil {
		return n.fail
	}
	n.got = append(n.got, w)
	return nil
}

func (n *warnings) take() []ottr.ExpiryWarning {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.got
	n.got = nil
	return out
}

func addAssets(t *testing.T, db *store.DB, as ...*ottr.Asset) {
	t.Helper()
	for _, a := range as {
		if a.CommonName == "" {
			a.CommonName = a.SystemName
		}
		if a.CertificateAuthority == "" {
			a.CertificateAuthority = "lets_encrypt"
		}
		if err := db.CreateAsset(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
}

func get(t *testing.T, db *store.DB, name string) *ottr.Asset {
	t.Helper()
	a, err := db.GetAsset(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestWatchPass: an unrouted asset's served certificate is read and
// recorded; a routed one is not read, and loses a stale monitored mark;
// an unreachable one keeps what it recorded.
func TestWatchPass(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := t.Context()
	oldExp := now.Add(200 * 24 * time.Hour)
	addAssets(t, db,
		&ottr.Asset{SystemName: "sw1.example.com", HostPlatform: "nxos"},
		&ottr.Asset{SystemName: "sw2.example.com", HostPlatform: "nxos", CertificateExpiration: ottr.NewTime(oldExp), CertificateSerial: "0b"},
		&ottr.Asset{SystemName: "fw1.example.com", HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX"},
		&ottr.Asset{SystemName: "fw2.example.com", HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX", Monitored: true},
		&ottr.Asset{SystemName: "fw3.example.com", HostPlatform: "panos", OSVersion: "7.0.0", DeviceModel: "PA-XXXX"},
	)
	cert := leaf(t, 0x1234, "Corp CA", now.Add(-10*24*time.Hour), now.Add(355*24*time.Hour))
	fleet := &devices{
		serves: map[string][]*x509.Certificate{"sw1.example.com": {cert}, "fw1.example.com": {cert}, "fw3.example.com": {cert}},
		fails:  map[string]error{"sw2.example.com": fmt.Errorf("dial: %w", syscall.ECONNREFUSED)},
	}
	w := &rotate.Watcher{Assets: db, Observe: fleet.observe, Now: func() time.Time { return now }}
	r := &rotate.Router{Assets: db, Routes: routes(t), Now: func() time.Time { return now }}
	st, err := w.Pass(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fleet.askedFor(), []string{"fw3.example.com", "sw1.example.com", "sw2.example.com"}; !slices.Equal(got, want) {
		t.Errorf("devices asked: %v, want the unrouted ones %v", got, want)
	}
	if st.Unrouted != 3 || st.Watched != 2 || st.Changed != 2 || st.Failed != 1 || st.Skipped != 0 || st.Cleared != 1 {
		t.Errorf("stats = %+v", st)
	}

	sw1 := get(t, db, "sw1.example.com")
	if !sw1.Monitored || sw1.CertificateObservedAt == nil || !sw1.CertificateObservedAt.Equal(now) ||
		sw1.CertificateExpiration == nil || !sw1.CertificateExpiration.Equal(cert.NotAfter) ||
		sw1.CertificateNotBefore == nil || !sw1.CertificateNotBefore.Equal(cert.NotBefore) ||
		sw1.CertificateSerial != "1234" || sw1.CertificateIssuer != "CN=Corp CA" {
		t.Errorf("observed asset = %+v", sw1)
	}
	sw2 := get(t, db, "sw2.example.com")
	if !sw2.Monitored || sw2.CertificateObservedAt != nil || !sw2.CertificateExpiration.Equal(oldExp) || sw2.CertificateSerial != "0b" {
		t.Errorf("unreachable asset = monitored %v, observed %v, expiry %v, serial %q; want its last certificate kept",
			sw2.Monitored, sw2.CertificateObservedAt, sw2.CertificateExpiration, sw2.CertificateSerial)
	}
	if fw1 := get(t, db, "fw1.example.com"); fw1.Monitored || fw1.CertificateExpiration != nil || fw1.CertificateObservedAt != nil {
		t.Errorf("routed asset was watched: %+v", fw1)
	}
	if fw2 := get(t, db, "fw2.example.com"); fw2.Monitored {
		t.Error("routed asset still marked monitored")
	}

	// Seen again: nothing changes but when it was read.
	later := now.Add(time.Hour)
	w.Now = func() time.Time { return later }
	st, err = w.Pass(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if st.Watched != 2 || st.Changed != 0 || st.Failed != 1 || st.Cleared != 0 {
		t.Errorf("second pass stats = %+v", st)
	}
	if got := get(t, db, "sw1.example.com"); !got.CertificateObservedAt.Equal(later) || got.CertificateSerial != "1234" {
		t.Errorf("second pass: observed %v, serial %q", got.CertificateObservedAt, got.CertificateSerial)
	}
}

// TestWatchAlertsOnce: a watched certificate inside the renewal window is
// announced once however many passes (and watchers sharing the store) see
// it, again once when it has expired, and afresh once it is replaced.
func TestWatchAlertsOnce(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := t.Context()
	addAssets(t, db, &ottr.Asset{SystemName: "sw1.example.com", HostPlatform: "nxos"},
		&ottr.Asset{SystemName: "sw9.example.com", HostPlatform: "nxos"})
	// 90 days, 20 left: inside the lifetime rule's 30 days.
	first := leaf(t, 1, "Corp CA", now.Add(-70*24*time.Hour), now.Add(20*24*time.Hour))
	far := leaf(t, 9, "Corp CA", now.Add(-time.Hour), now.Add(300*24*time.Hour))
	fleet := &devices{serves: map[string][]*x509.Certificate{"sw1.example.com": {first}, "sw9.example.com": {far}}}
	n := &warnings{}
	clock := now
	mk := func() *rotate.Watcher {
		return &rotate.Watcher{Assets: db, Observe: fleet.observe, Notifier: n, Now: func() time.Time { return clock }}
	}
	replicas := []*rotate.Watcher{mk(), mk()}
	r := &rotate.Router{Assets: db, Routes: routes(t)}
	pass := func(w *rotate.Watcher) rotate.WatchStats {
		t.Helper()
		st, err := w.Pass(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	if st := pass(replicas[0]); st.Alerted != 1 {
		t.Errorf("first pass alerted %d, want 1", st.Alerted)
	}
	got := n.take()
	if len(got) != 1 || got[0].Asset.SystemName != "sw1.example.com" || got[0].Expired || got[0].NoRoute == nil ||
		got[0].NoRoute.Key != "platform.nxos" || got[0].Reason == "" || !got[0].Asset.CertificateExpiration.Equal(first.NotAfter) {
		t.Fatalf("first warnings = %+v", got)
	}
	for i := range 4 {
		clock = clock.Add(time.Hour)
		pass(replicas[i%2])
	}
	if got := n.take(); len(got) != 0 {
		t.Errorf("warned again on later passes: %+v", got)
	}

	// Expired: once more, then quiet.
	clock = first.NotAfter.Add(time.Hour)
	pass(replicas[1])
	pass(replicas[0])
	if got := n.take(); len(got) != 1 || !got[0].Expired {
		t.Errorf("after expiry: %+v, want one warning that it expired", got)
	}

	// Replaced by another certificate that nears expiry: announced anew.
	second := leaf(t, 2, "Corp CA", clock.Add(-80*24*time.Hour), clock.Add(10*24*time.Hour))
	fleet.mu.Lock()
	fleet.serves["sw1.example.com"] = []*x509.Certificate{second}
	fleet.mu.Unlock()
	pass(replicas[0])
	pass(replicas[1])
	if got := n.take(); len(got) != 1 || got[0].Expired || !got[0].Asset.CertificateExpiration.Equal(second.NotAfter) {
		t.Errorf("after replacement: %+v, want one warning about the new certificate", got)
	}

	// Unreachable now: the recorded certificate still expires, and says so
	// once.
	fleet.mu.Lock()
	fleet.fails = map[string]error{"sw1.example.com": syscall.ECONNREFUSED}
	fleet.mu.Unlock()
	clock = second.NotAfter.Add(time.Minute)
	pass(replicas[1])
	pass(replicas[0])
	if got := n.take(); len(got) != 1 || !got[0].Expired {
		t.Errorf("unreachable and expired: %+v, want one warning that it expired", got)
	}
}

// TestWatchAlertFailure: a warning whose channels fail is not sent again
// (a channel that did take it would repeat it every pass); after a few
// failures in a row the rest wait for the next pass, unclaimed.
func TestWatchAlertFailure(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := t.Context()
	fleet := &devices{serves: map[string][]*x509.Certificate{}}
	for i := range 5 {
		name := fmt.Sprintf("sw%d.example.com", i)
		addAssets(t, db, &ottr.Asset{SystemName: name, HostPlatform: "nxos"})
		fleet.serves[name] = []*x509.Certificate{leaf(t, int64(i+1), "Corp CA", now.Add(-80*24*time.Hour), now.Add(5*24*time.Hour))}
	}
	n := &warnings{fail: errors.New("slack answered 500")}
	w := &rotate.Watcher{Assets: db, Observe: fleet.observe, Notifier: n, Now: func() time.Time { return now }}
	r := &rotate.Router{Assets: db, Routes: routes(t)}
	st, err := w.Pass(ctx, r)
	if err != nil || st.Alerted != 0 {
		t.Fatalf("pass with a failing notifier: %+v, %v", st, err)
	}
	n.mu.Lock()
	n.fail = nil
	n.mu.Unlock()
	st, err = w.Pass(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	if st.Alerted != 2 || len(n.take()) != 2 {
		t.Errorf("next pass alerted %d, want the 2 never tried (3 failed and are not repeated)", st.Alerted)
	}
	if st, _ := w.Pass(ctx, r); st.Alerted != 0 {
		t.Errorf("third pass alerted %d", st.Alerted)
	}
}
