package web

import (
	"net/http"

	"github.com/ottr-dev/ottr"
)

type accountData struct {
	Errors   fieldErrors
	Message  string
	Problems []ottr.Problem
}

func (s *Server) account(w http.ResponseWriter, r *http.Request, u *user) {
	s.render(w, r, http.StatusOK, "account", accountData{Errors: fieldErrors{}})
}

// accountPassword changes the user's own password. The change revokes
// every token of the user, this session's too, so the session signs in
// again with the new password and carries on.
func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request, u *user) {
	f := r.PostForm
	cur, next := f.Get("password"), f.Get("updated_password")
	d := accountData{Errors: fieldErrors{}}
	if cur == "" {
		d.Errors.add("password", "enter your current password")
	}
	if next == "" {
		d.Errors.add("updated_password", "enter a new password")
	} else if next != f.Get("confirm") {
		d.Errors.add("confirm", "does not match the new password")
	}
	if len(d.Errors) > 0 {
		s.render(w, r, http.StatusBadRequest, "account", d)
		return
	}
	err := u.backend.ChangePassword(r.Context(), u.Name, cur, next)
	switch ottr.ErrorCode(err) {
	case "":
	case ottr.EUNAUTHORIZED:
		d.Errors.add("password", "is not your current password")
		s.render(w, r, http.StatusUnauthorized, "account", d)
		return
	case ottr.EINVALID, ottr.EUNAVAILABLE:
		d.Message = ottr.ErrorMessage(err)
		d.Problems = beyond(d.Message, placeProblems(err, d.Errors, func(f string) bool { return f == "password" || f == "updated_password" }))
		s.render(w, r, status(err), "account", d)
		return
	default:
		s.fail(w, r, err)
		return
	}
	token, err := s.c.Login(r.Context(), u.Name, next)
	if err != nil {
		s.endSession(w, r)
		http.Redirect(w, r, "/login?why=out", http.StatusSeeOther)
		return
	}
	if err := s.startSession(w, r, token); err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, "/account?done=password", http.StatusSeeOther)
}
