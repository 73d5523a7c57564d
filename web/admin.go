package web

import (
	"net/http"
	"sort"
	"strings"

	"github.com/ottr-dev/ottr"
)

// routeRow is one recipe of the route table: platform, OS version key,
// models, CA and the recipe, with its route.json key.
type routeRow struct {
	Platform, OS, CA, Recipe, Key string
	Models                        []string
}

type routeData struct {
	Rows          []routeRow
	Pending       []string
	CAs           []string
	Organizations []string
	Zones         []labelPair
	Problem       string
}

func (s *Server) routeTable(w http.ResponseWriter, r *http.Request, u *user) {
	rt, err := u.backend.Routes(r.Context())
	if ottr.ErrorCode(err) == ottr.ENOTFOUND {
		s.render(w, r, http.StatusOK, "routes", routeData{Problem: ottr.ErrorMessage(err)})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := routeData{CAs: rt.CertificateAuthorities, Organizations: rt.CertificateAuthorityOrganization, Zones: pairs(rt.HostedZones)}
	for _, p := range rt.PlatformNames() {
		pl := rt.Platforms[p]
		if pl.Status != "" {
			d.Pending = append(d.Pending, p+" ("+pl.Status+")")
			continue
		}
		oses := make([]string, 0, len(pl.OS))
		for v := range pl.OS {
			oses = append(oses, v)
		}
		sort.Strings(oses)
		for _, v := range oses {
			o := pl.OS[v]
			cas := sortedKeys(o.CertificateAuthority)
			for _, ca := range cas {
				d.Rows = append(d.Rows, routeRow{Platform: p, OS: v, CA: ca, Recipe: o.CertificateAuthority[ca], Models: o.Model,
					Key: "platform." + p + ".os." + v + ".certificate_authority." + ca})
			}
		}
	}
	s.render(w, r, http.StatusOK, "routes", d)
}

type usersData struct {
	Users    []*ottr.User
	Me       string
	Username string
	Role     string
	Errors   fieldErrors
	Message  string
	Problems []ottr.Problem
	// RoleOf is the user whose role change was refused, with why.
	RoleOf, RoleError string
}

func (s *Server) users(w http.ResponseWriter, r *http.Request, u *user) {
	s.showUsers(w, r, u, http.StatusOK, usersData{Role: string(ottr.RoleDeveloper), Errors: fieldErrors{}})
}

func (s *Server) showUsers(w http.ResponseWriter, r *http.Request, u *user, status int, d usersData) {
	list, err := u.backend.ListUsers(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d.Users, d.Me = list, u.Name
	s.render(w, r, status, "users", d)
}

func (s *Server) userCreate(w http.ResponseWriter, r *http.Request, u *user) {
	f := r.PostForm
	d := usersData{Username: strings.TrimSpace(f.Get("username")), Role: f.Get("role"), Errors: fieldErrors{}}
	role, err := ottr.ParseRole(d.Role)
	if err != nil {
		d.Errors.add("role", "choose a role")
	}
	if d.Username == "" {
		d.Errors.add("username", "enter a user name")
	}
	if f.Get("password") == "" {
		d.Errors.add("password", "enter a password")
	}
	if len(d.Errors) > 0 {
		s.showUsers(w, r, u, http.StatusBadRequest, d)
		return
	}
	_, err = u.backend.CreateUser(r.Context(), d.Username, f.Get("password"), role)
	if c := ottr.ErrorCode(err); c == ottr.EINVALID || c == ottr.ECONFLICT {
		d.Message = ottr.ErrorMessage(err)
		d.Problems = placeProblems(err, d.Errors, func(f string) bool { return f == "username" || f == "password" || f == "role" })
		if c == ottr.ECONFLICT {
			d.Errors.add("username", ottr.ErrorMessage(err))
		}
		d.Problems = beyond(d.Message, d.Problems)
		s.showUsers(w, r, u, http.StatusBadRequest, d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?done=user-added", http.StatusSeeOther)
}

// userRole gives a user another role; the API refuses to leave no ADMIN.
func (s *Server) userRole(w http.ResponseWriter, r *http.Request, u *user) {
	name := r.PathValue("name")
	role, err := ottr.ParseRole(r.PostForm.Get("role"))
	if err == nil {
		_, err = u.backend.SetUserRole(r.Context(), name, role)
	}
	if c := ottr.ErrorCode(err); c == ottr.EINVALID || c == ottr.ECONFLICT {
		d := usersData{Role: string(ottr.RoleDeveloper), Errors: fieldErrors{}, RoleOf: name, RoleError: ottr.ErrorMessage(err)}
		s.showUsers(w, r, u, status(err), d)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if name == u.Name {
		// A role change revokes the user's tokens, this session's too.
		s.endSession(w, r)
		http.Redirect(w, r, "/login?why=role", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/admin/users?done=role-changed", http.StatusSeeOther)
}

// userUnlock clears a user's failed sign-ins.
func (s *Server) userUnlock(w http.ResponseWriter, r *http.Request, u *user) {
	if err := u.backend.UnlockUser(r.Context(), r.PathValue("name")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?done=user-unlocked", http.StatusSeeOther)
}

// status is the HTTP status of a refusal shown on a form.
func status(err error) int {
	switch ottr.ErrorCode(err) {
	case ottr.ECONFLICT:
		return http.StatusConflict
	case ottr.EFORBIDDEN:
		return http.StatusForbidden
	}
	return http.StatusBadRequest
}

func (s *Server) userDelete(w http.ResponseWriter, r *http.Request, u *user) {
	if err := u.backend.DeleteUser(r.Context(), r.PathValue("name")); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users?done=user-deleted", http.StatusSeeOther)
}
