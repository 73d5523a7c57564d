package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// StatusInput bounds the lists of a fleet summary.
type StatusInput struct {
	Authed
	ListLimit int `query:"list_limit" minimum:"1" maximum:"10000" default:"100" doc:"most failing and most unrouted assets listed (the totals count them all)"`
}

// StatusOutput is the fleet summary.
type StatusOutput struct {
	Body *ottr.FleetStatus
}

func (s *Server) statusRoutes(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "get-status", Method: http.MethodGet, Path: "/api/v1/status",
		Summary: "The fleet as the router sees it: assets by state, failing, unrouted, due soon, expiry, the router's last and next pass (DEVELOPER)",
		Tags:    []string{"health"}, Security: []map[string][]string{{"bearer": {}}},
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusServiceUnavailable}},
		func(ctx context.Context, in *StatusInput) (*StatusOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleDeveloper); err != nil {
				return nil, err
			}
			if s.Status == nil {
				return nil, s.problem(ctx, ottr.Errorf(ottr.EUNAVAILABLE, "this server computes no fleet summary"))
			}
			st, err := s.Status(ctx, in.ListLimit)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &StatusOutput{Body: st}, nil
		})
}
