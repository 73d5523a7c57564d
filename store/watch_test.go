package store

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

// TestRecordObservations: a certificate seen again moves only the
// observation time; a new one replaces the recorded certificate, drops
// the old one's renewal window and counts as a change; an asset whose
// rotation was recorded after the reading, or that is gone, is left alone.
func TestRecordObservations(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		same, fresh, rotated, dark := fullAsset("same.example.com"), fullAsset("fresh.example.com"), fullAsset("rotated.example.com"), fullAsset("dark.example.com")
		for _, a := range []*ottr.Asset{same, fresh, rotated, dark} {
			a.Monitored, a.CertificateObservedAt, a.LastRotation = false, nil, nil
			if err := db.CreateAsset(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		rotated.LastRotation = &ottr.LastRotation{Time: *ottr.NewTime(testNow.Add(time.Minute)), Status: "succeeded", RotationID: "r2"}
		if _, err := db.UpdateAsset(ctx, rotated.SystemName, func(a *ottr.Asset) error { a.LastRotation = rotated.LastRotation; return nil }); err != nil {
			t.Fatal(err)
		}
		updatedBefore := func(name string) int64 {
			var v int64
			if err := db.db.QueryRowContext(ctx, db.q(`SELECT updated_at FROM assets WHERE system_name = ?`), name).Scan(&v); err != nil {
				t.Fatal(err)
			}
			return v
		}
		// The clock moves on, so a change of updated_at shows.
		sameUpdated := updatedBefore(same.SystemName)
		db.now = func() time.Time { return testNow.Add(time.Hour) }
		at := testNow.Add(30 * time.Second)
		nb, na := testNow.Add(-time.Hour), testNow.Add(89*24*time.Hour)
		err := db.RecordObservations(ctx, []ottr.Observation{
			{SystemName: same.SystemName, At: at},
			{SystemName: fresh.SystemName, At: at, Changed: true, NotBefore: nb, NotAfter: na, Serial: "ff01", Issuer: "CN=Other CA"},
			{SystemName: rotated.SystemName, At: at, Changed: true, NotBefore: nb, NotAfter: na, Serial: "ff02", Issuer: "CN=Other CA"},
			{SystemName: "gone.example.com", At: at, Changed: true, NotBefore: nb, NotAfter: na, Serial: "ff03"},
			{SystemName: dark.SystemName, At: at, Unread: true},
		})
		if err != nil {
			t.Fatal(err)
		}

		got, _ := db.GetAsset(ctx, same.SystemName)
		want := same.Clone()
		want.Monitored, want.CertificateObservedAt = true, ottr.NewTime(at)
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("certificate seen again (-want +got):\n%s", d)
		}
		if u := updatedBefore(same.SystemName); u != sameUpdated {
			t.Errorf("updated_at moved from %d to %d for a certificate seen again", sameUpdated, u)
		}

		got, _ = db.GetAsset(ctx, fresh.SystemName)
		want = fresh.Clone()
		want.Monitored, want.CertificateObservedAt = true, ottr.NewTime(at)
		want.CertificateNotBefore, want.CertificateExpiration = ottr.NewTime(nb), ottr.NewTime(na)
		want.CertificateSerial, want.CertificateIssuer, want.RenewalWindow = "ff01", "CN=Other CA", nil
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("new certificate (-want +got):\n%s", d)
		}
		if u := updatedBefore(fresh.SystemName); u != ms(testNow.Add(time.Hour)) {
			t.Errorf("updated_at = %d after a new certificate, want the store's now", u)
		}

		got, _ = db.GetAsset(ctx, rotated.SystemName)
		if d := cmp.Diff(rotated, got); d != "" {
			t.Errorf("asset rotated after the reading was changed (-want +got):\n%s", d)
		}
		got, _ = db.GetAsset(ctx, dark.SystemName)
		want = dark.Clone()
		want.Monitored = true
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("certificate not read (-want +got):\n%s", d)
		}
		if _, err := db.GetAsset(ctx, "gone.example.com"); ottr.ErrorCode(err) != ottr.ENOTFOUND {
			t.Errorf("an observation of a deleted asset created it: %v", err)
		}
		if err := db.RecordObservations(ctx, nil); err != nil {
			t.Errorf("no observations: %v", err)
		}
	})
}

// TestClearMonitored: only monitored assets are offered, with their
// routing fields, and only those said to be routed are cleared.
func TestClearMonitored(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		mk := func(name, platform string, monitored bool) {
			a := bareNamed(name)
			a.HostPlatform, a.OSVersion, a.DeviceModel, a.Monitored = platform, "1.0", "M1", monitored
			if err := db.CreateAsset(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		// More than one statement's batch of routed ones.
		for i := range clearBatch + 7 {
			mk(watchName(i), "panos", true)
		}
		mk("odd.example.com", "PENDING", true)
		mk("plain.example.com", "panos", false)
		var offered []string
		n, err := db.ClearMonitored(ctx, func(a *ottr.Asset) bool {
			offered = append(offered, a.SystemName)
			if a.OSVersion != "1.0" || a.DeviceModel != "M1" || a.CertificateAuthority != "lets_encrypt" {
				t.Errorf("routing fields of %s: %+v", a.SystemName, a)
			}
			return a.HostPlatform == "panos"
		})
		if err != nil || n != clearBatch+7 {
			t.Fatalf("cleared %d, %v; want %d", n, err, clearBatch+7)
		}
		if len(offered) != clearBatch+8 {
			t.Errorf("offered %d assets, want the %d monitored ones", len(offered), clearBatch+8)
		}
		for _, c := range []struct {
			name string
			want bool
		}{{watchName(0), false}, {watchName(clearBatch + 6), false}, {"odd.example.com", true}, {"plain.example.com", false}} {
			if a, err := db.GetAsset(ctx, c.name); err != nil || a.Monitored != c.want {
				t.Errorf("%s monitored = %v, %v; want %v", c.name, a.Monitored, err, c.want)
			}
		}
		if n, err := db.ClearMonitored(ctx, func(*ottr.Asset) bool { return true }); err != nil || n != 1 {
			t.Errorf("second clear: %d, %v; want the one left", n, err)
		}
	})
}

func watchName(i int) string { return fmt.Sprintf("fw%04d.example.com", i) }

// TestClaimExpiryAlert: each alert is claimed once per certificate, the
// warning that it nears expiry before the one that it expired, never the
// other way; a certificate the asset no longer records is not alerted
// about, and a new one may be.
func TestClaimExpiryAlert(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		a := bareNamed("watch.example.com")
		first := testNow.Add(10 * 24 * time.Hour)
		a.CertificateExpiration = ottr.NewTime(first)
		if err := db.CreateAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
		claim := func(notAfter time.Time, expired bool) bool {
			t.Helper()
			ok, err := db.ClaimExpiryAlert(ctx, a.SystemName, ottr.ExpiryAlerted{NotAfter: *ottr.NewTime(notAfter), Expired: expired})
			if err != nil {
				t.Fatal(err)
			}
			return ok
		}
		second := testNow.Add(80 * 24 * time.Hour)
		steps := []struct {
			what     string
			notAfter time.Time
			expired  bool
			want     bool
		}{
			{"a certificate the asset does not record", second, false, false},
			{"nears expiry", first, false, true},
			{"nears expiry again", first, false, false},
			{"expired", first, true, true},
			{"expired again", first, true, false},
			{"nears expiry after the expired one", first, false, false},
		}
		for _, s := range steps {
			if got := claim(s.notAfter, s.expired); got != s.want {
				t.Errorf("%s: claimed = %v, want %v", s.what, got, s.want)
			}
		}
		got, _ := db.GetAsset(ctx, a.SystemName)
		if want := (&ottr.ExpiryAlerted{NotAfter: *ottr.NewTime(first), Expired: true}); !cmp.Equal(got.ExpiryAlerted, want) {
			t.Errorf("recorded alert = %+v, want %+v", got.ExpiryAlerted, want)
		}
		// The certificate replaced: its own alerts may go out.
		if err := db.RecordObservations(ctx, []ottr.Observation{{SystemName: a.SystemName, At: testNow, Changed: true,
			NotBefore: testNow, NotAfter: second, Serial: "02"}}); err != nil {
			t.Fatal(err)
		}
		if !claim(second, false) || claim(second, false) {
			t.Error("the replaced certificate's warning is not claimed exactly once")
		}
		if claim(first, true) {
			t.Error("an alert about the certificate replaced was claimed")
		}
		// Expired at first sight: the expired alert alone.
		b := bareNamed("late.example.com")
		b.CertificateExpiration = ottr.NewTime(testNow.Add(-time.Hour))
		if err := db.CreateAsset(ctx, b); err != nil {
			t.Fatal(err)
		}
		x := ottr.ExpiryAlerted{NotAfter: *b.CertificateExpiration, Expired: true}
		if ok, err := db.ClaimExpiryAlert(ctx, b.SystemName, x); err != nil || !ok {
			t.Errorf("expired at first sight: %v, %v", ok, err)
		}
		if ok, _ := db.ClaimExpiryAlert(ctx, b.SystemName, ottr.ExpiryAlerted{NotAfter: x.NotAfter}); ok {
			t.Error("the warning that it nears expiry was claimed after the expired one")
		}
	})
}
