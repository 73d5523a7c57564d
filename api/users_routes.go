package api

import (
	"context"
	"fmt"
	"net/http"
	"regexp"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// Authed is embedded in every input that needs a token.
type Authed struct {
	Authorization string `header:"Authorization" doc:"Bearer token from POST /user/v1/authenticate"`
}

// authorize checks the token and that its user (as stored now) has at
// least role need: 401 without a valid token, 403 with too little role.
func (s *Server) authorize(ctx context.Context, a Authed, need ottr.Role) (*ottr.User, error) {
	u, err := s.checkedUser(ctx, a.Authorization)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	if !u.Role.Includes(need) {
		return nil, s.problem(ctx, ottr.Errorf(ottr.EFORBIDDEN, "%s role required (you are %s)", need, u.Role))
	}
	return u, nil
}

// checkedKey holds in a request's context the token bodyLimits checked
// and its user, so that the handler does not check it again.
type checkedKey struct{}

type checkedToken struct {
	header string
	user   *ottr.User
}

// checkToken checks the request's token for bodyLimits: an error (always
// EUNAUTHORIZED) refuses the request; a failure that is not the token's
// (the store unreachable) lets it through to meet the same failure in its
// handler, which answers it as every other handler does.
func (s *Server) checkToken(ctx huma.Context) (huma.Context, error) {
	if s.Tokens == nil {
		return ctx, nil
	}
	header := ctx.Header("Authorization")
	u, err := s.Tokens.Check(ctx.Context(), header)
	if ottr.ErrorCode(err) == ottr.EUNAUTHORIZED {
		return ctx, err
	}
	if err != nil {
		return ctx, nil
	}
	return huma.WithValue(ctx, checkedKey{}, checkedToken{header: header, user: u}), nil
}

// checkedUser is the user of the Authorization header value, as
// checkToken found it for this request or as Tokens.Check finds it now.
func (s *Server) checkedUser(ctx context.Context, header string) (*ottr.User, error) {
	if c, ok := ctx.Value(checkedKey{}).(checkedToken); ok && c.header == header {
		return c.user, nil
	}
	return s.Tokens.Check(ctx, header)
}

// UserListOutput is Ottr's user list: username, role, timestamp.
type UserListOutput struct {
	Body []*ottr.User
}

// CreateUserInput is Ottr's user creation body.
type CreateUserInput struct {
	Authed
	Body struct {
		Username string `json:"username" minLength:"1" maxLength:"128"`
		Password string `json:"password" minLength:"1" maxLength:"1024"`
		Role     string `json:"role" enum:"ADMIN,PRIVILEGED,DEVELOPER"`
	}
}

// CreateUserOutput echoes the user created.
type CreateUserOutput struct {
	Body *ottr.User
}

// DeleteUserInput names the user to delete.
type DeleteUserInput struct {
	Authed
	Username string `path:"username" maxLength:"128" pattern:"^[A-Za-z0-9][A-Za-z0-9._@-]*$" patternDescription:"a user name: letters, digits, '.', '_', '@' and '-'"`
}

// SetRoleInput names a user and the role to give them.
type SetRoleInput struct {
	Authed
	Username string `path:"username" maxLength:"128" pattern:"^[A-Za-z0-9][A-Za-z0-9._@-]*$" patternDescription:"a user name: letters, digits, '.', '_', '@' and '-'"`
	Body     struct {
		Role string `json:"role" enum:"ADMIN,PRIVILEGED,DEVELOPER" doc:"the user's new role; a change revokes the user's tokens"`
	}
}

// SetRoleOutput is the user with their new role.
type SetRoleOutput struct {
	Body *ottr.User
}

var usernameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)

// CheckUsername reports why name (as NormalizeUsername gives it) cannot be
// a user's name: the API's routes take only these characters.
func CheckUsername(field, name string) error {
	if !usernameRE.MatchString(name) {
		return ottr.Invalid("invalid user name", ottr.Problem{Field: field, Message: fmt.Sprintf("%q: use 1-128 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", name)})
	}
	return nil
}

func (s *Server) userRoutes(api huma.API) {
	sec := []map[string][]string{{"bearer": {}}}
	errs := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden}
	huma.Register(api, huma.Operation{OperationID: "list-users", Method: http.MethodGet, Path: "/admin/v1/users",
		Summary: "List users (ADMIN)", Tags: []string{"users"}, Security: sec, Errors: errs},
		func(ctx context.Context, in *struct{ Authed }) (*UserListOutput, error) {
			if _, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin); err != nil {
				return nil, err
			}
			us, err := s.Users.ListUsers(ctx)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			if us == nil {
				us = []*ottr.User{}
			}
			return &UserListOutput{Body: us}, nil
		})
	huma.Register(api, huma.Operation{OperationID: "create-user", Method: http.MethodPost, Path: "/admin/v1/users",
		Summary: "Create a user (ADMIN)", Tags: []string{"users"}, Security: sec, DefaultStatus: http.StatusCreated,
		Errors: append(errs, http.StatusConflict)},
		func(ctx context.Context, in *CreateUserInput) (*CreateUserOutput, error) {
			me, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin)
			if err != nil {
				return nil, err
			}
			// User names are case-insensitive: "ADMIN" is "admin".
			in.Body.Username = ottr.NormalizeUsername(in.Body.Username)
			var probs []ottr.Problem
			if !usernameRE.MatchString(in.Body.Username) {
				probs = append(probs, ottr.Problem{Field: "username", Message: fmt.Sprintf("%q: use letters, digits, '.', '_', '@' or '-'", in.Body.Username)})
			}
			role, err := ottr.ParseRole(in.Body.Role)
			if err != nil {
				probs = append(probs, ottr.Problem{Field: "role", Message: ottr.ErrorMessage(err)})
			}
			if err := CheckPassword("password", in.Body.Password); err != nil {
				probs = append(probs, ottr.ErrorProblems(err)...)
			}
			if len(probs) > 0 {
				return nil, s.problem(ctx, ottr.Invalid("invalid user", probs...))
			}
			hash, err := s.hashPassword(ctx, in.Body.Password)
			if err != nil {
				return nil, s.loginProblem(ctx, err)
			}
			u := &ottr.User{Username: in.Body.Username, Role: role, PasswordHash: hash}
			if err := s.Users.CreateUser(ctx, u); err != nil {
				return nil, s.problem(ctx, err)
			}
			s.audit(ctx, me.Username, "user.create", "user/"+u.Username, nil, u)
			return &CreateUserOutput{Body: u}, nil
		})
	huma.Register(api, huma.Operation{OperationID: "set-user-role", Method: http.MethodPatch, Path: "/admin/v1/users/{username}",
		Summary: "Change a user's role (ADMIN); the last ADMIN keeps ADMIN", Tags: []string{"users"}, Security: sec,
		Errors: append(errs, http.StatusNotFound, http.StatusConflict)},
		func(ctx context.Context, in *SetRoleInput) (*SetRoleOutput, error) {
			me, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin)
			if err != nil {
				return nil, err
			}
			role, err := ottr.ParseRole(in.Body.Role)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			after, before, err := s.Users.SetUserRole(ctx, in.Username, role)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			if after.Role != before.Role {
				s.audit(ctx, me.Username, "user.role", "user/"+after.Username, before, after)
			}
			return &SetRoleOutput{Body: after}, nil
		})
	huma.Register(api, huma.Operation{OperationID: "delete-user", Method: http.MethodDelete, Path: "/admin/v1/users/{username}",
		Summary: "Delete a user (ADMIN)", Tags: []string{"users"}, Security: sec, DefaultStatus: http.StatusNoContent,
		Errors: append(errs, http.StatusNotFound)},
		func(ctx context.Context, in *DeleteUserInput) (*struct{}, error) {
			me, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin)
			if err != nil {
				return nil, err
			}
			in.Username = ottr.NormalizeUsername(in.Username)
			if err := s.Users.DeleteUser(ctx, in.Username); err != nil {
				return nil, s.problem(ctx, err)
			}
			s.audit(ctx, me.Username, "user.delete", "user/"+in.Username, nil, nil)
			return nil, nil
		})
}
