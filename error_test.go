package ottr_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

func TestErrorKeepsItsCause(t *testing.T) {
	dial := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	err := fmt.Errorf("install: %w", ottr.Wrap(ottr.EUNAVAILABLE, dial, "bigip %s unreachable", "lb1.example.com"))

	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("errors.Is does not reach the sentinel through %q", err)
	}
	var op *net.OpError
	if !errors.As(err, &op) || op != dial {
		t.Errorf("errors.As does not reach the *net.OpError through %q", err)
	}
	if got := ottr.ErrorCode(err); got != ottr.EUNAVAILABLE {
		t.Errorf("ErrorCode = %q, want %q", got, ottr.EUNAVAILABLE)
	}
	// The message stays what users may see; the cause is for the chain.
	if got := ottr.ErrorMessage(err); got != "bigip lb1.example.com unreachable" {
		t.Errorf("ErrorMessage = %q", got)
	}
	if want := "install: bigip lb1.example.com unreachable: dial tcp: connection refused"; err.Error() != want {
		t.Errorf("Error() = %q\nwant      %q", err.Error(), want)
	}
}

func TestErrorfWrapsWithPercentW(t *testing.T) {
	err := ottr.Errorf(ottr.EINVALID, "credential file %s: %w", "dev.json", fs.ErrNotExist)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(%q, fs.ErrNotExist) = false", err)
	}
	// The cause's text is in the message already: Error() does not repeat it.
	if want := "credential file dev.json: file does not exist"; err.Error() != want || err.Message != want {
		t.Errorf("Error() = %q, Message = %q, want both %q", err.Error(), err.Message, want)
	}
	// %v keeps formatting as it always did, with no cause.
	if e := ottr.Errorf(ottr.EINVALID, "bad: %v", fs.ErrNotExist); e.Err != nil || errors.Is(e, fs.ErrNotExist) {
		t.Errorf("%%v made a cause: %#v", e.Err)
	}
	// Two %w keep both.
	two := ottr.Errorf(ottr.EUNAVAILABLE, "%w and %w", context.DeadlineExceeded, fs.ErrClosed)
	if !errors.Is(two, context.DeadlineExceeded) || !errors.Is(two, fs.ErrClosed) || two.Error() != "context deadline exceeded and file already closed" {
		t.Errorf("two causes: %q", two)
	}
}

func TestErrorTextListsEveryProblemOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"several problems", ottr.Invalid("bigip driver for lb1.example.com",
			ottr.Problem{Field: "profiles", Message: "is required"}, ottr.Problem{Field: "serve", Message: "is required"}),
			"bigip driver for lb1.example.com: profiles: is required; serve: is required"},
		{"one problem is the message", ottr.Invalid("ignored", ottr.Problem{Field: "port", Message: "out of range"}),
			"port: out of range"},
		{"forbidden names the first in its message", ottr.Forbidden("not yours",
			ottr.Problem{Field: "credential", Message: "admin only"}, ottr.Problem{Field: "owner", Message: "admin only"}),
			"not yours: credential: admin only; owner: admin only"},
		{"wrapped by a layer", fmt.Errorf("open driver: %w", ottr.Invalid("bigip driver for lb1",
			ottr.Problem{Field: "profiles", Message: "is required"}, ottr.Problem{Field: "serve", Message: "is required"})),
			"open driver: bigip driver for lb1: profiles: is required; serve: is required"},
		{"problems and a cause", &ottr.Error{Code: ottr.EINVALID, Message: "settings", Err: errors.New("decode: unexpected EOF"),
			Problems: []ottr.Problem{{Field: "a", Message: "x"}, {Field: "b", Message: "y"}}},
			"settings: a: x; b: y: decode: unexpected EOF"},
		{"no message shows the cause", &ottr.Error{Code: ottr.EUNAVAILABLE, Err: errors.New("timeout")}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, tc.err.Error()); diff != "" {
				t.Errorf("Error() (-want +got):\n%s", diff)
			}
		})
	}
}

func TestErrorCodeOfAChain(t *testing.T) {
	inner := ottr.Invalid("bad", ottr.Problem{Field: "a", Message: "x"}, ottr.Problem{Field: "b", Message: "y"})
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"plain", errors.New("boom"), ottr.EINTERNAL},
		{"outermost code wins", ottr.Wrap(ottr.EUNAVAILABLE, inner, "device"), ottr.EUNAVAILABLE},
		{"through fmt", fmt.Errorf("x: %w", ottr.Wrap(ottr.ECONFLICT, context.Canceled, "busy")), ottr.ECONFLICT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ottr.ErrorCode(tc.err); got != tc.want {
				t.Errorf("ErrorCode = %q, want %q", got, tc.want)
			}
		})
	}
	// The problems of a wrapped Invalid are still found.
	if got := ottr.ErrorProblems(fmt.Errorf("x: %w", inner)); len(got) != 2 {
		t.Errorf("problems = %v", got)
	}
}
