package web

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// Cookie names. Over TLS the session cookie carries the __Host- prefix, so
// a browser takes it only from this host, Secure and for Path=/.
const (
	sessionCookie       = "ottr_session"
	secureSessionCookie = "__Host-ottr_session"
	loginCookie         = "ottr_login"
	secureLoginCookie   = "__Host-ottr_login"
)

// session is what the encrypted session cookie holds: the API token the
// user signed in with and when it was last used. Nothing else is kept.
type session struct {
	Token string    `json:"t"`
	ID    string    `json:"i"` // random; CSRF tokens are bound to it
	User  string    `json:"u"`
	Role  ottr.Role `json:"r"`
	Exp   int64     `json:"e"` // the token's expiry, Unix seconds
	Seen  int64     `json:"s"` // last request, Unix seconds
}

// user is the signed-in user of one request.
type user struct {
	Name string
	Role ottr.Role
	// CSRF is the token every form of the session carries.
	CSRF    string
	Expires time.Time
	sess    session
	backend Backend
}

// Can reports whether the user's role includes role (ADMIN, PRIVILEGED,
// DEVELOPER). It decides what a page offers; the API decides what is done.
func (u *user) Can(role string) bool { return u != nil && u.Role.Includes(ottr.Role(role)) }

func (s *Server) secure(r *http.Request) bool { return r.TLS != nil || s.c.SecureCookies }

func (s *Server) cookieName(r *http.Request, plain, secure string) string {
	if s.secure(r) {
		return secure
	}
	return plain
}

// seal encrypts v into a cookie value bound to the cookie's name.
func (s *Server) seal(name string, v any) (string, error) {
	plain, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	block, err := aes.NewCipher(s.cookieKey)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, gcm.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(gcm.Seal(nonce, nonce, plain, []byte(name))), nil
}

// open decrypts a cookie value made by seal under the same name.
func (s *Server) open(name, value string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil {
		return err
	}
	block, err := aes.NewCipher(s.cookieKey)
	if err != nil {
		return err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return err
	}
	if len(raw) < gcm.NonceSize() {
		return errors.New("short cookie")
	}
	plain, err := gcm.Open(nil, raw[:gcm.NonceSize()], raw[gcm.NonceSize():], []byte(name))
	if err != nil {
		return err
	}
	return json.Unmarshal(plain, v)
}

func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value string, expires time.Time) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode}
	if !expires.IsZero() {
		c.Expires = expires
	}
	http.SetCookie(w, c)
}

func (s *Server) clearCookie(w http.ResponseWriter, r *http.Request, name string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", HttpOnly: true, Secure: s.secure(r), SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// csrfToken is the synchronizer token of a session (or of a login form's
// nonce): an HMAC of its ID, so it needs no storage.
func (s *Server) csrfToken(id string) string {
	m := hmac.New(sha256.New, s.csrfKey)
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (s *Server) csrfOK(id, got string) bool {
	return id != "" && got != "" && hmac.Equal([]byte(s.csrfToken(id)), []byte(got))
}

// why a request has no session: none, or one that ended.
const (
	noSession   = ""
	sessionIdle = "idle"
	sessionOver = "expired"
	// sessionEnded: the API no longer takes the session's token.
	sessionEnded = "ended"
)

// session reads the request's session; why says why there is none.
func (s *Server) session(r *http.Request) (sess session, why string) {
	name := s.cookieName(r, sessionCookie, secureSessionCookie)
	c, err := r.Cookie(name)
	if err != nil || s.open(name, c.Value, &sess) != nil || sess.Token == "" || sess.ID == "" {
		return session{}, noSession
	}
	now := s.c.Now()
	if now.Unix() >= sess.Exp {
		return session{}, sessionOver
	}
	if now.Sub(time.Unix(sess.Seen, 0)) > s.c.IdleTimeout {
		return session{}, sessionIdle
	}
	return sess, ""
}

func (s *Server) endSession(w http.ResponseWriter, r *http.Request) {
	s.clearCookie(w, r, s.cookieName(r, sessionCookie, secureSessionCookie))
}

// authed runs h for a signed-in user. A GET without a session goes to the
// login page and comes back; any other method without a session, or
// without the session's CSRF token in its form, is refused.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, *user)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, why := s.session(r)
		if sess.Token == "" {
			if why != noSession {
				s.endSession(w, r)
			}
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				if strings.HasSuffix(r.URL.Path, "/events") {
					http.Error(w, "signed out", http.StatusUnauthorized)
					return
				}
				http.Redirect(w, r, loginURL(r.URL.RequestURI(), why), http.StatusSeeOther)
				return
			}
			s.render(w, r, http.StatusUnauthorized, "error", errorPage{Title: "Signed out", Message: "You are not signed in, or your session has ended; sign in again.", Login: true})
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
			if err := r.ParseForm(); err != nil {
				s.render(w, r, http.StatusBadRequest, "error", errorPage{Title: "Cannot do that", Message: "The form could not be read."})
				return
			}
			if !s.csrfOK(sess.ID, r.PostForm.Get("csrf")) {
				s.refuse(w, r, "This form is missing its security token or carries another session's, so it was refused. Reload the page and send it again.")
				return
			}
		}
		now := s.c.Now()
		// Keep an active session alive, without a new cookie on every
		// request.
		if now.Sub(time.Unix(sess.Seen, 0)) > time.Minute {
			sess.Seen = now.Unix()
			if v, err := s.seal(s.cookieName(r, sessionCookie, secureSessionCookie), sess); err == nil {
				s.setCookie(w, r, s.cookieName(r, sessionCookie, secureSessionCookie), v, time.Unix(sess.Exp, 0))
			}
		}
		u := &user{Name: sess.User, Role: sess.Role, CSRF: s.csrfToken(sess.ID), Expires: time.Unix(sess.Exp, 0), sess: sess, backend: s.c.Connect(sess.Token)}
		r = r.WithContext(context.WithValue(r.Context(), userKey{}, u))
		h(w, r, u)
	}
}

type userKey struct{}

// userOf is the signed-in user a page is rendered for, or nil.
func userOf(r *http.Request) *user {
	u, _ := r.Context().Value(userKey{}).(*user)
	return u
}

// loginURL sends a browser to the login page and, once signed in, back to
// next.
func loginURL(next, why string) string {
	q := url.Values{}
	if next != "" && next != "/" {
		q.Set("next", next)
	}
	if why != "" {
		q.Set("why", why)
	}
	if len(q) == 0 {
		return "/login"
	}
	return "/login?" + q.Encode()
}

// safeNext keeps a post-login destination on this site: a path, never a
// scheme-relative or absolute URL.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}

// claims reads the username, role and expiry of an API token. The token is
// not verified here: the API verifies it on every request; these only
// label the session and end it on time.
func claims(token string) (name string, role ottr.Role, exp int64, err error) {
	t := strings.TrimSpace(token)
	if len(t) > 7 && strings.EqualFold(t[:7], "bearer ") {
		t = t[7:]
	}
	parts := strings.Split(t, ".")
	if len(parts) != 3 {
		return "", "", 0, errors.New("token is not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", "", 0, errors.New("token payload is not base64url")
	}
	var c struct {
		Username string    `json:"username"`
		Role     ottr.Role `json:"role"`
		Exp      int64     `json:"exp"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		return "", "", 0, errors.New("token payload is not JSON")
	}
	if c.Exp == 0 || c.Username == "" {
		return "", "", 0, errors.New("token has no username or expiry")
	}
	return c.Username, c.Role, c.Exp, nil
}

// loginData is the login page's data.
type loginData struct {
	Next     string
	Username string
	Message  string
	Error    string
	CSRF     string
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if sess, _ := s.session(r); sess.Token != "" {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	d := loginData{Next: next, CSRF: s.loginNonce(w, r)}
	switch r.URL.Query().Get("why") {
	case sessionIdle:
		d.Message = "You were signed out after a period without activity."
	case sessionOver:
		d.Message = "Your session has expired; sign in again."
	case sessionEnded:
		d.Message = "Your session has ended (it expired, or your password or role changed); sign in again."
	case "out":
		d.Message = "You are signed out."
	case "role":
		d.Message = "Your role changed, which ends your sessions; sign in again."
	}
	s.render(w, r, http.StatusOK, "login", d)
}

// loginNonce returns the login form's CSRF token, bound to a random nonce
// in a cookie of its own (there is no session yet to bind it to).
func (s *Server) loginNonce(w http.ResponseWriter, r *http.Request) string {
	name := s.cookieName(r, loginCookie, secureLoginCookie)
	if c, err := r.Cookie(name); err == nil && len(c.Value) == 22 {
		return s.csrfToken("login:" + c.Value)
	}
	b := make([]byte, 16)
	rand.Read(b)
	n := base64.RawURLEncoding.EncodeToString(b)
	s.setCookie(w, r, name, n, time.Time{})
	return s.csrfToken("login:" + n)
}

func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.render(w, r, http.StatusBadRequest, "error", errorPage{Title: "Cannot sign in", Message: "The form could not be read."})
		return
	}
	name := s.cookieName(r, loginCookie, secureLoginCookie)
	c, err := r.Cookie(name)
	if err != nil || !s.csrfOK("login:"+c.Value, r.PostForm.Get("csrf")) {
		s.refuse(w, r, "The sign-in form is missing its security token (are cookies turned off?). Reload the page and sign in again.")
		return
	}
	d := loginData{Next: safeNext(r.PostForm.Get("next")), Username: r.PostForm.Get("username"), CSRF: s.csrfToken("login:" + c.Value)}
	password := r.PostForm.Get("password")
	if strings.TrimSpace(d.Username) == "" || password == "" {
		d.Error = "Enter your user name and password."
		s.render(w, r, http.StatusBadRequest, "login", d)
		return
	}
	token, err := s.c.Login(r.Context(), d.Username, password)
	if err != nil {
		status := http.StatusUnauthorized
		switch ottr.ErrorCode(err) {
		case ottr.EUNAUTHORIZED:
			d.Error = "Wrong user name or password."
		case ottr.EUNAVAILABLE:
			status = http.StatusServiceUnavailable
			d.Error = ottr.ErrorMessage(err)
		case ottr.EINVALID:
			status = http.StatusBadRequest
			d.Error = ottr.ErrorMessage(err)
		default:
			s.fail(w, r, err)
			return
		}
		s.render(w, r, status, "login", d)
		return
	}
	if err := s.startSession(w, r, token); err != nil {
		s.fail(w, r, err)
		return
	}
	s.clearCookie(w, r, name)
	http.Redirect(w, r, d.Next, http.StatusSeeOther)
}

// startSession sets a new session's cookie for an API token: a new
// session ID, so a new CSRF token.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, token string) error {
	uname, role, exp, err := claims(token)
	if err != nil {
		return err
	}
	id := make([]byte, 16)
	rand.Read(id)
	sess := session{Token: token, ID: base64.RawURLEncoding.EncodeToString(id), User: uname, Role: role, Exp: exp, Seen: s.c.Now().Unix()}
	name := s.cookieName(r, sessionCookie, secureSessionCookie)
	v, err := s.seal(name, sess)
	if err != nil {
		return err
	}
	s.setCookie(w, r, name, v, time.Unix(exp, 0))
	return nil
}

// logoutPage asks to sign out: a link cannot, since signing out is a
// change and changes are forms with their token.
func (s *Server) logoutPage(w http.ResponseWriter, r *http.Request, u *user) {
	s.render(w, r, http.StatusOK, "logout", nil)
}

// logout revokes the session's token through the API and forgets the
// session. The cookie goes even if the API cannot be reached.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, u *user) {
	err := u.backend.Logout(r.Context())
	s.endSession(w, r)
	if err != nil && ottr.ErrorCode(err) != ottr.EUNAUTHORIZED {
		s.c.Logger.WarnContext(r.Context(), "token not revoked at sign-out", "err", err)
	}
	http.Redirect(w, r, "/login?why=out", http.StatusSeeOther)
}
