package redfish

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

type session struct {
	id, token, user string
	created         time.Time
}

// resource is one URI's handlers by method; the request's user is known
// (or the route is open).
type resource map[string]func(w http.ResponseWriter, r *http.Request, user string)

const (
	root        = "/redfish/v1/"
	sessionsURI = "/redfish/v1/SessionService/Sessions"
	certSvcURI  = "/redfish/v1/CertificateService"
	managersURI = "/redfish/v1/Managers"
	tasksURI    = "/redfish/v1/TaskService/Tasks"
	monitorsURI = "/redfish/v1/TaskService/TaskMonitors"
)

func (d *Device) managerURI() string { return managersURI + "/" + d.profile.Manager }

func (d *Device) collectionURI() string {
	return d.managerURI() + "/NetworkProtocol/HTTPS/Certificates"
}

// route serves one request: the open resources (version, service root,
// login), then authentication, then the resource's method.
func (d *Device) route(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.settle()
	path := clean(r.URL.Path)
	d.calls = append(d.calls, r.Method+" "+path)
	switch {
	case path == "/redfish" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]string{"v1": root})
		return
	case path == root && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		d.serviceRoot(w, r)
		return
	case path == sessionsURI && r.Method == http.MethodPost:
		d.login(w, r)
		return
	}
	username, ok := d.authenticate(r)
	if !ok {
		w.Header().Set("WWW-Authenticate", `Basic realm="Redfish"`)
		fail(w, http.StatusUnauthorized, msg("NoValidSession"))
		return
	}
	res, typ, name := d.resourceAt(path)
	if res == nil {
		fail(w, http.StatusNotFound, msg("ResourceNotFound", typ, name))
		return
	}
	h := res[r.Method]
	if h == nil && r.Method == http.MethodHead {
		h = res[http.MethodGet]
	}
	if h == nil {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete} {
			if res[m] != nil || (m == http.MethodHead && res[http.MethodGet] != nil) {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		fail(w, http.StatusMethodNotAllowed, msg("OperationNotAllowed"))
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !strings.HasPrefix(path, sessionsURI) &&
		d.users[username].role != "Administrator" {
		// Certificates, resets and the OEM service need ConfigureManager.
		fail(w, http.StatusForbidden, msg("InsufficientPrivilege"))
		return
	}
	h(w, r, username)
}

// resourceAt finds the resource at path, or the type and name a 404 names.
func (d *Device) resourceAt(path string) (resource, string, string) {
	get := func(f func() map[string]any) resource {
		return resource{http.MethodGet: func(w http.ResponseWriter, r *http.Request, _ string) { d.getJSON(w, r, f()) }}
	}
	mgr := d.managerURI()
	switch path {
	case "/redfish/v1/SessionService":
		return get(d.sessionService), "", ""
	case sessionsURI:
		return get(d.sessionCollection), "", ""
	case certSvcURI:
		return get(d.certificateService), "", ""
	case certSvcURI + "/CertificateLocations":
		return get(d.certificateLocations), "", ""
	case certSvcURI + "/Actions/CertificateService.GenerateCSR":
		return resource{http.MethodPost: d.generateCSR}, "", ""
	case certSvcURI + "/Actions/CertificateService.ReplaceCertificate":
		if d.profile.NoReplace {
			return nil, "Action", "CertificateService.ReplaceCertificate"
		}
		return resource{http.MethodPost: d.replaceCertificate}, "", ""
	case managersURI:
		return get(d.managerCollection), "", ""
	case mgr:
		return get(d.manager), "", ""
	case mgr + "/NetworkProtocol":
		return get(d.networkProtocol), "", ""
	case mgr + "/Actions/Manager.Reset":
		return resource{http.MethodPost: d.reset}, "", ""
	case d.collectionURI():
		return resource{http.MethodGet: func(w http.ResponseWriter, r *http.Request, _ string) { d.getJSON(w, r, d.certificateCollection()) },
			http.MethodPost: d.postCertificate}, "", ""
	case d.collectionURI() + "/" + d.https.id:
		return resource{http.MethodGet: d.getCertificate, http.MethodDelete: d.deleteCertificate}, "", ""
	case "/redfish/v1/TaskService":
		return get(d.taskService), "", ""
	case tasksURI:
		return get(d.taskCollection), "", ""
	}
	if id, ok := strings.CutPrefix(path, sessionsURI+"/"); ok && d.sessions[id] != nil {
		return resource{http.MethodGet: func(w http.ResponseWriter, r *http.Request, _ string) { d.getJSON(w, r, d.sessionBody(d.sessions[id])) },
			http.MethodDelete: d.logout}, "", ""
	}
	if id, ok := strings.CutPrefix(path, tasksURI+"/"); ok && d.tasks[id] != nil {
		return get(func() map[string]any { d.tasks[id].poll(); return d.tasks[id].body() }), "", ""
	}
	if id, ok := strings.CutPrefix(path, monitorsURI+"/"); ok && d.tasks[id] != nil {
		return resource{http.MethodGet: d.taskMonitor(d.tasks[id])}, "", ""
	}
	if d.profile.DellOEM {
		if res := d.dellResource(path); res != nil {
			return res, "", ""
		}
	}
	i := strings.LastIndex(path, "/")
	return nil, "Resource", path[i+1:]
}

// getJSON answers a resource with its ETag; If-None-Match with the same
// ETag gets 304.
func (d *Device) getJSON(w http.ResponseWriter, r *http.Request, body map[string]any) {
	tag := etag(body)
	body["@odata.etag"] = tag
	w.Header().Set("ETag", tag)
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == tag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// authenticate accepts a session's X-Auth-Token or HTTP Basic.
func (d *Device) authenticate(r *http.Request) (string, bool) {
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		for _, s := range d.sessions {
			if subtle.ConstantTimeCompare([]byte(s.token), []byte(tok)) == 1 {
				return s.user, true
			}
		}
		return "", false
	}
	if u, p, ok := r.BasicAuth(); ok {
		return u, d.checkPassword(u, p)
	}
	return "", false
}

func (d *Device) checkPassword(username, password string) bool {
	u, ok := d.users[username]
	return ok && !d.faults.BadCredentials && subtle.ConstantTimeCompare([]byte(u.password), []byte(password)) == 1
}

// login is POST to the sessions collection: 201 with X-Auth-Token and
// Location, the Session in the body.
func (d *Device) login(w http.ResponseWriter, r *http.Request) {
	var body map[string]json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&body); err != nil {
		fail(w, http.StatusBadRequest, msg("MalformedJSON"))
		return
	}
	var creds [2]string
	var probs []Message
	for i, k := range []string{"UserName", "Password"} {
		raw, ok := body[k]
		if !ok {
			probs = append(probs, msg("PropertyMissing", k))
			continue
		}
		if err := json.Unmarshal(raw, &creds[i]); err != nil {
			probs = append(probs, msg("PropertyValueTypeError", string(raw), k))
		}
	}
	for k := range body {
		if k != "UserName" && k != "Password" && k != "Context" {
			probs = append(probs, msg("PropertyUnknown", k))
		}
	}
	if len(probs) > 0 {
		fail(w, http.StatusBadRequest, probs...)
		return
	}
	if !d.checkPassword(creds[0], creds[1]) {
		fail(w, http.StatusUnauthorized, msg("ResourceAtUriUnauthorized", sessionsURI, "Unauthorized"))
		return
	}
	tok := make([]byte, 16)
	rand.Read(tok)
	s := &session{id: itoa(d.nextSess), token: hex.EncodeToString(tok), user: creds[0], created: time.Now()}
	d.nextSess++
	d.sessions[s.id] = s
	w.Header().Set("X-Auth-Token", s.token)
	w.Header().Set("Location", sessionsURI+"/"+s.id)
	writeJSON(w, http.StatusCreated, d.sessionBody(s))
}

func (d *Device) logout(w http.ResponseWriter, r *http.Request, _ string) {
	id := strings.TrimPrefix(clean(r.URL.Path), sessionsURI+"/")
	delete(d.sessions, id)
	writeJSON(w, http.StatusOK, map[string]any{"@Message.ExtendedInfo": []Message{msg("Success")}})
}

func (d *Device) sessionBody(s *session) map[string]any {
	return map[string]any{"@odata.id": sessionsURI + "/" + s.id, "@odata.type": "#Session.v1_7_0.Session",
		"Id": s.id, "Name": "User Session", "UserName": s.user, "CreatedTime": s.created.UTC().Format(time.RFC3339)}
}

func (d *Device) sessionService() map[string]any {
	return map[string]any{"@odata.id": "/redfish/v1/SessionService", "@odata.type": "#SessionService.v1_1_9.SessionService",
		"Id": "SessionService", "Name": "Session Service", "ServiceEnabled": true, "SessionTimeout": 1800,
		"Sessions": link(sessionsURI)}
}

func (d *Device) sessionCollection() map[string]any {
	var ids []string
	for id := range d.sessions {
		ids = append(ids, sessionsURI+"/"+id)
	}
	return collection(sessionsURI, "#SessionCollection.SessionCollection", "Session Collection", ids)
}

func (d *Device) serviceRoot(w http.ResponseWriter, r *http.Request) {
	body := map[string]any{"@odata.id": root, "@odata.type": "#ServiceRoot.v1_16_0.ServiceRoot", "Id": "RootService",
		"Name": "Root Service", "RedfishVersion": "1.17.0", "UUID": "92384634-2938-2342-8820-489239905423",
		"Vendor": d.profile.Vendor, "Product": d.profile.Product,
		"SessionService": link("/redfish/v1/SessionService"), "CertificateService": link(certSvcURI),
		"Managers": link(managersURI), "TaskService": link("/redfish/v1/TaskService"),
		"Links": map[string]any{"Sessions": link(sessionsURI)}}
	d.getJSON(w, r, body)
}

func link(uri string) map[string]string { return map[string]string{"@odata.id": uri} }

func collection(uri, typ, name string, members []string) map[string]any {
	ms := make([]map[string]string, 0, len(members))
	for _, m := range members {
		ms = append(ms, link(m))
	}
	return map[string]any{"@odata.id": uri, "@odata.type": typ, "Name": name, "Members": ms, "Members@odata.count": len(ms)}
}
