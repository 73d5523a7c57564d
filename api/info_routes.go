package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// ReadyOutput answers /readyz: the API serves; whether rotations run
// is said beside it, since a server without a CA or a delegate zone
// still serves the API and its docs.
type ReadyOutput struct {
	Body struct {
		Status    string   `json:"status" example:"ready"`
		Rotations string   `json:"rotations,omitempty" enum:"running,paused,off" doc:"running; paused: the router queues nothing; off: see missing"`
		Missing   []string `json:"missing,omitempty" doc:"what the configuration lacks before rotations can run, each with its key"`
	}
}

// RoutesOutput is the route table as Ottr's route.json.
type RoutesOutput struct {
	Body json.RawMessage
}

// RouteCheckInput is a route.json to check.
type RouteCheckInput struct {
	Authed
	RawBody []byte
}

// RouteCheckOutput says a route table is valid.
type RouteCheckOutput struct {
	Body struct {
		Valid     bool     `json:"valid"`
		Platforms []string `json:"platforms"`
	}
}

// CAsOutput lists the configured certificate authorities.
type CAsOutput struct {
	Body []string
}

// DelegationOutput is each name's DNS-01 delegation.
type DelegationOutput struct {
	Body []DelegationResult
}

// DelegationResult is one name's CNAME chain and whether it is usable.
type DelegationResult struct {
	Name  string   `json:"name"`
	OK    bool     `json:"ok"`
	Chain []string `json:"chain"`
	Zone  string   `json:"zone,omitempty"`
	Error string   `json:"error,omitempty"`
}

func (s *Server) infoRoutes(api huma.API) {
	sec := []map[string][]string{{"bearer": {}}}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden}
	huma.Register(api, huma.Operation{OperationID: "readyz", Method: http.MethodGet, Path: "/readyz",
		Summary: "Readiness: the database answers; whether rotations run, and what they lack", Tags: []string{"health"}, Errors: []int{http.StatusServiceUnavailable}},
		func(ctx context.Context, _ *struct{}) (*ReadyOutput, error) {
			if s.Ready != nil {
				if err := s.Ready(ctx); err != nil {
					return nil, huma.Error503ServiceUnavailable("not ready: " + ottr.ErrorMessage(err))
				}
			}
			out := &ReadyOutput{}
			out.Body.Status = "ready"
			out.Body.Rotations = s.RotationsState
			out.Body.Missing = s.RotationsMissing
			return out, nil
		})
	huma.Register(api, huma.Operation{OperationID: "get-routes", Method: http.MethodGet, Path: "/api/v1/routes",
		Summary: "The route table, as route.json (DEVELOPER)", Tags: []string{"routes"}, Security: sec, Errors: errs},
		func(ctx context.Context, in *struct{ Authed }) (*RoutesOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleDeveloper); err != nil {
				return nil, err
			}
			if s.Routes == nil {
				return nil, s.problem(ctx, ottr.Errorf(ottr.ENOTFOUND, "no route table is configured"))
			}
			b, err := json.Marshal(s.Routes)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return &RoutesOutput{Body: b}, nil
		})
	huma.Register(api, huma.Operation{OperationID: "check-routes", Method: http.MethodPost, Path: "/api/v1/routes/validate",
		Summary: "Check a route.json; every problem with its JSON path (DEVELOPER)", Tags: []string{"routes"}, Security: sec, Errors: errs},
		func(ctx context.Context, in *RouteCheckInput) (*RouteCheckOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleDeveloper); err != nil {
				return nil, err
			}
			rt, err := ottr.ParseRouteTable(bytes.NewReader(in.RawBody))
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			out := &RouteCheckOutput{}
			out.Body.Valid, out.Body.Platforms = true, rt.PlatformNames()
			return out, nil
		})
	huma.Register(api, huma.Operation{OperationID: "list-cas", Method: http.MethodGet, Path: "/api/v1/certificate-authorities",
		Summary: "Configured certificate authorities (DEVELOPER)", Tags: []string{"routes"}, Security: sec, Errors: errs},
		func(ctx context.Context, in *struct{ Authed }) (*CAsOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleDeveloper); err != nil {
				return nil, err
			}
			out := &CAsOutput{Body: append([]string{}, s.CAs...)}
			return out, nil
		})
	huma.Register(api, huma.Operation{OperationID: "check-delegation", Method: http.MethodGet, Path: "/api/v1/assets/{system_name}/delegation",
		Summary: "Each of an asset's names: its _acme-challenge CNAME chain and whether it lands in a delegate zone (DEVELOPER)",
		Tags:    []string{"assets"}, Security: sec, Errors: append(errs, http.StatusNotFound, http.StatusServiceUnavailable)},
		func(ctx context.Context, in *SystemNameInput) (*DelegationOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleDeveloper); err != nil {
				return nil, err
			}
			a, err := s.Assets.GetAsset(ctx, in.SystemName)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			if s.DNS == nil {
				return nil, s.problem(ctx, ottr.Errorf(ottr.EUNAVAILABLE, "no delegate zones are configured (dns.zones)"))
			}
			out := &DelegationOutput{Body: []DelegationResult{}}
			for _, n := range a.Names() {
				d, err := s.DNS.Delegate(ctx, n)
				r := DelegationResult{Name: n, OK: err == nil, Chain: d.Chain, Zone: d.Zone}
				if err != nil {
					if ottr.ErrorCode(err) != ottr.EINVALID {
						return nil, s.problem(ctx, err)
					}
					r.Error = ottr.ErrorMessage(err)
				}
				out.Body = append(out.Body, r)
			}
			return out, nil
		})
}
