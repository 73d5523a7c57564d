package main

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
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
		// readRouteTable puts the file's name before the only problem:
		// the problem is said once.
		{"problem in the message", &ottr.Error{Code: ottr.EINVALID, Message: "route.json: $: the document is empty",
			Problems: []ottr.Problem{{Field: "$", Message: "the document is empty"}}},
			"ottr: route.json: $: the document is empty\n"},
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

// An error whose message says only what is wrong ends with what to do,
// once: printError (one of several failures a command prints itself)
// leaves the advice to the command's end.
func TestPrintErrorAdvice(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{ottr.Errorf(ottr.ENOTFOUND, "asset %q not found", "x"), "ottr: asset \"x\" not found\nottr asset list shows the assets there are.\n"},
		{ottr.Errorf(ottr.ECONFLICT, "asset %q already exists", "x"), "ottr: asset \"x\" already exists\nChange it with ottr asset update, or delete it first.\n"},
		{ottr.Errorf(ottr.EFORBIDDEN, "PRIVILEGED role required (you are DEVELOPER)"), "ottr: PRIVILEGED role required (you are DEVELOPER)\nAsk an ADMIN for a role that allows it, or log in as a user who has one (ottr login).\n"},
		{ottr.Errorf(ottr.EINVALID, "host_platform: is required"), "ottr: host_platform: is required\n"},
	} {
		var b bytes.Buffer
		printErrorFor(&b, tc.err, "ottr asset add")
		if diff := cmp.Diff(tc.want, b.String()); diff != "" {
			t.Errorf("printErrorFor (-want +got):\n%s", diff)
		}
		b.Reset()
		printError(&b, tc.err)
		if first, _, _ := strings.Cut(tc.want, "\n"); b.String() != first+"\n" {
			t.Errorf("printError = %q, want only %q", b.String(), first)
		}
	}
}
