package redfish

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"time"

	"github.com/ottr-dev/ottr"
)

// replaceCertificate is CertificateService.ReplaceCertificate:
// CertificateString, CertificateType and CertificateUri (the member it
// replaces, which keeps its URI).
func (d *Device) replaceCertificate(w http.ResponseWriter, r *http.Request, _ string) {
	params, ok := d.actionParams(w, r, replaceCert, "CertificateString", "CertificateType", "CertificateUri", "Password")
	if !ok {
		return
	}
	var probs []Message
	for _, k := range []string{"CertificateString", "CertificateType", "CertificateUri"} {
		if _, ok := params[k]; !ok {
			probs = append(probs, msg("ActionParameterMissing", replaceCert, k))
		}
	}
	if _, ok := params["Password"]; ok {
		probs = append(probs, notModelled("The parameter Password (PKCS12)"))
	}
	if raw, ok := params["CertificateUri"]; ok {
		if uri, ok := d.reference(raw); !ok {
			probs = append(probs, msg("ActionParameterValueTypeError", string(raw), "CertificateUri", replaceCert))
		} else if clean(uri) != d.collectionURI()+"/"+d.https.id {
			probs = append(probs, msg("ActionParameterValueError", "CertificateUri", replaceCert))
		}
	}
	if len(probs) > 0 {
		fail(w, http.StatusBadRequest, probs...)
		return
	}
	d.install(w, r, replaceCert, "ReplaceCertificate", params, d.https.id)
}

// postCertificate is POST to the HTTPS collection: the certificate
// becomes its member under a new Id (the collection holds one).
func (d *Device) postCertificate(w http.ResponseWriter, r *http.Request, _ string) {
	params, ok := d.actionParams(w, r, "POST "+d.collectionURI(), "CertificateString", "CertificateType")
	if !ok {
		return
	}
	var probs []Message
	for _, k := range []string{"CertificateString", "CertificateType"} {
		if _, ok := params[k]; !ok {
			probs = append(probs, msg("PropertyMissing", k))
		}
	}
	if len(probs) > 0 {
		fail(w, http.StatusBadRequest, probs...)
		return
	}
	if !d.ifMatch(w, r, d.certificateCollection()) {
		return
	}
	d.install(w, r, "POST "+d.collectionURI(), "CollectionPOST", params, "")
}

// install checks and stores a certificate for the BMC's key, at once or
// as a task: the certificate string must be PEM certificates (no key: the
// key is the BMC's), the leaf's key the one the last GenerateCSR made or
// the one in use. id is the member it replaces ("" for a new member).
func (d *Device) install(w http.ResponseWriter, r *http.Request, action, op string, params map[string]json.RawMessage, id string) {
	var certStr, certType string
	var probs []Message
	if err := json.Unmarshal(params["CertificateString"], &certStr); err != nil {
		probs = append(probs, msg("ActionParameterValueTypeError", string(params["CertificateString"]), "CertificateString", action))
	}
	if err := json.Unmarshal(params["CertificateType"], &certType); err != nil {
		probs = append(probs, msg("ActionParameterValueTypeError", string(params["CertificateType"]), "CertificateType", action))
	} else if !slices.Contains(d.profile.CertificateTypes, certType) {
		probs = append(probs, msg("ActionParameterValueNotInList", certType, "CertificateType", action))
	}
	if len(probs) > 0 {
		fail(w, http.StatusBadRequest, probs...)
		return
	}
	chain, key, m := d.checkCertificate(certStr, certType, action)
	if m != nil {
		fail(w, http.StatusBadRequest, *m)
		return
	}
	if d.faults.DropUpload {
		drop(w)
		return
	}
	if d.fault(w, op) {
		return
	}
	if id == "" {
		id = d.certID()
	}
	p := &pair{id: id, key: key, chain: chain}
	if d.profile.AsyncInstall {
		t := d.newTask("Install certificate", p)
		w.Header().Set("Location", monitorsURI+"/"+t.id)
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusAccepted, t.body())
		return
	}
	d.https = p
	d.installed()
	w.Header().Set("Location", d.collectionURI()+"/"+p.id)
	status := http.StatusOK
	if action != replaceCert {
		status = http.StatusCreated
	}
	writeJSON(w, status, d.certificateBody(p))
}

// checkCertificate parses a certificate string and finds the BMC's key
// for its leaf.
func (d *Device) checkCertificate(s, certType, action string) ([]*x509.Certificate, crypto.Signer, *Message) {
	var blocks []byte
	rest := []byte(s)
	for {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			blocks = append(blocks, pem.EncodeToMemory(b)...)
		default:
			m := notModelled("A " + b.Type + " in CertificateString (keys made off the BMC)")
			return nil, nil, &m
		}
	}
	chain, err := ottr.ParseChain(blocks)
	if err != nil || len(chain) == 0 {
		m := msg("ActionParameterValueFormatError", "<certificate>", "CertificateString", action)
		return nil, nil, &m
	}
	if certType == "PEM" && len(chain) > 1 && slices.Contains(d.profile.CertificateTypes, "PEMchain") {
		m := msg("ActionParameterValueError", "CertificateString", action)
		m.Message += " CertificateType PEM takes one certificate; send a chain as PEMchain."
		return nil, nil, &m
	}
	pending := d.pending
	if d.faults.LoseKey {
		pending = nil
	}
	for _, k := range []crypto.Signer{pending, d.https.key} {
		if k != nil && ottr.SamePublicKey(k.Public(), chain[0].PublicKey) {
			return chain, k, nil
		}
	}
	m := msg("ActionParameterValueError", "CertificateString", action)
	m.Message += " The certificate does not match the private key of the last certificate signing request."
	return nil, nil, &m
}

// drop closes the connection without an answer, as a BMC whose web server
// died mid-request does.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
		}
	}
}

type task struct {
	id, name    string
	state       string // Running, Completed, Exception
	polls, need int
	start, end  time.Time
	install     *pair
	failure     string
	d           *Device
}

func (d *Device) newTask(name string, p *pair) *task {
	t := &task{id: itoa(d.nextTask), name: name, state: "Running", need: d.taskPolls, start: time.Now(), install: p, d: d}
	d.nextTask++
	d.tasks[t.id] = t
	return t
}

// poll advances the task by one look at it; the last one finishes it.
func (t *task) poll() {
	if t.state != "Running" {
		return
	}
	t.polls++
	if t.polls < t.need {
		return
	}
	t.end = time.Now()
	if t.d.faults.TaskFail != "" {
		t.state, t.failure = "Exception", t.d.faults.TaskFail
		return
	}
	t.state = "Completed"
	t.d.https = t.install
	t.d.installed()
}

func (t *task) body() map[string]any {
	pct := 100 * t.polls / max(t.need, 1)
	status := "OK"
	msgs := []Message{}
	switch t.state {
	case "Completed":
		msgs = append(msgs, msg("Success"))
	case "Exception":
		status = "Critical"
		m := msg("InternalError")
		m.Message = t.failure
		msgs = append(msgs, m)
	}
	b := map[string]any{"@odata.id": tasksURI + "/" + t.id, "@odata.type": "#Task.v1_7_1.Task", "Id": t.id, "Name": t.name,
		"TaskState": t.state, "TaskStatus": status, "PercentComplete": min(pct, 100), "StartTime": t.start.UTC().Format(time.RFC3339),
		"TaskMonitor": monitorsURI + "/" + t.id, "Messages": msgs}
	if !t.end.IsZero() {
		b["EndTime"] = t.end.UTC().Format(time.RFC3339)
	}
	return b
}

// taskMonitor answers 202 with the task while it runs, then the
// operation's own answer: the certificate, or the error that ended it.
func (d *Device) taskMonitor(t *task) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, _ string) {
		t.poll()
		body := t.body()
		switch t.state {
		case "Running":
			w.Header().Set("Location", monitorsURI+"/"+t.id)
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusAccepted, body)
		case "Completed":
			w.Header().Set("Location", d.collectionURI()+"/"+t.install.id)
			writeJSON(w, http.StatusOK, d.certificateBody(t.install))
		default:
			m := msg("InternalError")
			m.Message = t.failure
			fail(w, http.StatusInternalServerError, m)
		}
	}
}

func (d *Device) taskService() map[string]any {
	return map[string]any{"@odata.id": "/redfish/v1/TaskService", "@odata.type": "#TaskService.v1_2_0.TaskService",
		"Id": "TaskService", "Name": "Task Service", "ServiceEnabled": true, "CompletedTaskOverWritePolicy": "Oldest",
		"Tasks": link(tasksURI)}
}

func (d *Device) taskCollection() map[string]any {
	var ids []string
	for i := 1; i < d.nextTask; i++ {
		if d.tasks[itoa(i)] != nil {
			ids = append(ids, tasksURI+"/"+itoa(i))
		}
	}
	return collection(tasksURI, "#TaskCollection.TaskCollection", "Task Collection", ids)
}
