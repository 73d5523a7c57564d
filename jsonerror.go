package ottr

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

// DescribeJSONError says what is wrong with a JSON document in words for
// whoever wrote it: where (line and column), and what was found where
// something else belongs. encoding/json's own text names Go types
// ("cannot unmarshal array into Go value of type map[string]json.RawMessage")
// or just "EOF" for an empty file. data is the document err came from
// (nil when it was streamed: no line and column then).
func DescribeJSONError(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.EOF), data != nil && len(bytes.TrimSpace(data)) == 0:
		return "the document is empty: want JSON"
	case errors.Is(err, io.ErrUnexpectedEOF), err.Error() == "unexpected end of JSON input":
		return "the JSON ends early: a bracket, brace or quote is not closed"
	case errors.As(err, &se):
		msg := strings.TrimPrefix(se.Error(), "json: ")
		if data == nil {
			return msg
		}
		line, col := lineCol(data, se.Offset)
		return fmt.Sprintf("line %d, column %d: %s", line, col, msg)
	case errors.As(err, &te):
		msg := fmt.Sprintf("found a JSON %s where %s belongs", te.Value, jsonKind(te.Type))
		if te.Field != "" {
			msg = te.Field + ": " + msg
		}
		return msg
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// lineCol converts a byte offset (as json.SyntaxError gives it, just past
// the offending byte) to a 1-based line and column.
func lineCol(data []byte, off int64) (int, int) {
	line, col := 1, 1
	for i := 0; i < int(off)-1 && i < len(data); i++ {
		if data[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return line, col
}

// jsonKind names the JSON that a Go type is decoded from.
func jsonKind(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Map, reflect.Struct:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "another value"
}
