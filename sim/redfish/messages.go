package redfish

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// registry is the Base message registry version the simulator cites, as
// "Base.1.16.0.<Key>" message IDs.
const registry = "Base.1.16.0"

// baseMessage is one entry of DMTF's Base message registry: its text with
// %1… placeholders, severity and resolution.
type baseMessage struct {
	text, severity, resolution string
}

// base holds the Base registry messages the simulator answers with (DSP8011
// Base 1.16.0).
var base = map[string]baseMessage{
	"Success":                         {"The request completed successfully.", "OK", "None"},
	"Created":                         {"The resource was created successfully.", "OK", "None"},
	"GeneralError":                    {"A general error has occurred.  See Resolution for information on how to resolve the error, or @Message.ExtendedInfo if Resolution is not provided.", "Critical", "None"},
	"InternalError":                   {"The request failed due to an internal service error.  The service is still operational.", "Critical", "Resubmit the request.  If the problem persists, consider resetting the service."},
	"MalformedJSON":                   {"The request body submitted was malformed JSON and could not be parsed by the receiving service.", "Critical", "Ensure that the request body is valid JSON and resubmit the request."},
	"NoValidSession":                  {"There is no valid session established with the implementation.", "Critical", "Establish a session before attempting any operations."},
	"ResourceAtUriUnauthorized":       {"While accessing the resource at '%1', the service received an authorization error '%2'.", "Critical", "Ensure that the appropriate access is provided for the service in order for it to access the URI."},
	"InsufficientPrivilege":           {"There are insufficient privileges for the account or credentials associated with the current session to perform the requested operation.", "Critical", "Either abandon the operation or change the associated access rights and resubmit the request if the operation failed."},
	"ResourceNotFound":                {"The requested resource of type '%1' named '%2' was not found.", "Critical", "Provide a valid resource identifier and resubmit the request."},
	"OperationNotAllowed":             {"The HTTP method is not allowed on this resource.", "Critical", "None."},
	"ActionNotSupported":              {"The action '%1' is not supported by the resource.", "Critical", "The action supplied cannot be resubmitted to the implementation.  Perhaps the action was invalid, the wrong resource was the target or the implementation documentation may be of assistance."},
	"ActionParameterMissing":          {"The action '%1' requires the parameter '%2' to be present in the request body.", "Critical", "Supply the action with the required parameter in the request body when the request is resubmitted."},
	"ActionParameterUnknown":          {"The action '%1' was submitted with the invalid parameter '%2'.", "Warning", "Correct the invalid parameter and resubmit the request if the operation failed."},
	"ActionParameterNotSupported":     {"The parameter '%1' for the action '%2' is not supported on the target resource.", "Warning", "Remove the parameter supplied and resubmit the request if the operation failed."},
	"ActionParameterValueTypeError":   {"The value '%1' for the parameter '%2' in the action '%3' is of a different type than the parameter can accept.", "Warning", "Correct the value for the parameter in the request body and resubmit the request if the operation failed."},
	"ActionParameterValueNotInList":   {"The value '%1' for the parameter '%2' in the action '%3' is not in the list of acceptable values.", "Warning", "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed."},
	"ActionParameterValueError":       {"The value for the parameter '%1' in the action '%2' is invalid.", "Warning", "Correct the value for the parameter in the request body and resubmit the request if the operation failed."},
	"ActionParameterValueFormatError": {"The value '%1' for the parameter '%2' in the action '%3' is of a different format than the parameter can accept.", "Warning", "Correct the value for the parameter in the request body and resubmit the request if the operation failed."},
	"PreconditionFailed":              {"The ETag supplied did not match the ETag required to change this resource.", "Critical", "Try the operation again using the appropriate ETag."},
	"ResourceInUse":                   {"The change to the requested resource failed because the resource is in use or in transition.", "Warning", "Remove the condition and resubmit the request if the operation failed."},
	"ServiceTemporarilyUnavailable":   {"The service is temporarily unavailable.  Retry in '%1' seconds.", "Critical", "Wait for the indicated retry duration and retry the operation."},
	"PropertyMissing":                 {"The property '%1' is a required property and must be included in the request.", "Warning", "Ensure that the property is in the request body and has a valid value and resubmit the request if the operation failed."},
	"PropertyUnknown":                 {"The property '%1' is not in the list of valid properties for the resource.", "Warning", "Remove the unknown property from the request body and resubmit the request if the operation failed."},
	"ResourceCannotBeDeleted":         {"The delete request failed because the resource requested cannot be deleted.", "Critical", "Do not attempt to delete a non-deletable resource."},
	"PropertyValueTypeError":          {"The value '%1' for the property '%2' is of a different type than the property can accept.", "Warning", "Correct the value for the property in the request body and resubmit the request if the operation failed."},
}

// Message is one entry of @Message.ExtendedInfo.
type Message struct {
	ODataType   string   `json:"@odata.type"`
	MessageID   string   `json:"MessageId"`
	Message     string   `json:"Message"`
	MessageArgs []string `json:"MessageArgs"`
	// Severity is the deprecated property older clients read;
	// MessageSeverity replaced it (Message v1.1).
	Severity          string   `json:"Severity"`
	MessageSeverity   string   `json:"MessageSeverity"`
	Resolution        string   `json:"Resolution"`
	RelatedProperties []string `json:"RelatedProperties,omitempty"`
}

// msg builds a Base registry message with its arguments filled in.
func msg(key string, args ...string) Message {
	m, ok := base[key]
	if !ok {
		panic("redfish sim: no Base message " + key)
	}
	text := m.text
	for i := len(args); i > 0; i-- {
		text = strings.ReplaceAll(text, fmt.Sprintf("%%%d", i), args[i-1])
	}
	if args == nil {
		args = []string{}
	}
	return Message{ODataType: "#Message.v1_1_1.Message", MessageID: registry + "." + key, Message: text, MessageArgs: args,
		Severity: m.severity, MessageSeverity: m.severity, Resolution: m.resolution}
}

// writeJSON answers v with status, as a Redfish service does: JSON with
// OData-Version 4.0.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("OData-Version", "4.0")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}

// errorBody is DSP0266's error response: a general message and the
// specific ones in @Message.ExtendedInfo.
func errorBody(infos ...Message) map[string]any {
	code, text := registry+".GeneralError", "A general error has occurred. See ExtendedInfo for more information."
	if len(infos) == 1 {
		code, text = infos[0].MessageID, infos[0].Message
	}
	return map[string]any{"error": map[string]any{"code": code, "message": text, "@Message.ExtendedInfo": infos}}
}

// fail answers an error envelope with status.
func fail(w http.ResponseWriter, status int, infos ...Message) {
	writeJSON(w, status, errorBody(infos...))
}
