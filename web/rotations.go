package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

type rotationListData struct {
	SystemName string
	State      string
	States     []ottr.State
	Rotations  []*ottr.Rotation
	Pager      pager
	Problems   []ottr.Problem
}

var allStates = []ottr.State{ottr.StateQueued, ottr.StateRunning, ottr.StateSucceeded, ottr.StateFailed, ottr.StateCanceled}

func (s *Server) rotationList(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	d := rotationListData{SystemName: strings.TrimSpace(q.Get("system_name")), State: q.Get("state"), States: allStates}
	f := ottr.RotationFilter{SystemName: d.SystemName, State: ottr.State(d.State), Limit: 50, Cursor: q.Get("cursor")}
	if d.State != "" && !f.State.Valid() {
		d.Problems = []ottr.Problem{{Field: "state", Message: fmt.Sprintf("%q is not a rotation state", d.State)}}
		s.render(w, r, http.StatusBadRequest, "rotations", d)
		return
	}
	list, next, err := u.backend.FindRotations(r.Context(), f)
	if ottr.ErrorCode(err) == ottr.EINVALID {
		d.Problems = ottr.ErrorProblems(err)
		if len(d.Problems) == 0 {
			d.Problems = []ottr.Problem{{Message: ottr.ErrorMessage(err)}}
		}
		s.render(w, r, http.StatusBadRequest, "rotations", d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Rotations, d.Pager = list, newPager(q, next)
	s.render(w, r, http.StatusOK, "rotations", d)
}

// stepTiming is how long one step of a rotation took: from its first log
// line to the next step's first line, or to the rotation's end.
type stepTiming struct {
	Step    ottr.Step `json:"step"`
	Started time.Time `json:"started"`
	Took    string    `json:"took"`
	Running bool      `json:"running"`
	Failed  bool      `json:"failed"`
}

func stepTimings(r *ottr.Rotation) []stepTiming {
	var out []stepTiming
	for _, l := range r.Log {
		if l.Step == "" {
			continue
		}
		if len(out) > 0 && out[len(out)-1].Step == l.Step {
			if l.Level == "error" {
				out[len(out)-1].Failed = true
			}
			continue
		}
		out = append(out, stepTiming{Step: l.Step, Started: l.Time, Failed: l.Level == "error"})
	}
	for i := range out {
		var end time.Time
		switch {
		case i+1 < len(out):
			end = out[i+1].Started
		case r.FinishedAt != nil:
			end = *r.FinishedAt
		default:
			out[i].Running = r.State.Live()
			continue
		}
		out[i].Took = durationText(end.Sub(out[i].Started))
	}
	return out
}

type rotationData struct {
	R     *ottr.Rotation
	Steps []stepTiming
	Live  bool
	Lines int
}

func (d rotationData) title() string { return "Rotation of " + d.R.SystemName }

func (s *Server) rotationPage(w http.ResponseWriter, r *http.Request, u *user) {
	rot, err := u.backend.GetRotation(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "rotation", rotationData{R: rot, Steps: stepTimings(rot), Live: rot.State.Live(), Lines: len(rot.Log)})
}

func (s *Server) rotationCancel(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	if _, err := u.backend.CancelRotation(r.Context(), id); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/rotations/"+url.PathEscape(id)+"?done=canceled", http.StatusSeeOther)
}

// streamLife bounds one live-log connection; the browser reconnects
// (EventSource does) and carries on from the last line it had.
const streamLife = 10 * time.Minute

// lineEvent is one log line as the live log sends it.
type lineEvent struct {
	Time    string `json:"time"`
	At      string `json:"at"`
	Step    string `json:"step"`
	Level   string `json:"level"`
	Message string `json:"message"`
}

// stateEvent is a rotation's state as the live log sends it.
type stateEvent struct {
	State    ottr.State   `json:"state"`
	Step     ottr.Step    `json:"step"`
	Error    string       `json:"error,omitempty"`
	Finished string       `json:"finished,omitempty"`
	Steps    []stepTiming `json:"steps"`
}

// rotationEvents streams a rotation's new log lines and state changes as
// server-sent events until it finishes. It asks the API for the rotation
// every PollInterval, so it works on any replica and through the API's
// roles. "after" (or Last-Event-ID on a reconnect) is how many lines the
// page already shows.
func (s *Server) rotationEvents(w http.ResponseWriter, r *http.Request, u *user) {
	id := r.PathValue("id")
	sent := 0
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		sent, _ = strconv.Atoi(v)
	} else if v := r.URL.Query().Get("after"); v != "" {
		sent, _ = strconv.Atoi(v)
	}
	sent = max(sent, 0)
	if !s.openStream(u.sess.ID) {
		http.Error(w, "too many live logs open in this session", http.StatusTooManyRequests)
		return
	}
	defer s.closeStream(u.sess.ID)

	rc := http.NewResponseController(w)
	// The server's write timeout is for pages; a live log lasts longer.
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	_ = rc.Flush()

	ctx := r.Context()
	poll := time.NewTicker(s.c.PollInterval)
	defer poll.Stop()
	deadline := time.NewTimer(streamLife)
	defer deadline.Stop()
	lastBeat := time.Now()
	var last stateEvent
	first := true
	for {
		rot, err := u.backend.GetRotation(ctx, id)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			ev := "problem"
			if ottr.ErrorCode(err) == ottr.EUNAUTHORIZED {
				ev = "signedout"
			}
			writeEvent(w, ev, "", map[string]string{"message": ottr.ErrorMessage(err)})
			_ = rc.Flush()
			return
		}
		if sent > len(rot.Log) {
			sent = len(rot.Log)
		}
		for _, l := range rot.Log[sent:] {
			sent++
			writeEvent(w, "line", strconv.Itoa(sent), lineEvent{Time: l.Time.UTC().Format(time.RFC3339Nano), At: l.Time.UTC().Format("15:04:05"),
				Step: string(l.Step), Level: l.Level, Message: l.Message})
		}
		st := stateEvent{State: rot.State, Step: rot.Step, Error: rot.Error, Steps: stepTimings(rot)}
		if rot.FinishedAt != nil {
			st.Finished = when(rot.FinishedAt)
			if d := took(rot.StartedAt, rot.FinishedAt); d != "" {
				st.Finished += " (took " + d + ")"
			}
		}
		if first || !sameState(st, last) {
			writeEvent(w, "state", strconv.Itoa(sent), st)
			last, first = st, false
		}
		if !rot.State.Live() {
			writeEvent(w, "end", strconv.Itoa(sent), map[string]string{"state": string(rot.State)})
			_ = rc.Flush()
			return
		}
		if time.Since(lastBeat) > 15*time.Second {
			fmt.Fprint(w, ": still running\n\n")
			lastBeat = time.Now()
		}
		if err := rc.Flush(); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-deadline.C:
			return
		case <-poll.C:
		}
	}
}

func sameState(a, b stateEvent) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// writeEvent writes one server-sent event; data is JSON on one line.
func writeEvent(w http.ResponseWriter, event, id string, data any) {
	b, _ := json.Marshal(data)
	if id != "" {
		fmt.Fprintf(w, "id: %s\n", id)
	}
	fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, b)
}

func (s *Server) openStream(sid string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams[sid] >= s.c.StreamLimit {
		return false
	}
	s.streams[sid]++
	return true
}

func (s *Server) closeStream(sid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.streams[sid]--; s.streams[sid] <= 0 {
		delete(s.streams, sid)
	}
}
