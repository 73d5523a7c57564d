// Package web is Ottr's dashboard: server-rendered pages (html/template,
// static files embedded, a little progressive JavaScript) served beside the
// API by the same process. Every page is made from the API's answers
// through a Backend acting with the signed-in user's token, so the
// dashboard has exactly the API's roles, validation and messages; it keeps
// no state of its own but a session cookie, so any replica serves any
// request.
package web

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
)

// Config configures the dashboard.
type Config struct {
	// Connect returns a Backend acting with token (an API token as Login
	// returns it).
	Connect func(token string) Backend
	// Login checks a user's password through the API and returns the
	// token it issues ("Bearer …").
	Login func(ctx context.Context, username, password string) (token string, err error)
	// Key (at least 32 bytes, secret, the same on every replica) encrypts
	// session cookies and signs the forms' CSRF tokens.
	Key []byte
	// SecureCookies marks cookies Secure on plain-HTTP requests too: TLS
	// ends at a proxy in front. Requests that came over TLS always get
	// Secure cookies.
	SecureCookies bool
	// IdleTimeout ends a session not used for that long (0: 30 minutes);
	// a session also ends when its API token expires.
	IdleTimeout time.Duration
	// PollInterval is how often a live rotation's page asks for new log
	// lines (0: one second).
	PollInterval time.Duration
	// StreamLimit bounds one session's open live logs (0: 4).
	StreamLimit int
	// Logger records internal errors; nil discards them.
	Logger *slog.Logger
	// Version is shown in the footer.
	Version string
	// Now is the clock (nil: time.Now).
	Now func() time.Time
}

// Server serves the dashboard.
type Server struct {
	c         Config
	cookieKey []byte
	csrfKey   []byte
	pages     *pages

	mu      sync.Mutex
	streams map[string]int // open live logs per session ID
	done    chan struct{}  // closed by Close: live logs end
	closed  sync.Once
}

// Close ends the open live logs (each browser reconnects to whichever
// replica serves it next), so an HTTP server shutting down is not held up
// by them. Pages are still served.
func (s *Server) Close() {
	s.closed.Do(func() { close(s.done) })
}

// New checks c and returns the dashboard.
func New(c Config) (*Server, error) {
	var probs []ottr.Problem
	if c.Connect == nil {
		probs = append(probs, ottr.Problem{Field: "Connect", Message: "is required"})
	}
	if c.Login == nil {
		probs = append(probs, ottr.Problem{Field: "Login", Message: "is required"})
	}
	if len(c.Key) < 32 {
		probs = append(probs, ottr.Problem{Field: "Key", Message: "must be at least 32 bytes"})
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("dashboard configuration", probs...)
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = 30 * time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.StreamLimit <= 0 {
		c.StreamLimit = 4
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	// One secret, two uses: each gets its own key so neither can stand in
	// for the other.
	ck, err := hkdf.Key(sha256.New, c.Key, nil, "ottr dashboard session cookie", 32)
	if err != nil {
		return nil, err
	}
	xk, err := hkdf.Key(sha256.New, c.Key, nil, "ottr dashboard csrf token", 32)
	if err != nil {
		return nil, err
	}
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	return &Server{c: c, cookieKey: ck, csrfKey: xk, pages: p, streams: map[string]int{}, done: make(chan struct{})}, nil
}

// apiPrefixes are the paths the API owns; the dashboard never answers
// them, whatever the request accepts.
var apiPrefixes = []string{"/api/", "/admin/v1/", "/user/v1/", "/docs", "/openapi", "/swagger.json", "/metrics", "/healthz", "/readyz"}

func isAPIPath(p string) bool {
	for _, pre := range apiPrefixes {
		if p == strings.TrimSuffix(pre, "/") || strings.HasPrefix(p, pre) {
			return true
		}
	}
	return false
}

// wantsHTML reports whether a request comes from a browser: its Accept
// names text/html. API clients (and Ottr's health checks on "/") send
// JSON or nothing.
func wantsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/html") || strings.Contains(v, "application/xhtml+xml") {
			return true
		}
	}
	return false
}

// Handler returns the dashboard in front of api: the dashboard's paths are
// served here, everything else (and "/" for clients that do not ask for
// HTML, as Ottr's health check) by api.
func (s *Server) Handler(api http.Handler) http.Handler {
	mux := s.routes()
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.refuse(w, r, "This form was sent from another site, so it was refused. Open the page in Ottr and send it again.")
	}))
	pages := withPageHeaders(cop.Handler(mux))
	missing := withPageHeaders(http.HandlerFunc(s.notFound))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isAPIPath(r.URL.Path) {
			api.ServeHTTP(w, r)
			return
		}
		if r.URL.Path == "/" && !wantsHTML(r) {
			api.ServeHTTP(w, r)
			return
		}
		if _, pat := mux.Handler(r); pat == "" {
			if wantsHTML(r) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				missing.ServeHTTP(w, r)
				return
			}
			api.ServeHTTP(w, r)
			return
		}
		pages.ServeHTTP(w, r.WithContext(WithClientAddr(r.Context(), r.RemoteAddr)))
	})
}

// csp lets pages load only their own scripts, styles and images: no inline
// script or style, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

func withPageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// same-origin, not no-referrer: under no-referrer a browser sends
		// "Origin: null" with form posts, which reads as cross-origin.
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.loginPost)
	mux.HandleFunc("GET /logout", s.authed(s.logoutPage))
	mux.HandleFunc("POST /logout", s.authed(s.logout))
	mux.HandleFunc("GET /{$}", s.authed(s.overview))
	mux.HandleFunc("GET /assets", s.authed(s.assetList))
	mux.HandleFunc("GET /assets/{name}", s.authed(s.assetPage))
	mux.HandleFunc("GET /assets/{name}/edit", s.authed(s.assetEdit))
	mux.HandleFunc("POST /assets/{name}/edit", s.authed(s.assetEditPost))
	mux.HandleFunc("POST /assets/{name}/delete", s.authed(s.assetDelete))
	mux.HandleFunc("POST /assets/{name}/rotate", s.authed(s.assetRotate))
	mux.HandleFunc("POST /assets/{name}/validation", s.authed(s.assetValidation))
	mux.HandleFunc("GET /rotations", s.authed(s.rotationList))
	mux.HandleFunc("GET /rotations/{id}", s.authed(s.rotationPage))
	mux.HandleFunc("GET /rotations/{id}/events", s.authed(s.rotationEvents))
	mux.HandleFunc("POST /rotations/{id}/cancel", s.authed(s.rotationCancel))
	mux.HandleFunc("GET /unrouted", s.authed(s.unrouted))
	mux.HandleFunc("GET /routes", s.authed(s.routeTable))
	mux.HandleFunc("GET /admin/users", s.authed(s.users))
	mux.HandleFunc("POST /admin/users", s.authed(s.userCreate))
	mux.HandleFunc("POST /admin/users/{name}/delete", s.authed(s.userDelete))
	mux.HandleFunc("POST /admin/users/{name}/role", s.authed(s.userRole))
	mux.HandleFunc("POST /admin/users/{name}/unlock", s.authed(s.userUnlock))
	mux.HandleFunc("GET /admin/events", s.authed(s.events))
	mux.HandleFunc("GET /admin/credentials", s.authed(s.credentials))
	mux.HandleFunc("GET /admin/discover", s.authed(s.discoverPage))
	mux.HandleFunc("POST /admin/discover", s.authed(s.discoverScan))
	mux.HandleFunc("POST /admin/discover/import", s.authed(s.discoverImport))
	mux.HandleFunc("GET /account", s.authed(s.account))
	mux.HandleFunc("POST /account/password", s.authed(s.accountPassword))
	return mux
}

// fail answers a Backend error as a page: the API's own message, with the
// status its code maps to. An expired or revoked token ends the session.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch ottr.ErrorCode(err) {
	case ottr.EUNAUTHORIZED:
		s.endSession(w, r)
		if r.Method == http.MethodGet {
			// The API refused the token: expired, or revoked by a sign-out
			// elsewhere or a password or role change.
			http.Redirect(w, r, loginURL(r.URL.RequestURI(), sessionEnded), http.StatusSeeOther)
			return
		}
		s.render(w, r, http.StatusUnauthorized, "error", errorPage{Title: "Signed out", Message: "Your session has ended; sign in again.", Login: true})
	case ottr.EFORBIDDEN:
		s.render(w, r, http.StatusForbidden, "error", errorPage{Title: "Not allowed", Message: ottr.ErrorMessage(err)})
	case ottr.ENOTFOUND:
		s.render(w, r, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: ottr.ErrorMessage(err)})
	case ottr.EINVALID:
		msg := ottr.ErrorMessage(err)
		s.render(w, r, http.StatusBadRequest, "error", errorPage{Title: "Cannot do that", Message: msg, Problems: beyond(msg, ottr.ErrorProblems(err))})
	case ottr.ECONFLICT:
		s.render(w, r, http.StatusConflict, "error", errorPage{Title: "Conflict", Message: ottr.ErrorMessage(err)})
	case ottr.EUNAVAILABLE:
		s.render(w, r, http.StatusServiceUnavailable, "error", errorPage{Title: "Unavailable", Message: ottr.ErrorMessage(err)})
	default:
		if errors.Is(err, context.Canceled) {
			return
		}
		s.c.Logger.ErrorContext(r.Context(), "dashboard page failed", "path", r.URL.Path, "err", err)
		s.render(w, r, http.StatusInternalServerError, "error", errorPage{Title: "Something went wrong", Message: "An internal error occurred; it has been logged."})
	}
}

// beyond drops the problems a message already says: the API's message is
// often its one problem, which would otherwise be shown twice.
func beyond(msg string, probs []ottr.Problem) []ottr.Problem {
	var out []ottr.Problem
	for _, p := range probs {
		if !strings.Contains(msg, p.String()) {
			out = append(out, p)
		}
	}
	return out
}

// refuse answers a request refused for want of a valid CSRF token or for
// coming from another site.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, msg string) {
	s.render(w, r, http.StatusForbidden, "error", errorPage{Title: "Request refused", Message: msg})
}

// notFound answers a page that does not exist.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, "error", errorPage{Title: "Not found", Message: "There is no page at " + r.URL.Path + "."})
}

// errorPage is the data of the error template.
type errorPage struct {
	Title    string
	Message  string
	Problems []ottr.Problem
	Login    bool
}
