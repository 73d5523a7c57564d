package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// HealthOutput answers GET / and /healthz.
type HealthOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

// AuthenticateInput is Ottr's login body.
type AuthenticateInput struct {
	Body struct {
		Username string `json:"username" minLength:"1" maxLength:"128"`
		Password string `json:"password" minLength:"1" maxLength:"1024"`
	}
}

// AuthenticateOutput carries the token with its "Bearer " prefix, as Ottr
// returned it.
type AuthenticateOutput struct {
	Body struct {
		Token string `json:"token" example:"Bearer eyJhbGciOiJSUzI1NiIs..."`
	}
}

// ChangePasswordInput is Ottr's password change body.
type ChangePasswordInput struct {
	Body struct {
		Username        string `json:"username" minLength:"1" maxLength:"128"`
		Password        string `json:"password" minLength:"1" maxLength:"1024"`
		UpdatedPassword string `json:"updated_password" minLength:"1" maxLength:"1024"`
	}
}

func (s *Server) routes(api huma.API) {
	health := func(context.Context, *struct{}) (*HealthOutput, error) {
		out := &HealthOutput{}
		out.Body.Status = "ok"
		return out, nil
	}
	// Load balancers' default health check asks for "/".
	huma.Register(api, huma.Operation{OperationID: "root", Method: http.MethodGet, Path: "/", Summary: "Health check (Ottr)", Tags: []string{"health"}}, health)
	huma.Register(api, huma.Operation{OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Summary: "Liveness", Tags: []string{"health"}}, health)

	huma.Register(api, huma.Operation{
		OperationID: "authenticate", Method: http.MethodPost, Path: "/user/v1/authenticate",
		Summary: "Log in: returns a bearer token (Ottr)", Tags: []string{"users"},
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable},
	}, s.authenticate)
	huma.Register(api, huma.Operation{
		OperationID: "change-password", Method: http.MethodPut, Path: "/user/v1/authenticate",
		Summary: "Change one's password (Ottr)", Tags: []string{"users"}, DefaultStatus: http.StatusNoContent,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable},
	}, s.changePassword)
	s.logoutRoutes(api)
	s.userRoutes(api)
	s.unlockRoutes(api)
	s.assetRoutes(api)
	s.assetUpdateRoutes(api)
	s.rotateRoutes(api)
	s.rotationRoutes(api)
	s.auditRoutes(api)
	s.infoRoutes(api)
	s.statusRoutes(api)
	s.policyRoutes(api)
	s.trustRoutes(api)
	s.credentialRoutes(api)
	s.discoverRoutes(api)
}

// loginProblem passes throttling errors through as they are.
func (s *Server) loginProblem(ctx context.Context, err error) error {
	var se huma.StatusError
	if errors.As(err, &se) {
		return err
	}
	return s.problem(ctx, err)
}

func (s *Server) authenticate(ctx context.Context, in *AuthenticateInput) (*AuthenticateOutput, error) {
	u, err := s.login(ctx, in.Body.Username, in.Body.Password)
	if err != nil {
		return nil, s.loginProblem(ctx, err)
	}
	tok, err := s.Tokens.Issue(u)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	out := &AuthenticateOutput{}
	out.Body.Token = "Bearer " + tok
	return out, nil
}

func (s *Server) changePassword(ctx context.Context, in *ChangePasswordInput) (*struct{}, error) {
	u, err := s.login(ctx, in.Body.Username, in.Body.Password)
	if err != nil {
		return nil, s.loginProblem(ctx, err)
	}
	if err := CheckPassword("updated_password", in.Body.UpdatedPassword); err != nil {
		return nil, s.problem(ctx, err)
	}
	hash, err := s.hashPassword(ctx, in.Body.UpdatedPassword)
	if err != nil {
		return nil, s.loginProblem(ctx, err)
	}
	if _, err := s.Users.UpdateUser(ctx, u.Username, func(x *ottr.User) error { x.PasswordHash = hash; return nil }); err != nil {
		return nil, s.problem(ctx, err)
	}
	s.audit(ctx, u.Username, "user.password", "user/"+u.Username, nil, nil)
	return nil, nil
}
