package lighthouse

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
)

// sessionsAPI serves /sessions and /sessions/{id}. The session token in
// the path is itself the credential for reading or ending that session.
func (d *Device) sessionsAPI(w http.ResponseWriter, r *request) {
	if r.path == "/sessions" {
		if r.Method != http.MethodPost {
			fail(w, http.StatusNotFound, errNotFound(r.Method, r.URL.Path))
			return
		}
		d.login(w, r)
		return
	}
	sid := strings.TrimPrefix(r.path, "/sessions/")
	user, live := d.sessions[sid]
	switch r.Method {
	case http.MethodGet:
		if !live {
			writeJSON(w, http.StatusNotFound, map[string]string{"state": "unknown", "session": sid})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"state": "authenticated", "password_expired": false, "session": sid, "user": user})
	case http.MethodDelete:
		if !live {
			writeJSON(w, http.StatusNotFound, map[string]string{"state": "unknown", "session": sid})
			return
		}
		delete(d.sessions, sid)
		writeJSON(w, http.StatusOK, map[string]string{"session": sid, "success": "true", "state": "deleted", "user": user})
	case http.MethodPut:
		// Challenge responses: sessions here are authenticated by the
		// password alone, so no challenge is ever pending.
		fail(w, http.StatusBadRequest, errBadBody)
	default:
		fail(w, http.StatusNotFound, errNotFound(r.Method, r.URL.Path))
	}
}

func (d *Device) login(w http.ResponseWriter, r *request) {
	var in map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || in == nil {
		fail(w, http.StatusBadRequest, errBadBody)
		return
	}
	var missing []apiErr
	creds := map[string]string{}
	for _, f := range []string{"username", "password"} {
		switch v := in[f].(type) {
		case nil:
			missing = append(missing, errRequired(f))
		case string:
			creds[f] = v
		default:
			missing = append(missing, errWrongType(f))
		}
	}
	if len(missing) > 0 {
		fail(w, http.StatusBadRequest, missing...)
		return
	}
	acct, ok := d.users[creds["username"]]
	if !ok || acct.password != creds["password"] || d.faults.BadCredentials {
		fail(w, http.StatusUnauthorized, errBadLogin)
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	sid := hex.EncodeToString(b)
	d.sessions[sid] = creds["username"]
	writeJSON(w, http.StatusOK, map[string]any{"state": "authenticated", "password_expired": false, "session": sid, "user": creds["username"]})
}
