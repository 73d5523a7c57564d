package ottr

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Error codes. EINVALID, EUNAUTHORIZED and EFORBIDDEN are permanent: retrying
// the same request cannot succeed. The rotation engine retries the others.
const (
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ECONFLICT     = "conflict"
	EUNAUTHORIZED = "unauthorized"
	EFORBIDDEN    = "forbidden"
	EUNAVAILABLE  = "unavailable"
	EINTERNAL     = "internal"
)

// Problem is one thing wrong with one field of an input. Field is the JSON
// name (or JSON path, e.g. "platform.panos.os") of the offending value.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Error is an error whose Message is safe to show to users. Errors without a
// code are internal and their text is not shown outside the process.
type Error struct {
	Code     string
	Message  string
	Problems []Problem // per-field details for EINVALID
	// RetryAfter, when set on a transient error, is how long the other
	// side asked us to wait before trying again (HTTP Retry-After).
	RetryAfter time.Duration
	// Err is the cause, reached by errors.Is and errors.As. Its text is
	// part of Error() but not of Message: a cause (a dial error, a
	// driver's reply) is for operators, not necessarily for API users.
	Err error
}

// Error returns the message, every problem it does not already state and
// the cause, on one line: "bigip driver for lb1: profiles: is required;
// serve: is required". One line because the text is wrapped by other
// layers and stored as a rotation's error; callers that want a problem per
// line use Problems.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	sep := ": "
	for _, p := range e.Problems {
		s := p.String()
		if strings.Contains(e.Message, s) {
			// Invalid and Forbidden put a problem in the message; the
			// rest continue its list.
			sep = "; "
			continue
		}
		if b.Len() > 0 {
			b.WriteString(sep)
		}
		b.WriteString(s)
		sep = "; "
	}
	if e.Err != nil {
		c := strings.TrimSpace(e.Err.Error())
		// Errorf with %w has put the cause's text in the message already.
		if !strings.Contains(e.Message, c) {
			if b.Len() > 0 {
				b.WriteString(": ")
			}
			b.WriteString(c)
		}
	}
	return b.String()
}

// Unwrap returns the cause, or nil.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and formatted message. A %w
// verb wraps its operand as the cause, as fmt.Errorf does; the cause's text
// is then part of Message.
func Errorf(code, format string, args ...any) *Error {
	w := fmt.Errorf(format, args...)
	e := &Error{Code: code, Message: w.Error()}
	switch u := w.(type) {
	case interface{ Unwrap() error }:
		e.Err = u.Unwrap()
	case interface{ Unwrap() []error }:
		e.Err = w // several %w: w unwraps to each, and its text is Message
	}
	return e
}

// Wrap returns an *Error with the given code and formatted message whose
// cause is err. Unlike Errorf with %w, the cause's text stays out of
// Message (what API users see) and appears only in Error().
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Invalid returns an EINVALID *Error listing problems. With one problem its
// message is that problem; with several, msg heads the list.
func Invalid(msg string, problems ...Problem) *Error {
	if len(problems) == 1 {
		return &Error{Code: EINVALID, Message: problems[0].String(), Problems: problems}
	}
	return &Error{Code: EINVALID, Message: msg, Problems: problems}
}

// Forbidden returns an EFORBIDDEN *Error naming the fields the caller may
// not change; its message is msg followed by the first problem.
func Forbidden(msg string, problems ...Problem) *Error {
	if len(problems) > 0 {
		msg += ": " + problems[0].String()
	}
	return &Error{Code: EFORBIDDEN, Message: msg, Problems: problems}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for other non-nil errors and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the user-safe message of err: the Message of the first
// *Error in its chain, or a generic text for internal errors.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorProblems returns the per-field problems of the first *Error in err's
// chain.
func ErrorProblems(err error) []Problem {
	var e *Error
	if errors.As(err, &e) {
		return e.Problems
	}
	return nil
}

// IsPermanent reports whether retrying the operation that returned err
// cannot help.
func IsPermanent(err error) bool {
	switch ErrorCode(err) {
	case EINVALID, EUNAUTHORIZED, EFORBIDDEN:
		return true
	}
	return false
}

// ErrorRetryAfter returns the RetryAfter of the first *Error in err's chain.
func ErrorRetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
