package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
)

func (s *Server) logoutRoutes(api huma.API) {
	huma.Register(api, huma.Operation{
		OperationID: "logout", Method: http.MethodPost, Path: "/user/v1/logout",
		Summary: "Sign out: revoke the token sent, on every replica (DEVELOPER)", Tags: []string{"users"},
		Security: []map[string][]string{{"bearer": {}}}, DefaultStatus: http.StatusNoContent,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable},
	}, func(ctx context.Context, in *struct{ Authed }) (*struct{}, error) {
		u, err := s.Tokens.Revoke(ctx, in.Authorization)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		s.audit(ctx, u.Username, "user.logout", "user/"+u.Username, nil, nil)
		return nil, nil
	})
}
