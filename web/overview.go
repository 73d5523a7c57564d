package web

import (
	"net/http"
	"sort"
	"time"

	"github.com/ottr-dev/ottr"
)

// stateCard is one count of the overview, linking to where its assets
// are listed.
type stateCard struct {
	State, Label, Link string
	Count              int
}

var stateLabels = map[string]string{
	ottr.AssetHealthy: "Healthy", ottr.AssetDue: "Due", ottr.AssetRotating: "Rotating", ottr.AssetFailing: "Failing",
	ottr.AssetUnrouted: "Unrouted", ottr.AssetNeverRotated: "Never rotated",
}

var stateLinks = map[string]string{
	ottr.AssetRotating: "/rotations?state=running", ottr.AssetFailing: "/rotations?state=failed", ottr.AssetUnrouted: "/unrouted",
}

type overviewData struct {
	S        *ottr.FleetStatus
	Cards    []stateCard
	MaxCount int
	Now      time.Time
}

// overviewList is how many failing assets the overview names.
const overviewList = 10

func (s *Server) overview(w http.ResponseWriter, r *http.Request, u *user) {
	st, err := u.backend.Status(r.Context(), overviewList)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := overviewData{S: st, Now: s.c.Now()}
	for _, state := range ottr.AssetStates {
		d.Cards = append(d.Cards, stateCard{State: state, Label: stateLabels[state], Link: stateLinks[state], Count: st.States[state]})
	}
	for _, b := range st.Expiry {
		d.MaxCount = max(d.MaxCount, b.Count)
	}
	s.render(w, r, http.StatusOK, "overview", d)
}

// unroutedList bounds the unrouted page: the totals count every one.
const unroutedList = 1000

type unroutedData struct {
	Assets []ottr.UnroutedAsset
	Total  int
	ByKey  []keyCount
}

type keyCount struct {
	Key   string
	Count int
}

func (s *Server) unrouted(w http.ResponseWriter, r *http.Request, u *user) {
	st, err := u.backend.Status(r.Context(), unroutedList)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := unroutedData{Assets: st.Unrouted, Total: st.UnroutedTotal}
	n := map[string]int{}
	for _, a := range st.Unrouted {
		n[a.MissingKey]++
	}
	for k, c := range n {
		d.ByKey = append(d.ByKey, keyCount{k, c})
	}
	sort.Slice(d.ByKey, func(i, j int) bool {
		if d.ByKey[i].Count != d.ByKey[j].Count {
			return d.ByKey[i].Count > d.ByKey[j].Count
		}
		return d.ByKey[i].Key < d.ByKey[j].Key
	})
	s.render(w, r, http.StatusOK, "unrouted", d)
}
