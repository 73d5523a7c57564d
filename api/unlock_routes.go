package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"
	"github.com/ottr-dev/ottr"
)

// UnlockUserInput names the user whose failed logins an ADMIN forgives.
type UnlockUserInput struct {
	Authed
	Username string `path:"username" maxLength:"128" pattern:"^[A-Za-z0-9][A-Za-z0-9._@-]*$" patternDescription:"a user name: letters, digits, '.', '_', '@' and '-'"`
}

// unlockRoutes serves the ADMIN's way out of a login lockout, for a user
// whose usual address was made to fail (a shared NAT, a stranger on the
// same network) and who cannot wait out loginWindow.
func (s *Server) unlockRoutes(api huma.API) {
	huma.Register(api, huma.Operation{OperationID: "unlock-user", Method: http.MethodPost, Path: "/admin/v1/users/{username}/unlock",
		Summary:     "Lift a user's login lockouts (ADMIN)",
		Description: "Forgets the user's failed logins at every address and the slowing of logins from new addresses. Failures counted against an address over all users stay until they expire.",
		Tags:        []string{"users"}, Security: []map[string][]string{{"bearer": {}}}, DefaultStatus: http.StatusNoContent,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound}},
		func(ctx context.Context, in *UnlockUserInput) (*struct{}, error) {
			me, err := s.authorize(ctx, in.Authed, ottr.RoleAdmin)
			if err != nil {
				return nil, err
			}
			u, err := s.Users.GetUser(ctx, in.Username)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			s.loginInit()
			s.limits.unlock(u.Username)
			s.audit(ctx, me.Username, "user.unlock", "user/"+u.Username, nil, nil)
			return nil, nil
		})
}
