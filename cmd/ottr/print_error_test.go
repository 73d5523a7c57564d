package main

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

// printError shows the message, each problem on its own line, and the
// cause of an ottr.Error when the message does not already say it.
func TestPrintError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"problems", fmt.Errorf("load: %w", ottr.Invalid("config has 2 problem(s)",
			ottr.Problem{Field: "router.interval", Message: "too short"}, ottr.Problem{Field: "listen", Message: "not host:port"})),
			"ottr: config has 2 problem(s)\n  router.interval: too short\n  listen: not host:port\n"},
		{"cause", ottr.Wrap(ottr.EUNAVAILABLE, errors.New("dial tcp 127.0.0.1:5432: connection refused"), "database unreachable"),
			"ottr: database unreachable: dial tcp 127.0.0.1:5432: connection refused\n"},
		{"cause already in the message", ottr.Errorf(ottr.EUNAVAILABLE, "listen: %w", errors.New("address in use")),
			"ottr: listen: address in use\n"},
		{"internal", errors.New("boom"), "ottr: boom\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			printError(&b, tc.err)
			if diff := cmp.Diff(tc.want, b.String()); diff != "" {
				t.Errorf("printError (-want +got):\n%s", diff)
			}
		})
	}
}
