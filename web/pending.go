package web

import "net/http"

// Temporary until the API client's status, events and credential calls land.
func (s *Server) overview(w http.ResponseWriter, r *http.Request, u *user) {
	http.Redirect(w, r, "/assets", http.StatusSeeOther)
}
func (s *Server) unrouted(w http.ResponseWriter, r *http.Request, u *user)    { s.notFound(w, r) }
func (s *Server) events(w http.ResponseWriter, r *http.Request, u *user)      { s.notFound(w, r) }
func (s *Server) credentials(w http.ResponseWriter, r *http.Request, u *user) { s.notFound(w, r) }
