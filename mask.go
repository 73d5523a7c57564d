package ottr

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// MinMaskLen is the shortest value a Masker hides. Shorter values (a PIN
// of two digits) are not masked: hiding every "42" would make the log
// unreadable while protecting nothing worth a credential.
const MinMaskLen = 3

// Masker replaces secret values, and the forms a program is likely to
// print them in (base64, URL and JSON escaping, each line of a multi-line
// key, the key's DER in base64, user:password as in Basic auth), with
// [REDACTED]. The rotation engine keeps one per rotation run and masks
// every log line and error it stores with it, whatever printed the
// secret. A nil *Masker masks nothing. It is safe for concurrent use.
type Masker struct {
	mu    sync.RWMutex
	forms map[string]bool
	r     *strings.Replacer
}

// NewMasker returns a Masker with no secrets yet.
func NewMasker() *Masker { return &Masker{forms: map[string]bool{}} }

// Add registers secret values; values shorter than MinMaskLen are ignored.
func (m *Masker) Add(values ...Secret) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	n := len(m.forms)
	for _, v := range values {
		for _, f := range forms(v.Reveal()) {
			if len(f) >= MinMaskLen {
				m.forms[f] = true
			}
		}
	}
	if len(m.forms) == n {
		return
	}
	// Longest first: a form containing another is replaced whole.
	all := make([]string, 0, len(m.forms))
	for f := range m.forms {
		all = append(all, f)
	}
	sort.Slice(all, func(i, j int) bool {
		if len(all[i]) != len(all[j]) {
			return len(all[i]) > len(all[j])
		}
		return all[i] < all[j]
	})
	pairs := make([]string, 0, 2*len(all))
	for _, f := range all {
		pairs = append(pairs, f, redacted)
	}
	m.r = strings.NewReplacer(pairs...)
}

// AddCredential registers every value of c except the username, which is
// not secret and makes a refused login diagnosable, and registers
// username:password, the text Basic auth encodes.
func (m *Masker) AddCredential(c Credential) {
	for k, v := range c {
		if k != "username" && k != "user" {
			m.Add(v)
		}
	}
	if u, p := c.Get("username"), c.Get("password"); !u.IsZero() && !p.IsZero() {
		m.Add(Secret(u.Reveal() + ":" + p.Reveal()))
	}
}

// forms is v as programs print it.
func forms(v string) []string {
	if v == "" {
		return nil
	}
	out := []string{v}
	if t := strings.TrimSpace(v); t != v {
		out = append(out, t)
	}
	b := []byte(v)
	out = append(out, base64.StdEncoding.EncodeToString(b), base64.RawStdEncoding.EncodeToString(b),
		base64.URLEncoding.EncodeToString(b), base64.RawURLEncoding.EncodeToString(b),
		url.QueryEscape(v), url.PathEscape(v), unquote(strconv.Quote(v)))
	if j, err := json.Marshal(v); err == nil {
		out = append(out, unquote(string(j)))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if enc.Encode(v) == nil {
		out = append(out, unquote(strings.TrimSpace(buf.String())))
	}
	// A key printed line by line is logged line by line.
	if strings.Contains(v, "\n") {
		for _, l := range strings.Split(v, "\n") {
			out = append(out, strings.TrimSpace(l))
		}
	}
	if blk, _ := pem.Decode(b); blk != nil {
		out = append(out, base64.StdEncoding.EncodeToString(blk.Bytes))
	}
	return out
}

func unquote(q string) string { return strings.TrimSuffix(strings.TrimPrefix(q, `"`), `"`) }

// Mask returns s with every registered secret replaced by [REDACTED].
func (m *Masker) Mask(s string) string {
	if m == nil {
		return s
	}
	m.mu.RLock()
	r := m.r
	m.mu.RUnlock()
	if r == nil {
		return s
	}
	return r.Replace(s)
}

// MaskError returns err with its text masked: the same code, problems and
// RetryAfter, so callers decide as before. An error whose text holds no
// secret is returned as it is (errors.Is still finds context.Canceled);
// one that does loses its chain, whose texts are what leaked.
func (m *Masker) MaskError(err error) error {
	if err == nil || m == nil {
		return err
	}
	text := m.Mask(err.Error())
	var e *Error
	if !errors.As(err, &e) {
		if text == err.Error() {
			return err
		}
		return errors.New(text)
	}
	me := &Error{Code: e.Code, Message: m.Mask(e.Message), RetryAfter: e.RetryAfter}
	changed := text != err.Error() || me.Message != e.Message
	for _, p := range e.Problems {
		mp := Problem{Field: m.Mask(p.Field), Message: m.Mask(p.Message)}
		changed = changed || mp != p
		me.Problems = append(me.Problems, mp)
	}
	if !changed {
		return err
	}
	return &maskedError{text: text, err: me}
}

// maskedError is an error whose text was masked; it unwraps to the masked
// *Error so ErrorCode and ErrorMessage see the masked message.
type maskedError struct {
	text string
	err  *Error
}

func (e *maskedError) Error() string { return e.text }
func (e *maskedError) Unwrap() error { return e.err }

type maskerKey struct{}

// WithMasker returns a context carrying m: Logf masks every line with it,
// and MaskCredential registers credentials resolved under the context.
func WithMasker(ctx context.Context, m *Masker) context.Context {
	return context.WithValue(ctx, maskerKey{}, m)
}

// MaskerFrom returns the Masker ctx carries, or nil.
func MaskerFrom(ctx context.Context) *Masker {
	m, _ := ctx.Value(maskerKey{}).(*Masker)
	return m
}

// MaskCredential registers c's values with the Masker ctx carries, if
// any. Whatever resolves a device's credential calls it, so the rotation
// that asked masks those values in everything it stores.
func MaskCredential(ctx context.Context, c Credential) {
	MaskerFrom(ctx).AddCredential(c)
}
