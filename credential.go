package ottr

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Credential is a named set of values a driver logs in with: username,
// password, private_key, token, … Values are Secrets, so a Credential
// printed, logged or marshalled shows no value. Ottr kept one per platform
// in a secrets manager (<prefix>/otter/<platform>); Ottr's sets are per
// platform or per asset.
type Credential map[string]Secret

// CredentialSecretPrefix starts the names of the secrets (SecretStore)
// stored credential sets are sealed under: set NAME is
// "credential/NAME".
const CredentialSecretPrefix = "credential/"

// Get returns the value of key, or "".
func (c Credential) Get(key string) Secret { return c[key] }

// Keys returns the credential's keys, sorted. Keys are not secret.
func (c Credential) Keys() []string {
	out := make([]string, 0, len(c))
	for k := range c {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Reveal returns the values in clear, as JSON, for sealing at rest.
func (c Credential) Reveal() ([]byte, error) {
	m := make(map[string]string, len(c))
	for k, v := range c {
		m[k] = v.Reveal()
	}
	return json.Marshal(m)
}

// CredentialResolver finds the credential a reference names: a stored set
// ("panos-admin"), "env:NAME" or "file:PATH". It registers the values it
// returns with ctx's Masker (MaskCredential), so a rotation never stores
// them in its log or errors.
type CredentialResolver interface {
	Credential(ctx context.Context, ref string) (Credential, error)
}

var credKey = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// CheckCredentialName reports why name cannot name a stored credential set.
func CheckCredentialName(name string) error {
	if !regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`).MatchString(name) {
		return Errorf(EINVALID, "credential name %q: use letters, digits, '.', '_' or '-' (at most 128)", name)
	}
	return nil
}

// ParseCredential reads a credential set written as a JSON object of
// strings, or as KEY=VALUE lines (blank lines and # comments ignored; a
// value may be quoted). Keys are lower case: username, password,
// private_key, passphrase, token, …
func ParseCredential(b []byte) (Credential, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return nil, Errorf(EINVALID, "credential: empty input (want a JSON object or KEY=VALUE lines)")
	}
	c := Credential{}
	var probs []Problem
	if b[0] == '{' {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			// Say where, not what: the text around the error is a secret.
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return nil, Errorf(EINVALID, "credential: JSON syntax error at byte %d", se.Offset)
			}
			return nil, Errorf(EINVALID, "credential: want a JSON object of strings")
		}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				probs = append(probs, Problem{Field: k, Message: "must be a string, not " + jsonKindOf(v)})
				continue
			}
			c[k] = Secret(s)
		}
	} else {
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		line := 0
		for sc.Scan() {
			line++
			t := strings.TrimSpace(sc.Text())
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			k, v, ok := strings.Cut(t, "=")
			if !ok {
				probs = append(probs, Problem{Field: fmt.Sprintf("line %d", line), Message: "want KEY=VALUE"})
				continue
			}
			k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
			if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
				v = v[1 : len(v)-1]
			}
			if !utf8.ValidString(v) {
				// Sealed at rest as JSON, it would come back changed.
				probs = append(probs, Problem{Field: k, Message: "value is not UTF-8 text"})
				continue
			}
			c[k] = Secret(v)
		}
		if err := sc.Err(); err != nil {
			return nil, Errorf(EINVALID, "credential: %v", err)
		}
	}
	for k := range c {
		if !credKey.MatchString(k) {
			probs = append(probs, Problem{Field: k, Message: "key must be lower-case letters, digits and '_' (e.g. username, password, private_key)"})
		}
	}
	if len(probs) > 0 {
		sort.Slice(probs, func(i, j int) bool { return probs[i].Field < probs[j].Field })
		return nil, Invalid("credential is invalid", probs...)
	}
	if len(c) == 0 {
		return nil, Errorf(EINVALID, "credential: no values")
	}
	return c, nil
}

// jsonKindOf names a decoded JSON value's kind as a user wrote it, never
// as Go holds it, and without the value (it may be a secret).
func jsonKindOf(v any) string {
	switch v.(type) {
	case float64:
		return "a number"
	case bool:
		return "true or false"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	case nil:
		return "null"
	}
	return "a string"
}
