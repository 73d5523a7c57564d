package rotate_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/rotate"
)

// sliceScanner is an in-memory ottr.AssetScanner with the store's prefilter
// semantics.
type sliceScanner []*ottr.Asset

func (s sliceScanner) ScanAssets(ctx context.Context, sc ottr.AssetScan, fn func(*ottr.Asset) error) error {
	for _, a := range s {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !sc.ExpiringBefore.IsZero() && a.CertificateExpiration != nil && !a.CertificateExpiration.Before(sc.ExpiringBefore) {
			continue
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

func routes(t *testing.T) *ottr.RouteTable {
	t.Helper()
	f, err := os.Open("../testdata/route.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rt, err := ottr.ParseRouteTable(f)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

var now = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func asset(name, platform, os, model string, expiresIn time.Duration) *ottr.Asset {
	a := &ottr.Asset{SystemName: name, CommonName: name, CertificateAuthority: "lets_encrypt",
		HostPlatform: platform, OSVersion: os, DeviceModel: model}
	if expiresIn != 0 {
		a.CertificateExpiration = ottr.NewTime(now.Add(expiresIn))
	}
	return a
}

func TestRouterPass(t *testing.T) {
	t.Parallel()
	const day = 24 * time.Hour
	inv := sliceScanner{
		asset("new.example.com", "panos", "9.1.0", "PA-XXXX", 0),                 // null → due, routed
		asset("soon.example.com", "f5", "14.1.0", "", 10*day),                    // due, routed
		asset("later.example.com", "f5", "14.1.0", "", 80*day),                   // not due
		asset("win.example.com", "Windows", "2019", "", 0),                       // due, PENDING
		asset("oldpan.example.com", "panos", "7.0.0", "PA-XXXX", 5*day),          // due, unknown os
		asset("model.example.com", "panos", "9.1.0", "PA-ZZZZ", -1*day),          // expired, model not listed
		asset("ubuntu.example.com", "Ubuntu", "18.04", "None", 29*day),           // due, routed
		asset("edge.example.com", "lighthouse", "21.Q2.0", "", 30*day+time.Hour), // not due
	}
	r := &rotate.Router{Assets: inv, Routes: routes(t), Now: func() time.Time { return now }}
	got := map[string]string{}
	st, err := r.Pass(t.Context(), func(c rotate.Candidate) error {
		if c.Route != nil {
			got[c.Asset.SystemName] = "routed " + c.Route.Recipe
		} else {
			got[c.Asset.SystemName] = "unrouted " + c.NoRoute.Key
		}
		if c.Decision.Reason == "" {
			t.Errorf("%s: empty due reason", c.Asset.SystemName)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"new.example.com":    "routed otter-panos-9x-lets-encrypt",
		"soon.example.com":   "routed otter-f5-14x-lets-encrypt",
		"ubuntu.example.com": "routed otter-linux-aws-ssm-lets-encrypt",
		"win.example.com":    "unrouted platform.Windows",
		"oldpan.example.com": "unrouted platform.panos.os.7.0.0",
		"model.example.com":  "unrouted platform.panos.os.9.1.0.model",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("pass (-want +got):\n%s", d)
	}
	if st.Due != 6 || st.Routed != 3 || st.Unrouted != 3 {
		t.Errorf("stats = %+v", st)
	}
	if st.Examined != 6 {
		t.Errorf("examined %d assets; the prefilter should have skipped the two expiring beyond 30 days", st.Examined)
	}
}

func TestRouterPassWithoutTable(t *testing.T) {
	t.Parallel()
	r := &rotate.Router{Assets: sliceScanner{asset("a.example.com", "panos", "9.1.0", "PA-XXXX", 0)}, Now: func() time.Time { return now }}
	var reason string
	if _, err := r.Pass(t.Context(), func(c rotate.Candidate) error { reason = c.NoRoute.Reason; return nil }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(reason, "no route table") {
		t.Errorf("reason %q", reason)
	}
}

func TestRouterPassStopsOnError(t *testing.T) {
	t.Parallel()
	inv := sliceScanner{asset("a.example.com", "f5", "14.1.0", "", 0), asset("b.example.com", "f5", "14.1.0", "", 0)}
	r := &rotate.Router{Assets: inv, Routes: routes(t), Now: func() time.Time { return now }}
	boom := errors.New("boom")
	calls := 0
	_, err := r.Pass(t.Context(), func(rotate.Candidate) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Errorf("err = %v after %d calls; want boom after 1", err, calls)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := r.Pass(ctx, func(rotate.Candidate) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled pass: %v", err)
	}
}
