package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// RotationsInput filters the rotation list.
type RotationsInput struct {
	Authed
	SystemName string `query:"system_name"`
	State      string `query:"state" enum:"queued,running,succeeded,failed,canceled,"`
	Limit      int    `query:"limit" minimum:"0" maximum:"500"`
	Cursor     string `query:"cursor"`
}

// RotationsOutput is a page of rotations, newest first (without logs,
// CSRs or chains); the next page is in the Link header.
type RotationsOutput struct {
	Link string `header:"Link"`
	Body []*ottr.Rotation
}

// RotationIDInput names a rotation.
type RotationIDInput struct {
	Authed
	ID string `path:"id" maxLength:"64"`
}

// RotationOutput is one rotation with its log.
type RotationOutput struct {
	Body *ottr.Rotation
}

func (s *Server) rotationRoutes(api huma.API) {
	sec := []map[string][]string{{"bearer": {}}}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden}
	huma.Register(api, huma.Operation{OperationID: "list-rotations", Method: http.MethodGet, Path: "/api/v1/rotations",
		Summary: "List rotations (DEVELOPER)", Tags: []string{"rotations"}, Security: sec, Errors: append(errs, http.StatusServiceUnavailable)},
		func(ctx context.Context, in *RotationsInput) (*RotationsOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleDeveloper); err != nil {
				return nil, err
			}
			if s.RotationStore == nil {
				return nil, s.problem(ctx, ottr.Errorf(ottr.EUNAVAILABLE, "no rotation store"))
			}
			limit := in.Limit
			if limit == 0 {
				limit = 100
			}
			rs, next, err := s.RotationStore.FindRotations(ctx, ottr.RotationFilter{SystemName: in.SystemName, State: ottr.State(in.State), Limit: limit, Cursor: in.Cursor})
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			for _, r := range rs {
				r.CSR, r.Chain, r.PreviousChain = "", "", ""
			}
			out := &RotationsOutput{Body: rs}
			if out.Body == nil {
				out.Body = []*ottr.Rotation{}
			}
			if next != "" {
				q := url.Values{"cursor": {next}, "limit": {fmt.Sprint(limit)}}
				if in.SystemName != "" {
					q.Set("system_name", in.SystemName)
				}
				if in.State != "" {
					q.Set("state", in.State)
				}
				out.Link = fmt.Sprintf(`</api/v1/rotations?%s>; rel="next"`, q.Encode())
			}
			return out, nil
		})
	huma.Register(api, huma.Operation{OperationID: "get-rotation", Method: http.MethodGet, Path: "/api/v1/rotations/{id}",
		Summary: "A rotation with its log (DEVELOPER)", Tags: []string{"rotations"}, Security: sec, Errors: append(errs, http.StatusNotFound, http.StatusServiceUnavailable)},
		func(ctx context.Context, in *RotationIDInput) (*RotationOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleDeveloper); err != nil {
				return nil, err
			}
			if s.RotationStore == nil {
				return nil, s.problem(ctx, ottr.Errorf(ottr.EUNAVAILABLE, "no rotation store"))
			}
			r, err := s.RotationStore.GetRotation(ctx, in.ID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			s.fillNextAttempt(ctx, r)
			return &RotationOutput{Body: r}, nil
		})
	huma.Register(api, huma.Operation{OperationID: "cancel-rotation", Method: http.MethodPost, Path: "/api/v1/rotations/{id}/cancel",
		Summary: "Cancel a queued or running rotation; it stops between steps (PRIVILEGED)", Tags: []string{"rotations"},
		Security: sec, Errors: append(errs, http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable)},
		func(ctx context.Context, in *RotationIDInput) (*RotationOutput, error) {
			u, err := s.authorize(ctx, in.Authed, ottr.RolePrivileged)
			if err != nil {
				return nil, err
			}
			if s.RotationStore == nil {
				return nil, s.problem(ctx, ottr.Errorf(ottr.EUNAVAILABLE, "no rotation store"))
			}
			r, err := ottr.CancelRotation(ctx, s.RotationStore, in.ID, u.Username, time.Now().UTC())
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			s.audit(ctx, u.Username, "rotation.cancel", "rotation/"+r.ID, nil, map[string]string{"state": string(r.State)})
			return &RotationOutput{Body: r}, nil
		})
}

// NextAttempter tells when a rotation's next attempt is due; the engine
// knows, the rotation row does not.
type NextAttempter interface {
	NextAttempt(ctx context.Context, rotationID string) (time.Time, bool, error)
}

// fillNextAttempt sets when a live rotation whose last attempt failed
// tries again, so a client following it can say so. Best effort: a
// rotation is still worth showing without it.
func (s *Server) fillNextAttempt(ctx context.Context, r *ottr.Rotation) {
	na, ok := s.Rotations.(NextAttempter)
	if !ok || !r.State.Live() || r.Error == "" {
		return
	}
	if at, ok, err := na.NextAttempt(ctx, r.ID); err == nil && ok {
		at = at.UTC()
		r.NextAttemptAt = &at
	}
}
