package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

// problem answers a wrapped error by its *ottr.Error: its code, its
// message and every problem, whatever layers wrap it; a cause stays out
// of the answer (it is for the operator's log, not for API users).
func TestProblemOfAWrappedError(t *testing.T) {
	s := &Server{}
	s.Handler() // installs the bounded huma.NewError
	type detail struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	}
	type body struct {
		Status int      `json:"status"`
		Detail string   `json:"detail"`
		Errors []detail `json:"errors"`
	}
	for _, tc := range []struct {
		name string
		err  error
		want body
	}{
		{"invalid with problems, wrapped", fmt.Errorf("open driver: %w", ottr.Invalid("bigip driver for lb1.example.com",
			ottr.Problem{Field: "profiles", Message: "is required"}, ottr.Problem{Field: "serve", Message: "is required"})),
			body{Status: http.StatusBadRequest, Detail: "bigip driver for lb1.example.com",
				Errors: []detail{{"profiles", "is required"}, {"serve", "is required"}}}},
		{"a cause is not shown", ottr.Wrap(ottr.EUNAVAILABLE, &netError{syscall.ECONNREFUSED}, "device lb1 unreachable"),
			body{Status: http.StatusServiceUnavailable, Detail: "device lb1 unreachable"}},
		{"an invalid error wrapping a cause keeps its problems", &ottr.Error{Code: ottr.EINVALID, Message: "settings",
			Err: errors.New("decode settings: line 3"), Problems: []ottr.Problem{{Field: "x", Message: "unknown"}}},
			body{Status: http.StatusBadRequest, Detail: "settings", Errors: []detail{{"x", "unknown"}}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := json.Marshal(s.problem(t.Context(), tc.err))
			if err != nil {
				t.Fatal(err)
			}
			var got body
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("problem (-want +got):\n%s\n%s", diff, b)
			}
		})
	}
}

type netError struct{ err error }

func (e *netError) Error() string { return "dial tcp 10.0.0.1:443: " + e.err.Error() }
func (e *netError) Unwrap() error { return e.err }
