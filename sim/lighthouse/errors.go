package lighthouse

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// apiErr is one entry of Lighthouse's error envelope
// {"error":[{"type","code","text","args","level"}]}. Type, code and text
// come from the v3.7 RAML's examples wherever it gives one.
type apiErr struct {
	Type  int               `json:"type"`
	Code  int               `json:"code"`
	Text  string            `json:"text"`
	Args  map[string]string `json:"args"`
	Level int               `json:"level"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, errs ...apiErr) {
	for i := range errs {
		if errs[i].Args == nil {
			errs[i].Args = map[string]string{}
		}
		errs[i].Level = 1
	}
	writeJSON(w, status, map[string]any{"error": errs})
}

// The RAML's error entries.
var (
	errInvalidSession = apiErr{Type: 7, Code: 43, Text: "Invalid session ID."}
	errPermission     = apiErr{Type: 7, Code: 47, Text: "Permission denied"}
	errBadLogin       = apiErr{Type: 7, Code: 41, Text: "Invalid login credentials"}
	errBadBody        = apiErr{Type: 4, Code: 39, Text: "Invalid request body"}
	errPushFailed     = apiErr{Type: 1, Code: 33, Text: "Push command failed"}
)

func errRequired(param string) apiErr {
	return apiErr{Type: 4, Code: 40, Text: fmt.Sprintf("Required field '%s' was not provided in the request.", param), Args: map[string]string{"param": param}}
}

func errInvalidParam(param string) apiErr {
	return apiErr{Type: 4, Code: 48, Text: fmt.Sprintf("Invalid parameter '%s' was provided.", param), Args: map[string]string{"param": param}}
}

// errFormat is the RAML's answer to a configuration value the device's
// schema refuses; uuid names the element, e.g.
// root-1-services_https_csr_email.
func errFormat(uuid string) apiErr {
	return apiErr{Type: 2, Code: 14, Text: "String did not conform to the expected format.", Args: map[string]string{"uuid": uuid}}
}

func errWrongType(field string) apiErr {
	return apiErr{Type: 2, Code: 22, Text: fmt.Sprintf("Element [%s] is of the wrong type", field), Args: map[string]string{"uuid": field}}
}

// errNotFound answers a path or method the API does not have. The RAML
// documents 404 without a body for it; the entry borrows the type and code
// of its "Could not find element" answers, and the text is the
// simulator's own.
func errNotFound(method, path string) apiErr {
	return apiErr{Type: 5, Code: 29, Text: fmt.Sprintf("Could not find resource '%s %s'.", method, path), Args: map[string]string{"uuid": path}}
}
