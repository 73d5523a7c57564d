package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// audit records a change made through the API. Values are marshalled as
// their JSON forms, which never include secrets (ottr.User omits its hash).
func (s *Server) audit(ctx context.Context, actor, action, resource string, before, after any) {
	if s.Audit == nil {
		return
	}
	raw := func(v any) json.RawMessage {
		if v == nil {
			return nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil
		}
		return b
	}
	e := &ottr.Event{Actor: actor, Action: action, Resource: resource, Before: raw(before), After: raw(after)}
	if err := s.Audit.RecordEvent(context.WithoutCancel(ctx), e); err != nil {
		s.logger().Error("audit event not recorded", "action", action, "resource", resource, "err", err)
	}
}

// EventsInput filters the audit log.
type EventsInput struct {
	Authed
	Actor    string    `query:"actor" maxLength:"253" doc:"who: a user name, cli:<os user>, router"`
	Action   string    `query:"action" maxLength:"253" doc:"what, e.g. asset.update, user.role"`
	Resource string    `query:"resource" maxLength:"300" doc:"what it was done to, e.g. asset/<system_name>, user/<username>"`
	Since    time.Time `query:"since" doc:"RFC 3339"`
	Limit    int       `query:"limit" minimum:"0" maximum:"1000" doc:"page size (default 100)"`
	Cursor   string    `query:"cursor" maxLength:"512" doc:"from the Link header of the previous page"`
}

// query rebuilds the filter for the next page's link: a page of an
// actor's events is followed by more of theirs.
func (in *EventsInput) query(cursor string) url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"actor": in.Actor, "action": in.Action, "resource": in.Resource, "cursor": cursor} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if !in.Since.IsZero() {
		q.Set("since", in.Since.Format(time.RFC3339Nano))
	}
	if in.Limit > 0 {
		q.Set("limit", strconv.Itoa(in.Limit))
	}
	return q
}

// EventsOutput is a page of audit events, newest first.
type EventsOutput struct {
	Link string `header:"Link"`
	Body []*ottr.Event
}

func (s *Server) auditRoutes(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "list-events", Method: http.MethodGet, Path: "/admin/v1/events",
		Summary: "Audit log: who changed what, when (ADMIN)", Tags: []string{"audit"},
		Security: []map[string][]string{{"bearer": {}}}, Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden}},
		func(ctx context.Context, in *EventsInput) (*EventsOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin); err != nil {
				return nil, err
			}
			if s.Audit == nil {
				return nil, s.problem(ctx, ottr.Errorf(ottr.EUNAVAILABLE, "no audit log"))
			}
			es, next, err := s.Audit.FindEvents(ctx, ottr.EventFilter{Actor: in.Actor, Action: in.Action, Resource: in.Resource,
				Since: in.Since, Limit: in.Limit, Cursor: in.Cursor})
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			out := &EventsOutput{Body: es}
			if out.Body == nil {
				out.Body = []*ottr.Event{}
			}
			if next != "" {
				out.Link = `</admin/v1/events?` + in.query(next).Encode() + `>; rel="next"`
			}
			return out, nil
		})
}
