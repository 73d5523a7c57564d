package rotate_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/storetest"
	"github.com/ottr-dev/ottr/rotate"
)

func certIDHasSerial(id, serial string) bool {
	leaf, err := ottr.ParseARICertID(id)
	return err == nil && leaf.SerialNumber.Text(16) == serial
}

// windowIssuer issues through the real issuer and answers renewal windows
// from a script.
type windowIssuer struct {
	ottr.Issuer
	mu     sync.Mutex
	window func(ca, certID string) (ottr.RenewalWindow, error)
	asked  []string
}

func (w *windowIssuer) RenewalWindow(_ context.Context, ca, certID string) (ottr.RenewalWindow, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.asked = append(w.asked, certID)
	return w.window(ca, certID)
}

// A CA that suggests a window gets it followed: the recorded asset carries
// it and the renewal policy decides by it. One that cannot answer leaves
// the certificate's identifier to be asked again within the hour; one
// without ARI leaves the lifetime rule.
func TestRecordKeepsTheCAsWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	start, end := time.Now().Add(-time.Hour).Truncate(time.Second), time.Now().Add(time.Hour).Truncate(time.Second)
	wi := &windowIssuer{Issuer: f.issuer}
	f.rot.Issuer = wi

	rotate := func(t *testing.T, name string) *ottr.Asset {
		t.Helper()
		a := f.device(t, name)
		r := f.queue(t, a)
		if err := f.rot.Run(ctx, r.ID); err != nil {
			_, log := f.get(t, r.ID)
			t.Fatalf("Run: %v\n%s", err, log)
		}
		as, err := f.db.GetAsset(ctx, a.SystemName)
		if err != nil {
			t.Fatal(err)
		}
		return as
	}

	t.Run("window", func(t *testing.T) {
		wi.window = func(_, certID string) (ottr.RenewalWindow, error) {
			return ottr.RenewalWindow{Start: ottr.Time{Time: start}, End: ottr.Time{Time: end}, ExplanationURL: "https://ca.example/incident",
				CheckAfter: ottr.Time{Time: time.Now().Add(2 * time.Hour)}}, nil
		}
		as := rotate(t, "web1")
		w := as.RenewalWindow
		if w == nil || !w.Start.Equal(start) || !w.End.Equal(end) || w.ExplanationURL != "https://ca.example/incident" ||
			!certIDHasSerial(w.CertID, as.CertificateSerial) || time.Until(w.CheckAfter.Time) < 110*time.Minute {
			t.Fatalf("recorded window %+v (serial %s)", w, as.CertificateSerial)
		}
		// The new certificate has most of its life left, yet the CA's
		// window has opened: due now or within the hour, by the window.
		d := ottr.RenewalPolicy{}.Due(as, "", end)
		if !d.Due || !strings.Contains(d.Reason, "renewal window (ARI)") {
			t.Errorf("at the window's end: %v %q", d.Due, d.Reason)
		}
		if d := (ottr.RenewalPolicy{}).Due(as, "", start.Add(-time.Minute)); d.Due {
			t.Errorf("before the window: due (%s)", d.Reason)
		}
	})

	t.Run("CA unavailable", func(t *testing.T) {
		wi.window = func(ca, _ string) (ottr.RenewalWindow, error) {
			return ottr.RenewalWindow{}, ottr.Errorf(ottr.EUNAVAILABLE, "CA %s: 503 Service Unavailable", ca)
		}
		before := time.Now()
		as := rotate(t, "web2")
		w := as.RenewalWindow
		if w == nil || !w.Start.IsZero() || !certIDHasSerial(w.CertID, as.CertificateSerial) ||
			w.CheckAfter.Before(before.Add(59*time.Minute)) || w.CheckAfter.After(time.Now().Add(61*time.Minute)) {
			t.Fatalf("window to ask again: %+v", w)
		}
		if as.LastRotation.Status != string(ottr.StateSucceeded) {
			t.Errorf("a missing window failed the rotation: %+v", as.LastRotation)
		}
		if d := (ottr.RenewalPolicy{}).Due(as, "", time.Now()); d.Due || strings.Contains(d.Reason, "ARI") {
			t.Errorf("without a window the lifetime rule applies: %v %q", d.Due, d.Reason)
		}
	})

	t.Run("CA without ARI", func(t *testing.T) {
		wi.window = func(ca, _ string) (ottr.RenewalWindow, error) {
			return ottr.RenewalWindow{}, ottr.Errorf(ottr.EINVALID, "CA %s does not offer renewal information (ARI)", ca)
		}
		as := rotate(t, "web3")
		if as.RenewalWindow != nil {
			t.Errorf("window %+v from a CA without ARI", as.RenewalWindow)
		}
	})

	t.Run("window after expiry", func(t *testing.T) {
		wi.window = func(string, string) (ottr.RenewalWindow, error) {
			far := time.Now().Add(5 * 365 * 24 * time.Hour)
			return ottr.RenewalWindow{Start: ottr.Time{Time: far}, End: ottr.Time{Time: far.Add(time.Hour)}}, nil
		}
		as := rotate(t, "web4")
		if w := as.RenewalWindow; w == nil || !w.Start.IsZero() {
			t.Errorf("a window past the certificate's life was kept: %+v", w)
		}
	})
}

// refreshEnv is a store with assets holding windows and a CA script.
type refreshEnv struct {
	db interface {
		ottr.AssetStore
		ottr.RenewalWindowFinder
	}
	is  *windowIssuer
	now time.Time
	wr  *rotate.WindowRefresh
}

const (
	idA = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" // serial 87654321
	idB = "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQI"     // serial 102
)

func newRefreshEnv(t *testing.T) *refreshEnv {
	db := storetest.Open(t)
	e := &refreshEnv{db: db, is: &windowIssuer{}, now: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
	e.wr = &rotate.WindowRefresh{Assets: db, Issuer: e.is, Now: func() time.Time { return e.now }}
	return e
}

func (e *refreshEnv) add(t *testing.T, name, serial string, exp time.Duration, w *ottr.RenewalWindow) {
	t.Helper()
	a := &ottr.Asset{SystemName: name, CommonName: name, CertificateAuthority: "le", HostPlatform: "f5",
		CertificateSerial: serial, CertificateExpiration: ottr.NewTime(e.now.Add(exp)), RenewalWindow: w}
	if err := e.db.CreateAsset(t.Context(), a); err != nil {
		t.Fatal(err)
	}
}

func (e *refreshEnv) window(t *testing.T, name string) *ottr.RenewalWindow {
	t.Helper()
	a, err := e.db.GetAsset(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return a.RenewalWindow
}

func TestWindowRefresh(t *testing.T) {
	t.Parallel()
	e := newRefreshEnv(t)
	ctx := t.Context()
	day := 24 * time.Hour
	old := func(check time.Duration) *ottr.RenewalWindow {
		return &ottr.RenewalWindow{Start: *ottr.NewTime(e.now.Add(20 * day)), End: *ottr.NewTime(e.now.Add(22 * day)),
			CertID: idA, CheckAfter: *ottr.NewTime(e.now.Add(check))}
	}
	e.add(t, "revoked.example.com", "87654321", 40*day, old(-time.Minute))
	e.add(t, "fresh.example.com", "87654321", 40*day, old(time.Hour))               // not yet
	e.add(t, "replaced.example.com", "0abc", 40*day, old(-time.Hour))               // window of another certificate
	e.add(t, "expired.example.com", "87654321", -day, old(-2*time.Hour))            // no more checks
	e.add(t, "pending.example.com", "102", 40*day, &ottr.RenewalWindow{CertID: idB, // the CA did not answer at record
		CheckAfter: *ottr.NewTime(e.now.Add(-3 * time.Hour))})
	// The CA pulls the window of the revoked certificate into the past
	// and asks to be checked again in an hour.
	revokedStart, revokedEnd := e.now.Add(-time.Hour), e.now.Add(-time.Minute)
	e.is.window = func(_, certID string) (ottr.RenewalWindow, error) {
		w := ottr.RenewalWindow{Start: ottr.Time{Time: revokedStart}, End: ottr.Time{Time: revokedEnd},
			ExplanationURL: "https://ca.example/revoked", CheckAfter: ottr.Time{Time: e.now.Add(time.Hour)}}
		if certID == idB {
			w.Start, w.End, w.CheckAfter = ottr.Time{Time: e.now.Add(25 * day)}, ottr.Time{Time: e.now.Add(27 * day)}, ottr.Time{}
		}
		return w, nil
	}
	n, err := e.wr.Run(ctx)
	if err != nil || n != 4 {
		t.Fatalf("Run = %d, %v; want 4 windows checked", n, err)
	}
	if len(e.is.asked) != 2 {
		t.Errorf("asked the CA %d times (%v); want the revoked and the pending certificate only", len(e.is.asked), e.is.asked)
	}
	w := e.window(t, "revoked.example.com")
	if w == nil || !w.Start.Equal(revokedStart) || !w.End.Equal(revokedEnd) || w.ExplanationURL != "https://ca.example/revoked" ||
		!w.CheckAfter.Equal(e.now.Add(time.Hour)) || w.CertID != idA {
		t.Errorf("revoked: %+v", w)
	}
	revoked, _ := e.db.GetAsset(ctx, "revoked.example.com")
	if d := (ottr.RenewalPolicy{}).Due(revoked, "", e.now); !d.Due || !strings.Contains(d.Reason, "ended") {
		t.Errorf("revoked certificate with 40 days left: %v %q", d.Due, d.Reason)
	}
	if w := e.window(t, "pending.example.com"); w == nil || !w.Start.Equal(e.now.Add(25*day)) || !w.CheckAfter.Equal(e.now.Add(6*time.Hour)) {
		t.Errorf("pending: %+v (no Retry-After: 6 h)", w)
	}
	if w := e.window(t, "fresh.example.com"); !w.CheckAfter.Equal(e.now.Add(time.Hour)) || !w.Start.Equal(e.now.Add(20*day)) {
		t.Errorf("fresh window changed: %+v", w)
	}
	if w := e.window(t, "replaced.example.com"); w != nil {
		t.Errorf("window of another certificate kept: %+v", w)
	}
	if w := e.window(t, "expired.example.com"); w == nil || !w.CheckAfter.IsZero() || !w.Start.Equal(e.now.Add(20*day)) {
		t.Errorf("expired: %+v; want the window kept and no further checks", w)
	}
	// Nothing is due again until the CA's Retry-After.
	if n, err := e.wr.Run(ctx); n != 0 || err != nil {
		t.Errorf("second Run checked %d, %v", n, err)
	}
}

func TestWindowRefreshFailures(t *testing.T) {
	t.Parallel()
	e := newRefreshEnv(t)
	ctx := t.Context()
	day := 24 * time.Hour
	known := &ottr.RenewalWindow{Start: *ottr.NewTime(e.now.Add(20 * day)), End: *ottr.NewTime(e.now.Add(22 * day)),
		CertID: idA, CheckAfter: *ottr.NewTime(e.now.Add(-time.Minute))}
	e.add(t, "down.example.com", "87654321", 40*day, known)
	e.add(t, "noari.example.com", "102", 40*day, &ottr.RenewalWindow{Start: known.Start, End: known.End, CertID: idB, CheckAfter: known.CheckAfter})
	e.is.window = func(ca, certID string) (ottr.RenewalWindow, error) {
		if certID == idA {
			return ottr.RenewalWindow{}, ottr.Errorf(ottr.EUNAVAILABLE, "CA %s: 503", ca)
		}
		return ottr.RenewalWindow{}, ottr.Errorf(ottr.EINVALID, "CA %s does not offer renewal information (ARI)", ca)
	}
	if n, err := e.wr.Run(ctx); n != 2 || err != nil {
		t.Fatalf("Run = %d, %v", n, err)
	}
	// The window known stays in force; the CA is asked again after an
	// hour, or a day when it refuses ARI.
	if w := e.window(t, "down.example.com"); !w.Start.Equal(known.Start.Time) || !w.CheckAfter.Equal(e.now.Add(time.Hour)) {
		t.Errorf("unavailable: %+v", w)
	}
	if w := e.window(t, "noari.example.com"); !w.Start.Equal(known.Start.Time) || !w.CheckAfter.Equal(e.now.Add(24*time.Hour)) {
		t.Errorf("refused: %+v", w)
	}
}

// A rotation that records a new certificate while the CA is being asked
// about the old one keeps the new certificate's window.
func TestWindowRefreshLeavesAReplacedCertificate(t *testing.T) {
	t.Parallel()
	e := newRefreshEnv(t)
	ctx := t.Context()
	e.add(t, "busy.example.com", "", 40*24*time.Hour, &ottr.RenewalWindow{CertID: idA, CheckAfter: *ottr.NewTime(e.now.Add(-time.Minute))})
	newer := &ottr.RenewalWindow{Start: *ottr.NewTime(e.now.Add(50 * 24 * time.Hour)), End: *ottr.NewTime(e.now.Add(52 * 24 * time.Hour)),
		CertID: idB, CheckAfter: *ottr.NewTime(e.now.Add(6 * time.Hour))}
	e.is.window = func(string, string) (ottr.RenewalWindow, error) {
		if _, err := e.db.UpdateAsset(ctx, "busy.example.com", func(a *ottr.Asset) error { a.RenewalWindow = newer; return nil }); err != nil {
			t.Error(err)
		}
		return ottr.RenewalWindow{Start: ottr.Time{Time: e.now}, End: ottr.Time{Time: e.now.Add(time.Hour)}}, nil
	}
	if _, err := e.wr.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if w := e.window(t, "busy.example.com"); w.CertID != idB || !w.Start.Equal(newer.Start.Time) {
		t.Errorf("the old certificate's window replaced the new one's: %+v", w)
	}
}

// A Run asks for at most Batch windows, longest waiting first.
func TestWindowRefreshIsBounded(t *testing.T) {
	t.Parallel()
	e := newRefreshEnv(t)
	for i := range 5 {
		e.add(t, string(rune('a'+i))+".example.com", "", 40*24*time.Hour,
			&ottr.RenewalWindow{CertID: idA, CheckAfter: *ottr.NewTime(e.now.Add(-time.Duration(i+1) * time.Minute))})
	}
	e.is.window = func(string, string) (ottr.RenewalWindow, error) {
		return ottr.RenewalWindow{Start: ottr.Time{Time: e.now.Add(time.Hour)}, End: ottr.Time{Time: e.now.Add(2 * time.Hour)}}, nil
	}
	e.wr.Batch = 2
	if n, err := e.wr.Run(t.Context()); n != 2 || err != nil {
		t.Fatalf("Run = %d, %v", n, err)
	}
	for i, want := range []bool{false, false, false, true, true} {
		name := string(rune('a'+i)) + ".example.com"
		if got := !e.window(t, name).Start.IsZero(); got != want {
			t.Errorf("%s refreshed = %v, want %v (the two longest waiting)", name, got, want)
		}
	}
}

// The router over the real store: a CA's window opened early brings in a
// certificate far from expiry, and a window not yet open holds back one
// the lifetime rule would renew.
func TestRouterFollowsRenewalWindows(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := t.Context()
	day := 24 * time.Hour
	add := func(name string, exp time.Duration, start, end time.Duration) {
		a := asset(name, "f5", "14.1.0", "", exp)
		a.CertificateNotBefore = ottr.NewTime(now.Add(exp - 90*day))
		if start != end {
			a.RenewalWindow = &ottr.RenewalWindow{Start: *ottr.NewTime(now.Add(start)), End: *ottr.NewTime(now.Add(end)), CertID: idA}
		}
		if err := db.CreateAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	add("revoked.example.com", 60*day, -2*time.Hour, -time.Hour) // window passed: due
	add("early.example.com", 60*day, 0, time.Hour)               // window opens now: due when its point comes
	add("waiting.example.com", 10*day, 2*day, 3*day)             // lifetime rule says due; the window says wait
	add("plain.example.com", 10*day, 0, 0)                       // lifetime rule: due
	add("far.example.com", 60*day, 0, 0)                         // not due
	r := &rotate.Router{Assets: db, Routes: routes(t), Now: func() time.Time { return now.Add(time.Hour) }}
	got := map[string]string{}
	st, err := r.Pass(ctx, func(c rotate.Candidate) error {
		got[c.Asset.SystemName] = c.Decision.Reason
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !strings.Contains(got["revoked.example.com"], "renewal window (ARI)") ||
		!strings.Contains(got["early.example.com"], "renewal window (ARI)") || strings.Contains(got["plain.example.com"], "ARI") {
		t.Errorf("due: %q (stats %+v)", got, st)
	}
	if st.Examined != 3 {
		t.Errorf("examined %d; want the three that can be due", st.Examined)
	}
}
