package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

type eventsData struct {
	Actor, Action, Resource, Since string
	Events                         []eventRow
	Pager                          pager
	Errors                         fieldErrors
	Problems                       []ottr.Problem
}

// eventRow is an audit event with its before and after indented.
type eventRow struct {
	*ottr.Event
	BeforeText, AfterText string
}

func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// eventsPage is how many events a page lists.
const eventsPage = 50

// events lists the audit log (ADMIN), newest first, by actor, action,
// resource and since when.
func (s *Server) events(w http.ResponseWriter, r *http.Request, u *user) {
	q := r.URL.Query()
	d := eventsData{Actor: strings.TrimSpace(q.Get("actor")), Action: strings.TrimSpace(q.Get("action")),
		Resource: strings.TrimSpace(q.Get("resource")), Since: strings.TrimSpace(q.Get("since")), Errors: fieldErrors{}}
	f := ottr.EventFilter{Actor: d.Actor, Action: d.Action, Resource: d.Resource, Limit: eventsPage, Cursor: q.Get("cursor")}
	if d.Since != "" {
		t, err := parseSince(d.Since)
		if err != nil {
			d.Errors.add("since", "enter a date (2006-01-02) or a time (2006-01-02T15:04:05Z)")
			s.render(w, r, http.StatusBadRequest, "events", d)
			return
		}
		f.Since = t
	}
	list, next, err := u.backend.Events(r.Context(), f)
	if ottr.ErrorCode(err) == ottr.EINVALID {
		d.Problems = placeProblems(err, d.Errors, func(f string) bool { return f == "actor" || f == "action" || f == "resource" || f == "since" })
		s.render(w, r, http.StatusBadRequest, "events", d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, e := range list {
		d.Events = append(d.Events, eventRow{Event: e, BeforeText: indentJSON(e.Before), AfterText: indentJSON(e.After)})
	}
	d.Pager = newPager(q, next)
	s.render(w, r, http.StatusOK, "events", d)
}

// parseSince reads a date or an RFC 3339 time, in UTC.
func parseSince(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, v)
}

type credentialsData struct {
	Sets []CredentialSet
}

// credentials lists the credential sets (ADMIN): names, key names and who
// uses each, never a value.
func (s *Server) credentials(w http.ResponseWriter, r *http.Request, u *user) {
	sets, err := u.backend.Credentials(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "credentials", credentialsData{Sets: sets})
}
