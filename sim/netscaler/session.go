package netscaler

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"
	"time"
)

// session is a NITRO session from POST /login.
type session struct {
	user    string
	timeout time.Duration
	last    time.Time
}

func (d *Device) expired(s *session) bool {
	return time.Since(s.last) > s.timeout
}

// lifetime is how long an idle session lasts.
func (d *Device) lifetime(asked int) time.Duration {
	if d.faults.SessionLifetime > 0 {
		return d.faults.SessionLifetime
	}
	if asked > 0 {
		return time.Duration(asked) * time.Second
	}
	return 30 * time.Minute
}

// login starts a session: 201 with the session ID in the body and in the
// NITRO_AUTH_TOKEN cookie, or 401 errorcode 354.
func (d *Device) login(w http.ResponseWriter, r *http.Request, req request) {
	if r.Method != http.MethodPost {
		writeErr(w, errMethod)
		return
	}
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
		Timeout  int    `json:"timeout"`
	}
	if e := req.object(&in); e != nil {
		writeErr(w, e)
		return
	}
	if in.Username == "" {
		writeErr(w, errArgMissing("username"))
		return
	}
	if want, ok := d.users[in.Username]; !ok || want != in.Password || d.faults.BadCredentials {
		writeErr(w, errBadLogin)
		return
	}
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	id := "##" + strings.ToUpper(hex.EncodeToString(b))
	d.sessions[id] = &session{user: in.Username, timeout: d.lifetime(in.Timeout), last: time.Now()}
	http.SetCookie(w, &http.Cookie{Name: "NITRO_AUTH_TOKEN", Value: id, Path: "/nitro/v1", Secure: true, HttpOnly: true})
	writeJSON(w, http.StatusCreated, map[string]any{"errorcode": 0, "message": "Done", "severity": "NONE", "sessionid": id})
}

// logout ends the session named by the request's cookie.
func (d *Device) logout(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeErr(w, errMethod)
		return
	}
	id := sessionID(r)
	s, ok := d.sessions[id]
	if !ok || d.expired(s) {
		writeErr(w, errSessionGone)
		return
	}
	delete(d.sessions, id)
	writeJSON(w, http.StatusCreated, map[string]any{"errorcode": 0, "message": "Done", "severity": "NONE"})
}

// sessionID is the session a request carries: the NITRO_AUTH_TOKEN cookie
// or, as older clients send it, a sessionid cookie.
func sessionID(r *http.Request) string {
	for _, name := range []string{"NITRO_AUTH_TOKEN", "sessionid"} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// authenticate accepts X-NITRO-USER/X-NITRO-PASS or a live session, and
// keeps a used session alive.
func (d *Device) authenticate(r *http.Request) *nitroErr {
	if u := r.Header.Get("X-NITRO-USER"); u != "" {
		if want, ok := d.users[u]; !ok || want != r.Header.Get("X-NITRO-PASS") || d.faults.BadCredentials {
			return errBadLogin
		}
		return nil
	}
	id := sessionID(r)
	if id == "" {
		return errNotLoggedIn
	}
	s, ok := d.sessions[id]
	if !ok || d.expired(s) {
		return errSessionGone
	}
	if d.faults.BadCredentials {
		// The account was locked or its password changed: its sessions end.
		delete(d.sessions, id)
		return errSessionGone
	}
	s.last = time.Now()
	return nil
}
