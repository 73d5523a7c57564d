package ssm

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// decode reads a request body into v. Members the operation has but the
// simulator does not model are refused by name rather than ignored, so a
// client never believes they took effect; members unknown to the
// operation are ignored, as SSM does.
func decode(body []byte, v any, unmodelled ...string) *apiError {
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return &apiError{"SerializationException", "The request body is not a JSON object."}
	}
	for _, m := range unmodelled {
		if r, ok := raw[m]; ok && string(r) != "null" {
			return &apiError{"ValidationException", fmt.Sprintf("%s is not modelled by this simulator; send the request without it.", m)}
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return &apiError{"SerializationException", fmt.Sprintf("Unexpected value type for '%s': %s.", te.Field, jsonKind(te.Value))}
		}
		return &apiError{"SerializationException", "The request body is not valid JSON."}
	}
	return nil
}

// jsonKind names what was found in JSON's words, not Go's.
func jsonKind(v string) string {
	switch v {
	case "number", "string", "bool", "array", "object":
		return "got a JSON " + v
	}
	if strings.HasPrefix(v, "number ") {
		return "got the number " + strings.TrimPrefix(v, "number ")
	}
	return "wrong type"
}

// violations collects model constraint failures and reports them as SSM's
// front end does: "N validation error(s) detected: Value 'x' at 'path'
// failed to satisfy constraint: ...".
type violations []string

func (v *violations) add(value any, path, constraint string) {
	shown := "null"
	switch x := value.(type) {
	case nil:
	case *int:
		if x != nil {
			shown = "'" + strconv.Itoa(*x) + "'"
		}
	case *string:
		if x != nil {
			shown = "'" + *x + "'"
		}
	case []string:
		shown = "'[" + strings.Join(x, ", ") + "]'"
	default:
		shown = fmt.Sprintf("'%v'", x)
	}
	if shown == "null" {
		*v = append(*v, fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", path))
		return
	}
	*v = append(*v, fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: %s", shown, path, constraint))
}

func (v *violations) required(present bool, path string) bool {
	if !present {
		v.add(nil, path, "")
	}
	return present
}

func (v *violations) intRange(x *int, path string, lo, hi int) {
	if x == nil {
		return
	}
	if *x < lo {
		v.add(x, path, fmt.Sprintf("Member must have value greater than or equal to %d", lo))
	} else if *x > hi {
		v.add(x, path, fmt.Sprintf("Member must have value less than or equal to %d", hi))
	}
}

func (v *violations) length(x *string, path string, lo, hi int) {
	if x == nil {
		return
	}
	if n := len([]rune(*x)); n < lo {
		v.add(x, path, fmt.Sprintf("Member must have length greater than or equal to %d", lo))
	} else if hi > 0 && n > hi {
		v.add(x, path, fmt.Sprintf("Member must have length less than or equal to %d", hi))
	}
}

func (v *violations) count(x []string, path string, lo, hi int) {
	if len(x) < lo {
		v.add(x, path, fmt.Sprintf("Member must have length greater than or equal to %d", lo))
	} else if hi > 0 && len(x) > hi {
		v.add(x, path, fmt.Sprintf("Member must have length less than or equal to %d", hi))
	}
}

func (v *violations) pattern(x *string, path string, re *regexp.Regexp, src string) {
	if x != nil && !re.MatchString(*x) {
		v.add(x, path, "Member must satisfy regular expression pattern: "+src)
	}
}

func (v *violations) enum(x *string, path string, values ...string) {
	if x != nil && !contains(values, *x) {
		v.add(x, path, "Member must satisfy enum value set: ["+strings.Join(values, ", ")+"]")
	}
}

func (v violations) err() *apiError {
	switch len(v) {
	case 0:
		return nil
	case 1:
		return &apiError{"ValidationException", "1 validation error detected: " + v[0]}
	}
	return &apiError{"ValidationException", fmt.Sprintf("%d validation errors detected: %s", len(v), strings.Join(v, "; "))}
}

// The model's patterns, anchored: SSM matches the whole value.
var (
	instanceIDSource = `(^i-(\w{8}|\w{17})$)|(^mi-\w{17}$)`
	instanceIDRe     = regexp.MustCompile(instanceIDSource)
)

// page cuts list to one page of at most max items from the position
// token names, and returns the token for the next page ("" at the end).
// Tokens are opaque to clients and bound to the operation.
func page[T any](op string, list []T, token *string, max int) ([]T, string, *apiError) {
	start := 0
	if token != nil {
		b, err := base64.RawURLEncoding.DecodeString(*token)
		n, ok := strings.CutPrefix(string(b), op+":")
		if err == nil && ok {
			start, err = strconv.Atoi(n)
		}
		if err != nil || !ok || start < 0 || start > len(list) {
			return nil, "", &apiError{"InvalidNextToken", "The specified token isn't valid."}
		}
	}
	rest := list[start:]
	if len(rest) <= max {
		return rest, "", nil
	}
	return rest[:max], base64.RawURLEncoding.EncodeToString([]byte(op + ":" + strconv.Itoa(start+max))), nil
}
