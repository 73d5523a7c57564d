package fortigate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// envelope is FortiOS's answer to every REST API request. The fields are
// in the order FortiOS writes them; what a kind of answer lacks is left
// out.
type envelope struct {
	HTTPMethod      string `json:"http_method"`
	Size            *int   `json:"size,omitempty"`
	MatchedCount    *int   `json:"matched_count,omitempty"`
	NextIdx         *int   `json:"next_idx,omitempty"`
	Revision        string `json:"revision,omitempty"`
	RevisionChanged *bool  `json:"revision_changed,omitempty"`
	OldRevision     string `json:"old_revision,omitempty"`
	Results         any    `json:"results,omitempty"`
	CLIError        string `json:"cli_error,omitempty"`
	Error           int    `json:"error,omitempty"`
	// Message is the simulator's own explanation of a request it refuses
	// for a reason FortiOS's wording is not known for.
	Message    string `json:"message,omitempty"`
	VDOM       string `json:"vdom,omitempty"`
	Path       string `json:"path,omitempty"`
	Name       string `json:"name,omitempty"`
	Action     string `json:"action,omitempty"`
	Mkey       string `json:"mkey,omitempty"`
	Status     string `json:"status"`
	HTTPStatus int    `json:"http_status"`
	Serial     string `json:"serial,omitempty"`
	Version    string `json:"version,omitempty"`
	Build      int    `json:"build,omitempty"`
}

// call is one authenticated API request being answered.
type call struct {
	w      http.ResponseWriter
	r      *http.Request
	q      url.Values
	body   map[string]any // the JSON object sent, nil for none
	api    string         // "cmdb" or "monitor"
	path   string         // e.g. "vpn.certificate", "system"
	name   string         // e.g. "local", "global"
	rest   string         // mkey (cmdb) or action (monitor), unescaped
	global bool           // global=1: the global scope rather than a VDOM
	// rev is the configuration revision a CMDB change was made against:
	// a refused change reports it, unchanged.
	rev string
}

// base is the envelope of an answer to c.
func (c *call) base(status int) envelope {
	e := envelope{HTTPMethod: c.r.Method, VDOM: "root", Path: c.path, Name: c.name, HTTPStatus: status,
		Serial: Serial, Version: Version, Build: Build, Status: "success"}
	if status != http.StatusOK {
		e.Status = "error"
	}
	if c.global {
		e.VDOM = ""
	}
	if status != http.StatusOK && c.rev != "" {
		unchanged := false
		e.Revision, e.RevisionChanged = c.rev, &unchanged
	}
	return e
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func (c *call) reply(e envelope) { writeJSON(c.w, e.HTTPStatus, e) }

// fail answers an error: status, FortiOS's error number (0: none) and the
// CLI's text.
func (c *call) fail(status, code int, cliError string) {
	e := c.base(status)
	e.Error, e.CLIError = code, cliError
	c.reply(e)
}

// refuse answers a request the simulator refuses for a reason of its own
// wording: status with message.
func (c *call) refuse(status int, format string, args ...any) {
	e := c.base(status)
	e.Message = fmt.Sprintf(format, args...)
	c.reply(e)
}

// cliFail is the CLI's text for a refused command, as FortiOS puts it in
// cli_error.
func cliFail(code int, lines ...string) string {
	return strings.Join(lines, "\n") + fmt.Sprintf("\nCommand fail. Return code %d\n", code)
}

// api authenticates a request and hands it to the CMDB or monitor API.
func (d *Device) api(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	logged := r.URL.Path
	if len(q) > 0 {
		lq := url.Values{}
		for k, v := range q {
			if k != "access_token" {
				lq[k] = v
			}
		}
		if len(lq) > 0 {
			logged += "?" + lq.Encode()
		}
	}
	d.mu.Lock()
	d.calls = append(d.calls, r.Method+" "+logged)
	faults := d.faults
	_, known := d.tokens[token(r)]
	d.mu.Unlock()

	c := &call{w: w, r: r, q: q}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.EscapedPath(), "/api/v2/"), "/"), "/")
	if len(parts) >= 1 {
		c.api = parts[0]
	}
	if len(parts) >= 2 {
		c.path = parts[1]
	}
	if len(parts) >= 3 {
		c.name = parts[2]
	}
	if len(parts) >= 4 {
		c.rest, _ = url.PathUnescape(strings.Join(parts[3:], "/"))
	}
	if !known || faults.RevokeTokens {
		// Nothing about the device is told to a caller without a valid
		// token.
		writeJSON(w, http.StatusUnauthorized, envelope{HTTPMethod: r.Method, Status: "error", HTTPStatus: http.StatusUnauthorized})
		return
	}
	if faults.ErrorOn != "" && strings.Contains(r.Method+" "+r.URL.Path, faults.ErrorOn) {
		status := faults.Status
		if status == 0 {
			status = http.StatusInternalServerError
		}
		c.fail(status, faults.Code, faults.CLIError)
		return
	}
	switch vdom := q.Get("vdom"); {
	case q.Get("global") == "1":
		c.global = true
	case vdom == "" || vdom == "root":
	default:
		// VDOMs are disabled: root is the only one, and FortiOS refuses
		// a VDOM the administrator has no access to as a permission
		// error.
		c.refuse(http.StatusForbidden, "VDOM %q: the simulated FortiGate has VDOMs disabled; root is its only VDOM", vdom)
		return
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		raw, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			return
		}
		if len(bytes.TrimSpace(raw)) > 0 {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if err := dec.Decode(&c.body); err != nil || c.body == nil {
				c.refuse(http.StatusBadRequest, "the body is not a JSON object")
				return
			}
		}
	}
	switch c.api {
	case "cmdb":
		d.cmdb(c)
	case "monitor":
		d.monitor(c)
	default:
		c.fail(http.StatusNotFound, 0, "")
	}
}

// token is the API token a request carries: the Authorization header's
// bearer token or the access_token parameter.
func token(r *http.Request) string {
	if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
		return strings.TrimSpace(strings.TrimPrefix(h, "Bearer "))
	}
	return r.URL.Query().Get("access_token")
}

// logincheck is the session login page. Only API tokens are modelled:
// GET answers the login form (Fortinet's Ansible connection fetches it
// before using a token) and a login by password always fails ("0", the
// documented failure code).
func (d *Device) logincheck(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.calls = append(d.calls, r.Method+" /logincheck")
	d.mu.Unlock()
	w.Header().Set("Content-Type", "text/html")
	if r.Method == http.MethodPost {
		fmt.Fprint(w, "0document.location=\"/login?redir=%2F\";")
		return
	}
	fmt.Fprint(w, "<html><body><form action=\"/logincheck\" method=\"post\"></form></body></html>")
}

// params checks that the request has no query parameter outside allowed
// (besides vdom, global and access_token), answering 400 naming the
// first it does not model.
func (c *call) params(allowed ...string) bool {
	for k := range c.q {
		if k == "vdom" || k == "global" || k == "access_token" || slices.Contains(allowed, k) {
			continue
		}
		c.refuse(http.StatusBadRequest, "the simulator does not model the parameter %q of %s %s/%s", k, c.api, c.path, c.name)
		return false
	}
	return true
}

// str is a body field as a string: ok is false (and the request refused
// with 424) when it is present and not a string.
func (c *call) str(field string) (string, bool) {
	v, present := c.body[field]
	if !present || v == nil {
		return "", true
	}
	s, ok := v.(string)
	if !ok {
		c.refuse(http.StatusFailedDependency, "%s: want a string", field)
	}
	return s, ok
}
