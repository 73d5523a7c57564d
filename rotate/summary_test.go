package rotate_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/storetest"
	"github.com/ottr-dev/ottr/rotate"
)

// TestSummarizeBoundsItsLists: the lists stop at listMax, longest failure
// streak first, while the totals and state counts cover every asset.
func TestSummarizeBoundsItsLists(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	ctx := t.Context()
	now := time.Now()
	for i := range 7 {
		name := fmt.Sprintf("fw%d.example.com", i)
		a := &ottr.Asset{SystemName: name, CommonName: name, CertificateAuthority: "lets_encrypt", HostPlatform: "panos",
			OSVersion: "10.2.0", DeviceModel: "PA-XXXX", CertificateExpiration: ottr.NewTime(now.Add(-time.Hour))}
		if i < 4 {
			a.LastRotation = &ottr.LastRotation{Time: *ottr.NewTime(now), Status: string(ottr.StateFailed), Error: "install: refused", Failures: i + 1}
		}
		if err := db.CreateAsset(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	r := &rotate.Router{Assets: db, Routes: routes(t)} // no route for PAN-OS 10.2.0
	st, err := rotate.Summarize(ctx, db, db, r.Decider(), 2)
	if err != nil {
		t.Fatal(err)
	}
	if st.Assets != 7 || st.States[ottr.AssetFailing] != 4 || st.States[ottr.AssetUnrouted] != 3 {
		t.Fatalf("states = %v of %d", st.States, st.Assets)
	}
	if st.FailingTotal != 4 || len(st.Failing) != 2 || st.Failing[0].Failures != 4 || st.Failing[1].Failures != 3 {
		t.Fatalf("failing = %d %+v", st.FailingTotal, st.Failing)
	}
	if st.UnroutedTotal != 7 || len(st.Unrouted) != 2 || st.Unrouted[0].MissingKey != "platform.panos.os.10.2.0" {
		t.Fatalf("unrouted = %d %+v", st.UnroutedTotal, st.Unrouted)
	}
	if st.Expiry[0].Label != "expired" || st.Expiry[0].Count != 7 {
		t.Fatalf("expiry = %+v", st.Expiry)
	}
	all, err := rotate.Summarize(ctx, db, db, r.Decider(), 0)
	if err != nil || len(all.Failing) != 4 || len(all.Unrouted) != 7 {
		t.Fatalf("unbounded: %d failing, %d unrouted, %v", len(all.Failing), len(all.Unrouted), err)
	}
}
