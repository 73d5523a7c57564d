package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// Enqueuer starts rotations: the rotation engine (rotate.Engine).
type Enqueuer interface {
	// Enqueue queues r, or fills it from the asset's live rotation and
	// reports joined.
	Enqueue(ctx context.Context, r *ottr.Rotation) (joined bool, err error)
}

// RotateOutput is the rotation started (or joined).
type RotateOutput struct {
	Location string `header:"Location"`
	Body     struct {
		ID     string     `json:"id"`
		State  ottr.State `json:"state"`
		Joined bool       `json:"joined"`
		Link   string     `json:"link"`
	}
}

func (s *Server) rotateRoutes(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "rotate", Method: http.MethodPost, Path: "/api/v1/certificate/rotate/{system_name}",
		Summary: "Rotate an asset's certificate now (PRIVILEGED, Ottr)", Tags: []string{"rotations"},
		Security: []map[string][]string{{"bearer": {}}}, DefaultStatus: http.StatusAccepted,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusServiceUnavailable}},
		func(ctx context.Context, in *SystemNameInput) (*RotateOutput, error) {
			u, err := s.authorize(ctx, in.Authed, ottr.RolePrivileged)
			if err != nil {
				return nil, err
			}
			a, err := s.Assets.GetAsset(ctx, in.SystemName)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			// Say what is missing before queueing anything: the route and
			// every name's DNS-01 delegation.
			var probs []ottr.Problem
			recipe := ""
			if s.Routes != nil {
				r, err := s.Routes.LookupAsset(a)
				if err != nil {
					var nr *ottr.NoRouteError
					if asNoRoute(err, &nr) {
						probs = append(probs, ottr.Problem{Field: nr.Key, Message: nr.Reason})
					} else {
						return nil, s.problem(ctx, err)
					}
				} else {
					recipe = r.Recipe
				}
			}
			if s.DNS != nil {
				if _, err := ottr.CheckDelegations(ctx, s.DNS, a.Names()); err != nil {
					if ottr.ErrorCode(err) != ottr.EINVALID {
						return nil, s.problem(ctx, err)
					}
					probs = append(probs, ottr.ErrorProblems(err)...)
				}
			}
			if len(probs) > 0 {
				return nil, s.problem(ctx, ottr.Invalid("the asset cannot be rotated yet", probs...))
			}
			if s.Rotations == nil {
				return nil, s.problem(ctx, ottr.Errorf(ottr.EUNAVAILABLE, "no rotation engine runs in this server"))
			}
			r := &ottr.Rotation{SystemName: a.SystemName, Trigger: ottr.TriggerAPI, RequestedBy: u.Username, Recipe: recipe}
			joined, err := s.Rotations.Enqueue(ctx, r)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			if !joined {
				s.audit(ctx, u.Username, "rotation.create", "rotation/"+r.ID, nil, map[string]string{"system_name": r.SystemName})
			}
			out := &RotateOutput{Location: "/api/v1/rotations/" + r.ID}
			out.Body.ID, out.Body.State, out.Body.Joined, out.Body.Link = r.ID, r.State, joined, out.Location
			return out, nil
		})
}
