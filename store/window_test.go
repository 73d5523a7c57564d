package store

import (
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

// The router's prefilter keeps an asset whose CA opened its renewal window
// early, however far its expiry, and leaves out one whose window has not
// opened, however near its expiry: such an asset is due inside its window.
func TestScanAssetsRenewalWindows(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		day := 24 * time.Hour
		window := func(start, end time.Duration) *ottr.RenewalWindow {
			return &ottr.RenewalWindow{Start: *ottr.NewTime(testNow.Add(start)), End: *ottr.NewTime(testNow.Add(end)), CertID: "x.y"}
		}
		add := func(name string, exp time.Duration, w *ottr.RenewalWindow) {
			a := bareNamed(name)
			if exp != 0 {
				a.CertificateExpiration = ottr.NewTime(testNow.Add(exp))
				a.CertificateNotBefore = ottr.NewTime(testNow.Add(exp - 90*day))
			}
			a.RenewalWindow = w
			if err := db.CreateAsset(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		add("revoked.example.com", 60*day, window(-time.Hour, day))         // window opened early: in
		add("ended.example.com", 20*day, window(-3*day, -day))              // window passed: in
		add("later.example.com", 5*day, window(2*day, 3*day))               // window not open, expiry near: out
		add("later-far.example.com", 60*day, window(20*day, 22*day))        // out
		add("near.example.com", 5*day, nil)                                 // lifetime rule: in
		add("far.example.com", 60*day, nil)                                 // out
		add("new.example.com", 0, nil)                                      // never rotated: in
		add("new-windowed.example.com", 0, window(-time.Hour, 2*time.Hour)) // never rotated: in, once

		wantIn := []string{"ended.example.com", "near.example.com", "new-windowed.example.com", "new.example.com", "revoked.example.com"}
		windows := map[string]*ottr.RenewalWindow{}
		for _, brief := range []bool{true, false} {
			var got []string
			scan := ottr.AssetScan{ExpiringBefore: testNow.Add(33 * day), WindowStartsBefore: testNow, Brief: brief}
			err := db.ScanAssets(ctx, scan, func(a *ottr.Asset) error {
				got = append(got, a.SystemName)
				if w := a.RenewalWindow; w != nil {
					windows[a.SystemName] = &ottr.RenewalWindow{Start: w.Start, End: w.End}
				} else {
					delete(windows, a.SystemName)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(got)
			if d := cmp.Diff(wantIn, got); d != "" {
				t.Errorf("brief=%v: prefiltered scan (-want +got):\n%s", brief, d)
			}
			for _, name := range []string{"revoked.example.com", "ended.example.com", "new-windowed.example.com"} {
				stored, _ := db.GetAsset(ctx, name)
				want := &ottr.RenewalWindow{Start: stored.RenewalWindow.Start, End: stored.RenewalWindow.End}
				if d := cmp.Diff(want, windows[name]); d != "" {
					t.Errorf("brief=%v: %s's window (-want +got):\n%s", brief, name, d)
				}
			}
			if windows["near.example.com"] != nil {
				t.Errorf("brief=%v: a window on an asset without one", brief)
			}
		}
		// Without a prefilter every asset comes, windows read.
		n, withWindow := 0, 0
		if err := db.ScanAssets(ctx, ottr.AssetScan{Brief: true}, func(a *ottr.Asset) error {
			n++
			if a.RenewalWindow != nil {
				withWindow++
			}
			return nil
		}); err != nil || n != 8 || withWindow != 5 {
			t.Errorf("full brief scan: %d assets, %d with windows, %v", n, withWindow, err)
		}
		// A recorded certificate replaces the window, and one without
		// a window clears it.
		if _, err := db.UpdateAsset(ctx, "revoked.example.com", func(a *ottr.Asset) error { a.RenewalWindow = nil; return nil }); err != nil {
			t.Fatal(err)
		}
		if a, _ := db.GetAsset(ctx, "revoked.example.com"); a.RenewalWindow != nil {
			t.Errorf("cleared window still stored: %+v", a.RenewalWindow)
		}
	})
}

func TestRenewalWindowsToCheck(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB) {
		ctx := t.Context()
		for i, check := range []time.Duration{3 * time.Hour, -time.Hour, -3 * time.Hour, 0, -2 * time.Hour} {
			a := bareNamed(fmt.Sprintf("h%d.example.com", i))
			a.CertificateExpiration = ottr.NewTime(testNow.Add(30 * 24 * time.Hour))
			if check != 0 {
				a.RenewalWindow = &ottr.RenewalWindow{Start: *ottr.NewTime(testNow), End: *ottr.NewTime(testNow.Add(time.Hour)),
					CertID: fmt.Sprintf("id%d", i), CheckAfter: *ottr.NewTime(testNow.Add(check))}
			}
			if i == 2 {
				a.Labels = map[string]string{"team": "pki"}
			}
			if err := db.CreateAsset(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.RenewalWindowsToCheck(ctx, testNow, 10)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range got {
			names = append(names, a.SystemName+"/"+a.RenewalWindow.CertID)
		}
		// Longest waiting first; not the future check nor the asset
		// without a window.
		if d := cmp.Diff([]string{"h2.example.com/id2", "h4.example.com/id4", "h1.example.com/id1"}, names); d != "" {
			t.Errorf("windows to check (-want +got):\n%s", d)
		}
		if len(got) > 0 && got[0].Labels["team"] != "pki" {
			t.Errorf("labels not read: %+v", got[0])
		}
		if got, _ := db.RenewalWindowsToCheck(ctx, testNow, 2); len(got) != 2 {
			t.Errorf("limit 2 gave %d", len(got))
		}

		// A window still to be learnt (the CA could not be asked when the
		// certificate was recorded) keeps its identifier and check time,
		// is found for the refresh and is no window to the router.
		pending := bareNamed("pending.example.com")
		pending.CertificateExpiration = ottr.NewTime(testNow.Add(60 * 24 * time.Hour))
		pending.RenewalWindow = &ottr.RenewalWindow{CertID: "p.q", CheckAfter: *ottr.NewTime(testNow.Add(-4 * time.Hour))}
		if err := db.CreateAsset(ctx, pending); err != nil {
			t.Fatal(err)
		}
		stored, _ := db.GetAsset(ctx, pending.SystemName)
		if d := cmp.Diff(pending.RenewalWindow, stored.RenewalWindow); d != "" {
			t.Errorf("pending window round trip (-want +got):\n%s", d)
		}
		if got, _ := db.RenewalWindowsToCheck(ctx, testNow, 1); len(got) != 1 || got[0].SystemName != pending.SystemName {
			t.Errorf("pending window not checked first: %v", got)
		}
		err = db.ScanAssets(ctx, ottr.AssetScan{Brief: true}, func(a *ottr.Asset) error {
			if a.SystemName == pending.SystemName && a.RenewalWindow != nil {
				t.Errorf("router sees a window: %+v", a.RenewalWindow)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
