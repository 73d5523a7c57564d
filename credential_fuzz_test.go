package ottr_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// goTypeNames are fragments of Go type names an error must never show a
// user.
var goTypeNames = []string{"float64", "interface {}", "map[string]", "[]interface", "*ottr.", "%!"}

// checkUserError fails t unless err is an ottr EINVALID error with a
// message, free of Go type names (unless the input itself, echoed as a
// field name, holds the fragment).
func checkUserError(t *testing.T, err error, input ...[]byte) {
	t.Helper()
	if ottr.ErrorCode(err) != ottr.EINVALID || ottr.ErrorMessage(err) == "" {
		t.Fatalf("error %q (code %q): want an EINVALID error with a message", err, ottr.ErrorCode(err))
	}
	for _, frag := range goTypeNames {
		if len(input) > 0 && strings.Contains(string(input[0]), frag) {
			continue
		}
		if strings.Contains(err.Error(), frag) {
			t.Fatalf("error %q shows a Go type (%s)", err, frag)
		}
	}
}

// credentialValues are the values the input gives, as the parser would
// read them, for checking that no error repeats one. Values short enough
// to occur by chance in a message, or inside a key, are left out.
func credentialValues(b []byte) []string {
	var vals, keys []string
	var m map[string]any
	if json.Unmarshal(b, &m) == nil {
		for k, v := range m {
			keys = append(keys, k)
			if s, ok := v.(string); ok {
				vals = append(vals, s)
			}
		}
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			keys = append(keys, strings.ToLower(k))
			vals = append(vals, strings.Trim(strings.TrimSpace(v), `"'`))
		}
	}
	inKey := func(v string) bool {
		for _, k := range keys {
			if strings.Contains(k, v) {
				return true
			}
		}
		return false
	}
	var out []string
	for _, v := range vals {
		if len(v) >= 8 && !strings.Contains(credentialMessages, v) && !inKey(v) {
			out = append(out, v)
		}
	}
	return out
}

// credentialMessages is the fixed text of ParseCredential's errors: a
// value that is part of it is no leak.
const credentialMessages = "credential: empty input (want a JSON object or KEY=VALUE lines) JSON syntax error at byte " +
	"want a JSON object of strings must be a string, not a number true or false a list an object null want KEY=VALUE " +
	"key must be lower-case letters, digits and '_' (e.g. username, password, private_key) credential is invalid no values"

func TestParseCredentialNamesJSONKinds(t *testing.T) {
	for in, want := range map[string]string{
		`{"password": 5}`:             "a number",
		`{"password": true}`:          "true or false",
		`{"password": ["S3cret!pw"]}`: "a list",
		`{"password": {"a": "b"}}`:    "an object",
		`{"password": null}`:          "null",
	} {
		_, err := ottr.ParseCredential([]byte(in))
		checkUserError(t, err)
		if !strings.Contains(err.Error(), "password: must be a string, not "+want) {
			t.Errorf("%s: %q; want it to say the value is %s", in, err, want)
		}
	}
}

func FuzzParseCredential(f *testing.F) {
	for _, s := range []string{
		`{"username": "admin", "password": "S3cret!pw"}`,
		"# PAN-OS API user\nUSERNAME=admin\npassword = \"S3cret!pw\"\n\n",
		"api_key='LUFRPT14MW5xOEo1R09KVlBZNnpnemh0VHRBOWl6TGM9'",
		`{"password": 5, "Bad Key": "hunter2hunter2"}`,
		"username admin\npassword=hunter2hunter2",
		`{"password": "unterminated`,
		"private_key=-----BEGIN PRIVATE KEY-----",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ottr.ParseCredential(b)
		if err != nil {
			checkUserError(t, err, b)
			for _, v := range credentialValues(b) {
				if strings.Contains(err.Error(), v) {
					t.Fatalf("error %q repeats the value %q", err, v)
				}
			}
			return
		}
		if len(c) == 0 {
			t.Fatal("no error and no values")
		}
		// What is sealed at rest reads back the same.
		clear, err := c.Reveal()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ottr.ParseCredential(clear)
		if err != nil {
			t.Fatalf("sealed form %d bytes does not parse: %v", len(clear), err)
		}
		if len(again) != len(c) {
			t.Fatalf("round trip has keys %v, want %v", again.Keys(), c.Keys())
		}
		for k, v := range c {
			if again.Get(k).Reveal() != v.Reveal() {
				t.Fatalf("round trip changed the value of %s", k)
			}
		}
	})
}

// TestParseCredentialRefusesNonUTF8: a value that is not UTF-8 would be
// changed when sealed at rest (as JSON), so it is refused, naming the key
// and not the value.
func TestParseCredentialRefusesNonUTF8(t *testing.T) {
	_, err := ottr.ParseCredential([]byte("username=admin\npassword=S3cret\xd9pw\n"))
	checkUserError(t, err)
	if !strings.Contains(err.Error(), "password: ") || strings.Contains(err.Error(), "S3cret") {
		t.Errorf("%q: want a problem on password that does not show the value", err)
	}
}
