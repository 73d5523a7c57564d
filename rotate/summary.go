package rotate

import (
	"context"
	"slices"
	"time"

	"github.com/ottr-dev/ottr"
)

// RotationFinder lists rotations newest first.
type RotationFinder interface {
	FindRotations(ctx context.Context, f ottr.RotationFilter) ([]*ottr.Rotation, string, error)
}

// expiryEdges are the FleetStatus expiry buckets' upper edges from now;
// one bucket before them holds the expired, one after them the rest.
var expiryEdges = []struct {
	label string
	days  int
}{{"7 days", 7}, {"14 days", 14}, {"30 days", 30}, {"60 days", 60}, {"90 days", 90}}

// Summarize counts the inventory as a router pass at d.At would see it:
// each asset in one state (ottr.AssetStates), failing and unrouted assets
// listed (at most listMax of each; listMax <= 0 lists all), how many
// renewals start within 7 and 30 days, certificates by expiry, live
// rotations, and the newest rotation a router pass queued. Assets are
// streamed, so any inventory size is summarised in constant memory apart
// from the lists.
func Summarize(ctx context.Context, assets ottr.AssetScanner, rots RotationFinder, d *Decider, listMax int) (*ottr.FleetStatus, error) {
	at := d.At()
	st := &ottr.FleetStatus{At: at.UTC(), States: map[string]int{},
		Failing: []ottr.FailingAsset{}, Unrouted: []ottr.UnroutedAsset{}}
	for _, s := range ottr.AssetStates {
		st.States[s] = 0
	}
	live := map[string]bool{}
	for _, state := range []ottr.State{ottr.StateQueued, ottr.StateRunning} {
		f := ottr.RotationFilter{State: state, Limit: 500}
		for {
			page, next, err := rots.FindRotations(ctx, f)
			if err != nil {
				return nil, err
			}
			for _, r := range page {
				live[r.SystemName] = true
			}
			if state == ottr.StateQueued {
				st.Queued += len(page)
			} else {
				st.Running += len(page)
			}
			if next == "" || len(page) == 0 {
				break
			}
			f.Cursor = next
		}
	}
	// Newest first: the router's latest rotation is among the last few
	// hundred unless people rotate far more often than the router does.
	newest, _, err := rots.FindRotations(ctx, ottr.RotationFilter{Limit: 500})
	if err != nil {
		return nil, err
	}
	for _, r := range newest {
		if r.Trigger == ottr.TriggerRouter {
			st.LastRouterRotation = &ottr.RouterRotation{Time: ottr.Time{Time: r.CreatedAt}, RotationID: r.ID, SystemName: r.SystemName}
			break
		}
	}
	st.Expiry = make([]ottr.ExpiryBucket, len(expiryEdges)+2)
	st.Expiry[0].Label = "expired"
	edges := make([]time.Time, len(expiryEdges))
	for i, e := range expiryEdges {
		edges[i] = at.Add(time.Duration(e.days) * 24 * time.Hour)
		st.Expiry[i+1].Label, st.Expiry[i+1].Before = e.label, &edges[i]
	}
	st.Expiry[len(st.Expiry)-1].Label = "later"
	err = assets.ScanAssets(ctx, ottr.AssetScan{}, func(as *ottr.Asset) error {
		st.Assets++
		dec, _, noRoute, held := d.Decide(as)
		if held {
			st.Held++
		}
		l := as.LastRotation
		failed := l != nil && l.Status == string(ottr.StateFailed)
		state := ottr.AssetHealthy
		switch {
		case live[as.SystemName]:
			state = ottr.AssetRotating
		case failed:
			state = ottr.AssetFailing
		case dec.Due && noRoute != nil:
			state = ottr.AssetUnrouted
		case dec.Due && as.CertificateExpiration == nil:
			state = ottr.AssetNeverRotated
		case dec.Due:
			state = ottr.AssetDue
		}
		st.States[state]++
		if failed {
			st.Failing = append(st.Failing, ottr.FailingAsset{SystemName: as.SystemName, Failures: l.Failures,
				Error: l.Error, Time: l.Time, RetryAfter: l.RetryAfter, RotationID: l.RotationID})
		}
		if dec.Due && noRoute != nil {
			st.UnroutedTotal++
			if listMax <= 0 || len(st.Unrouted) < listMax {
				st.Unrouted = append(st.Unrouted, ottr.UnroutedAsset{SystemName: as.SystemName, MissingKey: noRoute.Key, Reason: noRoute.Reason})
			}
		}
		if !dec.Due && !dec.RenewAt.IsZero() {
			if dec.RenewAt.Before(at.Add(7 * 24 * time.Hour)) {
				st.DueIn7++
			}
			if dec.RenewAt.Before(at.Add(30 * 24 * time.Hour)) {
				st.DueIn30++
			}
		}
		if x := as.CertificateExpiration; x != nil {
			i := 0
			if !x.Before(at) {
				i = len(edges) + 1
				for j, e := range edges {
					if x.Before(e) {
						i = j + 1
						break
					}
				}
			}
			st.Expiry[i].Count++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// The longest failure streaks first: they have waited longest.
	slices.SortStableFunc(st.Failing, func(x, y ottr.FailingAsset) int { return y.Failures - x.Failures })
	st.FailingTotal = len(st.Failing)
	if listMax > 0 && len(st.Failing) > listMax {
		st.Failing = st.Failing[:listMax]
	}
	return st, nil
}
