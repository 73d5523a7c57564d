package netscaler

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// nitroErr is NITRO's error: HTTP status and the envelope's errorcode and
// message.
type nitroErr struct {
	status, code int
	msg          string
}

func (e *nitroErr) Error() string { return fmt.Sprintf("%d %s", e.code, e.msg) }

// NITRO's error codes (NSERR_*) used here, with their messages.
var (
	errNoEntry     = func(what string) *nitroErr { return &nitroErr{404, 258, "No such resource [" + what + "]"} }
	errExists      = func(what string) *nitroErr { return &nitroErr{409, 273, "Resource already exists [" + what + "]"} }
	errArgMissing  = func(arg string) *nitroErr { return &nitroErr{400, 1095, "Required argument missing [" + arg + "]"} }
	errArgValue    = func(arg string) *nitroErr { return &nitroErr{400, 1097, "Invalid argument value [" + arg + "]"} }
	errArgUnknown  = func(arg string) *nitroErr { return &nitroErr{400, 278, "Invalid argument [" + arg + "]"} }
	errFileExists  = &nitroErr{409, 1642, "Cannot create output file. File already exists"}
	errNoInputFile = &nitroErr{599, 1647, "Input file(s) not present or not accessible in current partition"}
	errBadJSON     = &nitroErr{400, 1233, "Invalid JSON input"}
	errNotModelled = func(what string) *nitroErr {
		return &nitroErr{400, 1240, "Invalid nitro action or operation [" + what + " is not modelled by this NetScaler simulator]"}
	}
	errSessionGone  = &nitroErr{401, 444, "Session expired or killed. Please login again"}
	errBadLogin     = &nitroErr{401, 354, "Invalid username or password"}
	errNotLoggedIn  = &nitroErr{401, 1027, "Not logged in or connection timed out"}
	errBadCert      = &nitroErr{599, 1536, "Invalid certificate"}
	errBadKey       = &nitroErr{599, 1537, "Invalid private key, or PEM pass phrase required for this private key"}
	errNoMatch      = &nitroErr{599, 1538, "Certificate and private key do not match"}
	errReferenced   = &nitroErr{599, 1541, "Certificate is referenced by a CRL, OCSP responder, vserver, service, monitor, SSL profile, another certificate, or a policy expression using XML_ENCRYPT() or XML_DECRYPT()"}
	errLinkSelf     = &nitroErr{599, 1543, "Certificate cant be linked to the same certificate"}
	errNoLink       = &nitroErr{599, 1545, "Certificate does not have any CA link"}
	errIssuer       = &nitroErr{599, 1548, "Issuer certificate mismatch"}
	errLinkLoop     = &nitroErr{599, 1677, "Certificate cant be linked. This is creating a loop."}
	errDefaultCert  = &nitroErr{599, 3719, "Cannot delete internal default certificate."}
	errNoVServer    = &nitroErr{599, 3712, "No SSL vserver/service found with this name."}
	errNoBinding    = &nitroErr{599, 1542, "Certificate binding does not exist"}
	errKeySize      = &nitroErr{599, 1654, "Maximum allowed key size is 4096"}
	errDefaultPath  = &nitroErr{599, 1645, "Output filepath should be under the partitions default SSL directory"}
	errMethod       = &nitroErr{405, 1237, "Invalid method name. It should be either post, put, get, stat or delete"}
	errInvalidObj   = &nitroErr{400, 1232, "Invalid object name"}
	errBadEncoding  = &nitroErr{400, 1097, "Invalid argument value [fileEncoding]"}
	errBundle       = errNotModelled("bundle YES (certificate bundles)")
	errPassphrase   = errNotModelled("encrypted keys (password, passplain, des, des3, aes256)")
	errFIPS         = errNotModelled("FIPS and HSM keys")
	errCertkeyUnset = errNotModelled("sslcertkey unset")
)

// envelope writes a NITRO answer: body, or the error envelope.
func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	if body != nil {
		_ = json.NewEncoder(w).Encode(body)
	}
}

func writeErr(w http.ResponseWriter, e *nitroErr) {
	writeJSON(w, e.status, map[string]any{"errorcode": e.code, "message": e.msg, "severity": "ERROR"})
}

// done is the success envelope of a GET, with the resource's objects.
func done(resource string, objects any) map[string]any {
	out := map[string]any{"errorcode": 0, "message": "Done", "severity": "NONE"}
	if resource != "" {
		out[resource] = objects
	}
	return out
}

// request is one NITRO call: the resource, the name after it in the path
// (unescaped), and the query's action, args and filter.
type request struct {
	method, resource, name, action string
	args, filter                   map[string]string
	query                          url.Values
	body                           json.RawMessage
	warning                        bool
}

// parseRequest reads the path after /nitro/v1/config/ and the query.
// NITRO's query joins parameters with & (or ;) and lists args and filter
// values as name:value pairs separated by commas, each value
// URL-encoded.
func parseRequest(r *http.Request, rest string) (request, *nitroErr) {
	req := request{method: r.Method, args: map[string]string{}, filter: map[string]string{}}
	res, name, _ := strings.Cut(rest, "/")
	req.resource = res
	if name != "" {
		n, err := url.PathUnescape(name)
		if err != nil {
			return req, errInvalidObj
		}
		// Clients double-encode names that hold reserved characters.
		if strings.Contains(n, "%") {
			if n2, err := url.PathUnescape(n); err == nil {
				n = n2
			}
		}
		req.name = n
	}
	raw := strings.ReplaceAll(r.URL.RawQuery, ";", "&")
	q, err := url.ParseQuery(raw)
	if err != nil {
		return req, errArgValue("query")
	}
	req.query = q
	req.action = q.Get("action")
	req.warning = q.Get("warning") == "yes"
	for key, into := range map[string]map[string]string{"args": req.args, "filter": req.filter} {
		for _, pair := range strings.Split(q.Get(key), ",") {
			if pair == "" {
				continue
			}
			k, v, ok := strings.Cut(pair, ":")
			if !ok {
				return req, errArgValue(key)
			}
			if u, err := url.QueryUnescape(v); err == nil {
				v = u
			}
			into[strings.ToLower(k)] = v
		}
	}
	for k := range q {
		switch k {
		case "action", "args", "filter", "warning", "attrs", "view", "count":
		default:
			return req, errNotModelled("query parameter " + k)
		}
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		b, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			return req, errBadJSON
		}
		req.body = b
	}
	return req, nil
}

// object decodes the request body's {"<resource>":{…}} into out, refusing
// attributes out does not know (NITRO refuses arguments a resource does
// not have).
func (req request) object(out any) *nitroErr {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(req.body, &env); err != nil {
		return errBadJSON
	}
	obj, ok := env[req.resource]
	if !ok {
		return errArgMissing(req.resource)
	}
	dec := json.NewDecoder(strings.NewReader(string(obj)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return errArgUnknown(strings.Trim(f, `"`))
		}
		var te *json.UnmarshalTypeError
		if asType(err, &te) {
			return &nitroErr{400, 1234, "Invalid JSON data type [" + te.Field + "]"}
		}
		return errBadJSON
	}
	return nil
}

func asType(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}
