package metrics_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/metrics"
	"github.com/ottr-dev/ottr/store"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRotations(t *testing.T) {
	m := metrics.NewRotations()
	start := time.Now()
	end := start.Add(42 * time.Second)
	for _, r := range []*ottr.Rotation{
		{State: ottr.StateSucceeded, StartedAt: &start, FinishedAt: &end},
		{State: ottr.StateSucceeded, StartedAt: &start, FinishedAt: &end},
		{State: ottr.StateFailed, StartedAt: &start, FinishedAt: &end},
		{State: ottr.StateRunning}, // not finished: not counted
	} {
		if err := m.Notify(t.Context(), r, &ottr.Asset{HostPlatform: "panos"}); err != nil {
			t.Fatal(err)
		}
	}
	want := `# HELP ottr_rotations_total Rotations finished by this process, by result (succeeded, failed) and platform.
# TYPE ottr_rotations_total counter
ottr_rotations_total{host_platform="panos",result="failed"} 1
ottr_rotations_total{host_platform="panos",result="succeeded"} 2
`
	if err := testutil.CollectAndCompare(m, strings.NewReader(want), "ottr_rotations_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m, "ottr_rotation_duration_seconds"); n != 2 {
		t.Errorf("%d duration series, want one per result", n)
	}
}

func TestExpiry(t *testing.T) {
	s, _ := ottr.NewSealer(bytes.Repeat([]byte{1}, 32))
	db, err := store.Open(t.Context(), store.Config{DataDir: t.TempDir(), Sealer: s})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	exp := ottr.NewTime(time.Unix(1_800_000_000, 0))
	for _, a := range []*ottr.Asset{
		{SystemName: "a.example.com", HostPlatform: "panos", CertificateExpiration: exp},
		{SystemName: "b.example.com", HostPlatform: "f5"},
		{SystemName: "d.example.com", HostPlatform: "nxos", CertificateExpiration: exp, Monitored: true},
		{SystemName: "e.example.com", HostPlatform: "nxos", Monitored: true},
		{SystemName: "c.example.com", HostPlatform: "f5", CertificateExpiration: exp,
			LastRotation: &ottr.LastRotation{Status: string(ottr.StateFailed), Error: "device refused the login"}},
	} {
		a.CommonName, a.CertificateAuthority = a.SystemName, "lets_encrypt"
		if err := db.CreateAsset(t.Context(), a); err != nil {
			t.Fatal(err)
		}
	}
	want := `# HELP ottr_assets Assets by state: never_rotated (no certificate recorded), failing (last rotation failed), ok.
# TYPE ottr_assets gauge
ottr_assets{state="failing"} 1
ottr_assets{state="never_rotated"} 2
ottr_assets{state="ok"} 2
# HELP ottr_assets_monitored Assets no route serves, whose served certificate is only read and recorded.
# TYPE ottr_assets_monitored gauge
ottr_assets_monitored 2
# HELP ottr_certificate_expiry_timestamp_seconds When the certificate on each asset expires (Unix time), as last recorded; mode is rotated (by Ottr) or monitored (no route: only read from the device).
# TYPE ottr_certificate_expiry_timestamp_seconds gauge
ottr_certificate_expiry_timestamp_seconds{host_platform="f5",mode="rotated",system_name="c.example.com"} 1.8e+09
ottr_certificate_expiry_timestamp_seconds{host_platform="nxos",mode="monitored",system_name="d.example.com"} 1.8e+09
ottr_certificate_expiry_timestamp_seconds{host_platform="panos",mode="rotated",system_name="a.example.com"} 1.8e+09
# HELP ottr_inventory_scrape_error 1 if the last reading of the inventory for these metrics failed.
# TYPE ottr_inventory_scrape_error gauge
ottr_inventory_scrape_error 0
`
	if err := testutil.CollectAndCompare(&metrics.Expiry{Assets: db}, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	// An unreadable inventory is reported, not hidden as zero assets.
	broken := `# HELP ottr_inventory_scrape_error 1 if the last reading of the inventory for these metrics failed.
# TYPE ottr_inventory_scrape_error gauge
ottr_inventory_scrape_error 1
`
	if err := testutil.CollectAndCompare(&metrics.Expiry{Assets: failing{db}}, strings.NewReader(broken)); err != nil {
		t.Error(err)
	}
}

type failing struct{ *store.DB }

func (failing) FindAssets(context.Context, ottr.AssetFilter) ([]*ottr.Asset, string, error) {
	return nil, "", errors.New("database is locked")
}
