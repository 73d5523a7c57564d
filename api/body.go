package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/ottr-dev/ottr"
)

// Bounds on the shape of a request body, checked before any decoding so
// that no body under maxBody makes the server build a large value or a
// long list of errors. Ottr's largest bodies (assets, route tables) are
// far inside them: a route table nests 7 levels and its objects have a
// few dozen keys.
const (
	maxBodyDepth    = 32
	maxBodyKeys     = 1000  // in one object
	maxBodyElements = 10000 // in one array
	maxBodyKeyLen   = 256   // bytes in one key, as sent
	// in one string value, as sent: far over any field's (a certificate
	// chain is a few KiB), and a free-form body (a route table) has no
	// schema to say less
	maxBodyString = 64 << 10
)

// bodyLimits is a huma middleware that reads every request body once and
// checks it with checkBody before huma's validation or a handler sees it.
// It answers the first problem alone, so a body can never make the reply
// grow with its size. It needs the operation's published request schema:
// register it before the operations and describe raw bodies (as
// describeErrors does) before serving.
//
// An operation that needs a token has it checked first (gate): a request
// without a valid one is answered 401 before a byte of its body is read,
// so no anonymous body costs the server a pass over it.
func bodyLimits(api huma.API, gate func(huma.Context) (huma.Context, error)) func(huma.Context, func(huma.Context)) {
	return func(ctx huma.Context, next func(huma.Context)) {
		op := ctx.Operation()
		if op == nil || op.RequestBody == nil {
			next(ctx)
			return
		}
		if len(op.Security) > 0 && gate != nil {
			var err error
			if ctx, err = gate(ctx); err != nil {
				_ = huma.WriteErr(api, ctx, http.StatusUnauthorized, short(ottr.ErrorMessage(err)))
				return
			}
		}
		body, err := io.ReadAll(ctx.BodyReader())
		if err != nil {
			status, msg := http.StatusBadRequest, "request body could not be read"
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				status, msg = http.StatusRequestEntityTooLarge, fmt.Sprintf("request body over %d bytes", maxBody)
			}
			_ = huma.WriteErr(api, ctx, status, msg)
			return
		}
		if p := checkBody(body, bodyFields(api, op)); p != nil {
			_ = huma.WriteErr(api, ctx, http.StatusBadRequest, "invalid request body: "+p.Message, p)
			return
		}
		next(&readBody{humaContext: ctx, body: bytes.NewReader(body)})
	}
}

// readBody hands huma the body bodyLimits has already read.
type readBody struct {
	humaContext
	body io.Reader
}

// humaContext names the embedded context so that its field does not hide
// the Context method.
type humaContext = huma.Context

// BodyReader returns the body as it was read.
func (c *readBody) BodyReader() io.Reader { return c.body }

// bodyFields returns the top-level fields op's JSON body may have, with
// their schemas, or nil when its schema does not list them (a free-form
// object).
func bodyFields(api huma.API, op *huma.Operation) map[string]*huma.Schema {
	mt := op.RequestBody.Content["application/json"]
	if mt == nil || mt.Schema == nil {
		return nil
	}
	s := mt.Schema
	if s.Ref != "" {
		s = api.OpenAPI().Components.Schemas.SchemaFromRef(s.Ref)
	}
	if s == nil || len(s.Properties) == 0 {
		return nil
	}
	if ap, ok := s.AdditionalProperties.(bool); !ok || ap {
		return nil // any key is allowed
	}
	fields := make(map[string]*huma.Schema, len(s.Properties))
	for k, p := range s.Properties {
		if p != nil && p.Ref != "" {
			p = api.OpenAPI().Components.Schemas.SchemaFromRef(p.Ref)
		}
		fields[k] = p
	}
	return fields
}

// checkBody checks that b is one JSON object in valid UTF-8 within the
// depth, key and element bounds, with no duplicate keys and (when fields
// is not nil) no top-level key outside fields and no array or object where
// a field's schema has neither. Scalars are left to the decoders, which
// know Ottr's value forms ("True", "None"). It returns the first problem
// found; the message never quotes more than a short cut of the body. An
// empty body passes: whether one is required is the operation's business.
func checkBody(b []byte, fields map[string]*huma.Schema) *huma.ErrorDetail {
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 {
		return nil
	}
	if !utf8.Valid(b) {
		i := 0
		for i < len(b) {
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return &huma.ErrorDetail{Location: "body", Message: fmt.Sprintf("not valid UTF-8 (byte %d)", i)}
	}
	if i := tooDeep(b); i >= 0 {
		return deepProblem(i)
	}
	if !json.Valid(b) {
		msg := "JSON syntax error"
		var se *json.SyntaxError
		if err := json.Unmarshal(b, new(struct{})); errors.As(err, &se) {
			msg = fmt.Sprintf("JSON syntax error at byte %d: %s", se.Offset, se.Error())
			if se.Offset >= int64(len(b)) {
				msg = "JSON syntax error: the body ends early"
			}
		}
		return &huma.ErrorDetail{Location: "body", Message: msg}
	}
	if trimmed[0] != '{' {
		return &huma.ErrorDetail{Location: "body", Message: "want a JSON object"}
	}
	return (&bodyScan{b: b, fields: fields}).object(bytes.IndexByte(b, '{'), 1)
}

// bodyScan walks a body that is already known to be valid JSON, checking
// its shape without building any value.
type bodyScan struct {
	b      []byte
	fields map[string]*huma.Schema
	// keys[d] holds the keys of the object open at depth d, for the
	// duplicate check: one object per depth is open at a time, so the
	// slices are reused from one object to the next.
	keys [][]string
}

// value scans the value starting at i (no leading space) and returns the
// index after it.
func (s *bodyScan) value(i, depth int) (int, *huma.ErrorDetail) {
	switch s.b[i] {
	case '{':
		return s.objectEnd(i, depth+1)
	case '[':
		return s.array(i, depth+1)
	case '"':
		end := s.str(i)
		if end-i > maxBodyString+2 {
			return 0, &huma.ErrorDetail{Location: "body", Message: fmt.Sprintf("a string is longer than %d bytes (byte %d)", maxBodyString, i)}
		}
		return end, nil
	}
	for i < len(s.b) && !bytes.ContainsRune([]byte(",]} \t\r\n"), rune(s.b[i])) {
		i++ // a number or literal
	}
	return i, nil
}

// object checks the top-level object at i.
func (s *bodyScan) object(i, depth int) *huma.ErrorDetail {
	_, p := s.objectEnd(i, depth)
	return p
}

func (s *bodyScan) objectEnd(i, depth int) (int, *huma.ErrorDetail) {
	if depth > maxBodyDepth {
		return 0, deepProblem(i)
	}
	var seen map[string]bool // past a few keys, a set beats a scan
	for len(s.keys) <= depth {
		s.keys = append(s.keys, nil)
	}
	keys := s.keys[depth][:0]
	i = s.skip(i + 1)
	n := 0
	for s.b[i] != '}' {
		end := s.str(i)
		rawKey := s.b[i:end]
		n++
		if n > maxBodyKeys {
			return 0, &huma.ErrorDetail{Location: "body", Message: fmt.Sprintf("an object has more than %d keys (byte %d)", maxBodyKeys, i)}
		}
		if len(rawKey) > maxBodyKeyLen+2 {
			return 0, &huma.ErrorDetail{Location: "body", Message: fmt.Sprintf("a key is longer than %d bytes (byte %d)", maxBodyKeyLen, i)}
		}
		key := decodeKey(rawKey)
		var schema *huma.Schema
		if depth == 1 && s.fields != nil {
			var known bool
			if schema, known = s.fields[key]; !known {
				return 0, unknownField(key, s.fields)
			}
		}
		dup := false
		if seen != nil {
			dup = seen[key]
			seen[key] = true
		} else {
			dup = slices.Contains(keys, key)
			keys = append(keys, key)
			if len(keys) > 16 {
				seen = make(map[string]bool, 32)
				for _, k := range keys {
					seen[k] = true
				}
			}
		}
		if dup {
			return 0, &huma.ErrorDetail{Location: "body." + short(key), Message: "duplicate key"}
		}
		i = s.skip(s.skip(end) + 1) // past the colon
		if p := wrongShape(key, schema, s.b[i]); p != nil {
			return 0, p
		}
		if p := tooLong(key, schema, s.b, i); p != nil {
			return 0, p
		}
		var p *huma.ErrorDetail
		if i, p = s.value(i, depth); p != nil {
			return 0, p
		}
		if i = s.skip(i); s.b[i] == ',' {
			i = s.skip(i + 1)
		}
	}
	s.keys[depth] = keys[:0]
	return i + 1, nil
}

func (s *bodyScan) array(i, depth int) (int, *huma.ErrorDetail) {
	if depth > maxBodyDepth {
		return 0, deepProblem(i)
	}
	i = s.skip(i + 1)
	n := 0
	for s.b[i] != ']' {
		n++
		if n > maxBodyElements {
			return 0, &huma.ErrorDetail{Location: "body", Message: fmt.Sprintf("an array has more than %d elements (byte %d)", maxBodyElements, i)}
		}
		var p *huma.ErrorDetail
		if i, p = s.value(i, depth); p != nil {
			return 0, p
		}
		if i = s.skip(i); s.b[i] == ',' {
			i = s.skip(i + 1)
		}
	}
	return i + 1, nil
}

// str returns the index after the string starting at i.
func (s *bodyScan) str(i int) int {
	for i++; ; i++ {
		switch s.b[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
}

func (s *bodyScan) skip(i int) int {
	for i < len(s.b) && (s.b[i] == ' ' || s.b[i] == '\t' || s.b[i] == '\r' || s.b[i] == '\n') {
		i++
	}
	return i
}

// tooDeep returns the index of the first bracket nested deeper than
// maxBodyDepth, or -1. It reads any bytes, valid JSON or not, so that depth
// is reported as such rather than as the syntax error the JSON scanner
// makes of it.
func tooDeep(b []byte) int {
	depth, inStr := 0, false
	for i := 0; i < len(b); i++ {
		switch c := b[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case inStr:
		case c == '[' || c == '{':
			if depth++; depth > maxBodyDepth {
				return i
			}
		case c == ']' || c == '}':
			depth--
		}
	}
	return -1
}

// decodeKey returns a quoted key as the decoders will see it.
func decodeKey(raw []byte) string {
	if !bytes.ContainsRune(raw, '\\') {
		return string(raw[1 : len(raw)-1])
	}
	var k string
	_ = json.Unmarshal(raw, &k)
	return k
}

func deepProblem(i int) *huma.ErrorDetail {
	return &huma.ErrorDetail{Location: "body", Message: fmt.Sprintf("nested more than %d levels deep (byte %d)", maxBodyDepth, i)}
}

// wrongShape reports an array or an object given for a field whose schema
// allows neither: no value form of Ottr's turns one into a scalar.
func wrongShape(key string, schema *huma.Schema, first byte) *huma.ErrorDetail {
	if schema == nil || (first != '[' && first != '{') {
		return nil
	}
	if schema.Type == "" {
		return nil // not declared: anything goes
	}
	got := map[byte]string{'[': "array", '{': "object"}[first]
	if schema.Type == got {
		return nil
	}
	return &huma.ErrorDetail{Location: "body." + key, Message: fmt.Sprintf("must be %s %s, not %s %s", article(schema.Type), schema.Type, article(got), got)}
}

// tooLong reports a string at i far over its field's maxLength: so far
// (12 bytes a character, the longest escape) that no decoding can bring
// it within, and cheap to tell before decoders spend passes over it.
func tooLong(key string, schema *huma.Schema, b []byte, i int) *huma.ErrorDetail {
	if schema == nil || b[i] != '"' {
		return nil
	}
	limit := stringLimit(schema)
	if limit < 0 {
		return nil
	}
	end := i + 1
	for end < len(b) && b[end] != '"' {
		if b[end] == '\\' {
			end++
		}
		end++
		if end-i > 12*limit+2 {
			return &huma.ErrorDetail{Location: "body." + key, Message: fmt.Sprintf("longer than %d characters", limit)}
		}
	}
	return nil
}

// stringLimit is the most characters a string may have where schema is:
// its maxLength, its longest enum value, or, where the schema takes a
// number or a boolean, that of any string form of one ("True", "443");
// -1 when it sets none.
func stringLimit(schema *huma.Schema) int {
	if schema.MaxLength != nil {
		return *schema.MaxLength
	}
	if len(schema.Enum) > 0 {
		n := 0
		for _, v := range schema.Enum {
			s, ok := v.(string)
			if !ok {
				return -1
			}
			n = max(n, len(s))
		}
		return n
	}
	switch schema.Type {
	case huma.TypeInteger, huma.TypeNumber, huma.TypeBoolean:
		if len(schema.AnyOf) == 0 && len(schema.OneOf) == 0 {
			return 64
		}
	}
	return -1
}

// unknownField names the first unknown key and the fields there are.
func unknownField(key string, fields map[string]*huma.Schema) *huma.ErrorDetail {
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	slices.Sort(names)
	return &huma.ErrorDetail{Location: "body." + short(key), Message: "unknown field; the fields are " + strings.Join(names, ", ")}
}
