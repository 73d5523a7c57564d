package ottr_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

const testKey = `-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIBkg4LVWM9nuwNSk3yRxxbFyNM6qnbBWYKMIq2HxU0qDoAoGCCqGSM49
AwEHoUQDQgAEfbAX1Ma9uk3bZTYq8MTsq5hQxmQ+n3XJ4AqKUqbNFvZ2Qn5BtLKu
ZCxP7tRzTqbwNfKgcUkk8+jBFEtpwyGMYA==
-----END EC PRIVATE KEY-----
`

// Every common encoding of a credential value is masked, wherever it sits
// in a line; the username is not a secret and stays readable.
func TestMaskerHidesEncodings(t *testing.T) {
	const pw = `pa$$ w0rd/with"quotes<&>`
	m := ottr.NewMasker()
	m.AddCredential(ottr.Credential{"username": "ottr-api", "password": pw, "private_key": testKey, "pin": "42"})
	b64 := base64.StdEncoding.EncodeToString
	lines := map[string]string{
		"plain":               "login failed for " + pw + " (retry)",
		"base64":              "Authorization: Basic " + b64([]byte(pw)),
		"base64 url":          "token=" + base64.RawURLEncoding.EncodeToString([]byte(pw)),
		"basic auth":          "Authorization: Basic " + b64([]byte("ottr-api:"+pw)),
		"query":               "GET /api/?type=keygen&user=ottr-api&password=" + url.QueryEscape(pw),
		"path":                "GET /login/" + url.PathEscape(pw),
		"json":                fmt.Sprintf(`{"user":"ottr-api","password":%q}`, pw),
		"json no html escape": `{"password":"pa$$ w0rd/with\"quotes<&>"}`,
		"json html escape":    `{"password":"pa$$ w0rd/with\"quotes\u003c\u0026\u003e"}`,
		"key whole":           "key: " + testKey,
		"key line":            "  AwEHoUQDQgAEfbAX1Ma9uk3bZTYq8MTsq5hQxmQ+n3XJ4AqKUqbNFvZ2Qn5BtLKu",
		"key json":            fmt.Sprintf(`{"key":%q}`, testKey),
		"key der":             "der=" + strings.ReplaceAll(strings.Join(strings.Split(testKey, "\n")[1:4], ""), "\n", ""),
	}
	for name, line := range lines {
		got := m.Mask(line)
		if !strings.Contains(got, "[REDACTED]") {
			t.Errorf("%s: nothing masked in %q", name, got)
		}
		for _, leak := range []string{pw, "w0rd", "MHcCAQEEIBkg4LVWM9nuwNSk3yRxxbFyNM6qnbBWYKMIq2HxU0qDoAoGCCqGSM49", "AwEHoUQDQgAEfbAX1Ma9uk3bZTYq8MTsq5hQxmQ", "ZCxP7tRzTqbwNfKgcUkk8"} {
			if strings.Contains(got, leak) {
				t.Errorf("%s: %q left in %q", name, leak, got)
			}
		}
	}
	if got := m.Mask(lines["base64"]); strings.Contains(got, b64([]byte(pw))[:12]) {
		t.Errorf("base64 form left: %q", got)
	}
	// Usernames stay, and values shorter than 3 bytes are not masked:
	// they would blank out every log line.
	if got := m.Mask("logged in as ottr-api with pin 42"); got != "logged in as ottr-api with pin 42" {
		t.Errorf("Mask = %q", got)
	}
	var none *ottr.Masker
	if got := none.Mask("x " + pw); got != "x "+pw {
		t.Errorf("nil Masker changed the text: %q", got)
	}
}

// MaskError keeps an error's code, problems and retry hint, masks its
// text, and leaves errors without secrets as they are.
func TestMaskError(t *testing.T) {
	m := ottr.NewMasker()
	m.Add("s3cret-token")
	err := fmt.Errorf("install on the device: %w", &ottr.Error{Code: ottr.EUNAUTHORIZED, Message: "login as s3cret-token refused",
		Problems: []ottr.Problem{{Field: "credential", Message: "s3cret-token expired"}}})
	got := m.MaskError(err)
	if ottr.ErrorCode(got) != ottr.EUNAUTHORIZED || ottr.ErrorMessage(got) != "login as [REDACTED] refused" ||
		got.Error() != "install on the device: login as [REDACTED] refused: credential: [REDACTED] expired" ||
		ottr.ErrorProblems(got)[0].Message != "[REDACTED] expired" {
		t.Errorf("MaskError = %q (%s, %q, %v)", got, ottr.ErrorCode(got), ottr.ErrorMessage(got), ottr.ErrorProblems(got))
	}
	internal := m.MaskError(errors.New("dial s3cret-token: refused"))
	if ottr.ErrorCode(internal) != ottr.EINTERNAL || internal.Error() != "dial [REDACTED]: refused" {
		t.Errorf("internal error = %q", internal)
	}
	// A secret only in the cause is masked too; the code stays.
	caused := m.MaskError(ottr.Wrap(ottr.EUNAVAILABLE, errors.New("dial user:s3cret-token@lb1: refused"), "lb1 unreachable"))
	if ottr.ErrorCode(caused) != ottr.EUNAVAILABLE || caused.Error() != "lb1 unreachable: dial user:[REDACTED]@lb1: refused" {
		t.Errorf("cause with a secret = %q (%s)", caused, ottr.ErrorCode(caused))
	}
	plain := fmt.Errorf("step: %w", context.DeadlineExceeded)
	if got := m.MaskError(plain); got != plain || !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("an error without secrets was replaced: %v", got)
	}
	if m.MaskError(nil) != nil {
		t.Error("MaskError(nil) != nil")
	}
}

// Logf masks every line with the masker of its context, whatever the
// driver formatted into it.
func TestLogfMasksSecretsOfTheContext(t *testing.T) {
	var lines []string
	ctx := ottr.WithStepLog(t.Context(), func(l string) { lines = append(lines, l) })
	ctx = ottr.WithMasker(ctx, ottr.NewMasker())
	ottr.MaskCredential(ctx, ottr.Credential{"password": "hunter2-pw"})
	ottr.Logf(ctx, "device said: bad password %s (%s)", "hunter2-pw", base64.StdEncoding.EncodeToString([]byte("hunter2-pw")))
	if want := "device said: bad password [REDACTED] ([REDACTED])"; len(lines) != 1 || lines[0] != want {
		t.Errorf("lines = %q, want %q", lines, want)
	}
	// Without a masker, MaskCredential does nothing and Logf logs as is.
	ottr.MaskCredential(t.Context(), ottr.Credential{"password": "hunter2-pw"})
}
