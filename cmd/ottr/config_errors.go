package main

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ottr-dev/ottr"
	"go.yaml.in/yaml/v3"
)

// configDecodeError turns the YAML decoder's error for a config file into
// problems under key paths ("router.interval: want a duration like 90s,
// found a list"): yaml's own text names Go types (main.RouterConfig,
// []string) that mean nothing to whoever edits the file.
func configDecodeError(path string, data []byte, err error) error {
	var te *yaml.TypeError
	errs := []string{err.Error()}
	switch {
	case errors.As(err, &te):
		errs = te.Errors
	case strings.HasPrefix(err.Error(), "yaml: "):
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		return ottr.Invalid("", ottr.Problem{Field: path, Message: "not valid YAML: " + msg + " (check the indentation, and quote values that contain ': ' or start with a special character)"})
	}
	// The rest is a type error, or one of our UnmarshalYAML methods'
	// ("line 2: \"abc\" is not a duration").
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	probs := make([]ottr.Problem, 0, len(errs))
	for _, e := range errs {
		probs = append(probs, yamlTypeProblem(&root, reflect.TypeFor[Config](), path+" ", e))
	}
	return ottr.Invalid(fmt.Sprintf("config %s has %d problem(s)", path, len(probs)), probs...)
}

// nodeDecodeError is configDecodeError for a block decoded on its own
// into v (a DNS provider's settings): problems are under key paths within
// the block.
func nodeDecodeError(n *yaml.Node, v any, err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return ottr.Invalid("", ottr.Problem{Message: strings.TrimPrefix(err.Error(), "yaml: ")})
	}
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	probs := make([]ottr.Problem, 0, len(te.Errors))
	for _, e := range te.Errors {
		probs = append(probs, yamlTypeProblem(n, t, "", e))
	}
	return ottr.Invalid(fmt.Sprintf("%d problem(s)", len(probs)), probs...)
}

var (
	yamlLine    = regexp.MustCompile(`^line (\d+): (.*)$`)
	yamlUnknown = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
	yamlType    = regexp.MustCompile("^cannot unmarshal (!!\\w+)(?: `(.*)`)? into .+$")
)

// yamlTypeProblem explains one of yaml's "line N: ..." type errors at
// the key path written on line N of root, a document decoded into rootType;
// file prefixes the line number.
func yamlTypeProblem(root *yaml.Node, rootType reflect.Type, file, e string) ottr.Problem {
	m := yamlLine.FindStringSubmatch(e)
	if m == nil {
		return ottr.Problem{Field: strings.TrimSpace(file), Message: e}
	}
	line, _ := strconv.Atoi(m[1])
	where := file + "line " + m[1]
	keys := keyPathAt(root, line, "")
	if u := yamlUnknown.FindStringSubmatch(m[2]); u != nil {
		parent := keys
		if len(keys) > 0 && keys[len(keys)-1] == u[1] {
			parent = keys[:len(keys)-1]
		}
		field := strings.Join(append(append([]string{}, parent...), u[1]), ".")
		msg := "unknown key (" + where + ")"
		if known := yamlKeys(rootType, parent); len(known) > 0 {
			msg += "; the keys here are " + strings.Join(known, ", ")
		}
		return ottr.Problem{Field: field, Message: msg}
	}
	if t := yamlType.FindStringSubmatch(m[2]); t != nil {
		if k := keyPathAt(root, line, t[1]); k != nil {
			keys = k // the value yaml refused, not a key inside it
		}
		found := map[string]string{"!!seq": "a list", "!!map": "a mapping", "!!null": "nothing"}[t[1]]
		if found == "" {
			found = strconv.Quote(t[2])
			if t[1] != "!!str" {
				found = t[2]
			}
		}
		want := "a value of another kind"
		if ft, ok := typeAt(rootType, keys); ok {
			want = describeKind(ft)
		}
		return ottr.Problem{Field: strings.Join(keys, "."), Message: fmt.Sprintf("want %s, found %s (%s)", want, found, where)}
	}
	return ottr.Problem{Field: strings.Join(keys, "."), Message: m[2] + " (" + where + ")"}
}

// keyPathAt is the path of the deepest mapping key written on line, or
// whose value starts on it; with tag (!!map), of the deepest whose value
// starts there and has that tag.
func keyPathAt(n *yaml.Node, line int, tag string) []string {
	var best []string
	var walk func(n *yaml.Node, path []string)
	walk = func(n *yaml.Node, path []string) {
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				p := append(append([]string{}, path...), k.Value)
				at := k.Line == line || v.Line == line
				if tag != "" {
					at = v.Line == line && v.ShortTag() == tag
				}
				if at && len(p) > len(best) {
					best = p
				}
				walk(v, p)
			}
		}
	}
	walk(n, nil)
	return best
}

// typeAt is the Go type of the field of t at a key path; map keys (CA
// and recipe names) step into the map's values.
func typeAt(t reflect.Type, keys []string) (reflect.Type, bool) {
	for _, k := range keys {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Map:
			t = t.Elem()
		case reflect.Struct:
			f, ok := fieldByYAML(t, k)
			if !ok {
				return nil, false
			}
			t = f.Type
		default:
			return nil, false
		}
	}
	return t, true
}

func fieldByYAML(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")
		if tag[0] == key {
			return f, true
		}
		if len(tag) > 1 && tag[1] == "inline" && f.Type.Kind() == reflect.Struct {
			if g, ok := fieldByYAML(f.Type, key); ok {
				return g, true
			}
		}
	}
	return reflect.StructField{}, false
}

// yamlKeys are the keys a mapping at path accepts, when it is a struct.
func yamlKeys(root reflect.Type, path []string) []string {
	t, ok := typeAt(root, path)
	if !ok || t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	var collect func(t reflect.Type)
	collect = func(t reflect.Type) {
		for i := 0; i < t.NumField(); i++ {
			tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")
			switch {
			case len(tag) > 1 && tag[1] == "inline":
				collect(t.Field(i).Type)
			case tag[0] != "" && tag[0] != "-":
				keys = append(keys, tag[0])
			}
		}
	}
	collect(t)
	sort.Strings(keys)
	return keys
}

func describeKind(t reflect.Type) string {
	if t == reflect.TypeOf(Duration(0)) {
		return "a duration like 90s, 12h or 30d"
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "a mapping of keys"
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
	return "a value of another kind"
}
