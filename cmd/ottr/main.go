// Command ottr rotates X.509 certificates on devices that cannot run an ACME
// agent. It is the composition root: it reads flags, environment and the
// config file, and wires the store, router and (later) API, ACME, DNS and
// drivers together through the root package's interfaces.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/ottr-dev/ottr"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(exitCode(err))
}

// run executes the command line args and returns its error; main only maps
// it to an exit status. Tests call run directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	a := &app{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	defer a.close()
	root := a.rootCmd()
	strictArgs(root)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if a.client != nil {
		err = unauthorized(err, a.client.BaseURL)
	}
	if err != nil && !errors.Is(err, errSilent) {
		path := root.Name()
		if cmd != nil {
			path = cmd.CommandPath()
		}
		printErrorFor(stderr, err, path)
	}
	return err
}

// errSilent marks a failure whose details the command already printed.
var errSilent = errors.New("failed")

// printed is a failure the command already printed: run prints nothing
// more, and the exit status is still that of err.
type printed struct{ err error }

func (p printed) Error() string        { return p.err.Error() }
func (p printed) Unwrap() error        { return p.err }
func (p printed) Is(target error) bool { return target == errSilent }

// usageError is a mistake in the command line itself.
type usageError struct{ error }

// Exit statuses (docs/cli.md): scripts can tell a refused login from a
// missing asset from a server that is down.
const (
	exitFailed      = 1 // the operation failed (invalid input, conflict, rotation failed)
	exitUsage       = 2 // the command line is wrong
	exitAuth        = 3 // not logged in, token refused, or role too low
	exitNotFound    = 4 // the asset, rotation or user does not exist
	exitUnavailable = 5 // the server, database or a dependency cannot be reached; retrying may help
)

func exitCode(err error) int {
	var u usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u), errors.As(err, new(invalidConfig)):
		return exitUsage
	}
	switch ottr.ErrorCode(err) {
	case ottr.EUNAUTHORIZED, ottr.EFORBIDDEN:
		return exitAuth
	case ottr.ENOTFOUND:
		return exitNotFound
	case ottr.EUNAVAILABLE:
		return exitUnavailable
	}
	return exitFailed
}

func printError(w io.Writer, err error) { printErrorFor(w, err, "") }

// printErrorFor prints err once, for humans, with what to do about it: a
// wrong command line is followed by where its usage is explained (command
// is the command path, "ottr asset get"). printError, for one of several
// failures a command reports itself, leaves the advice out.
func printErrorFor(w io.Writer, err error, command string) {
	var u usageError
	if errors.As(err, &u) {
		if command == "" {
			command = "ottr"
		}
		fmt.Fprintf(w, "ottr: %v\nRun '%s --help' for usage.\n", u.error, command)
		return
	}
	var oe *ottr.Error
	if errors.As(err, &oe) {
		msg := oe.Message
		// A cause is for whoever runs the command: show it unless the
		// message already does (Errorf with %w).
		if oe.Err != nil && !strings.Contains(msg, oe.Err.Error()) {
			msg += ": " + oe.Err.Error()
		}
		fmt.Fprintf(w, "ottr: %s\n", msg)
		for _, p := range oe.Problems {
			// A problem the message already states (the only one,
			// or one a caller put in the message) is not repeated.
			if !strings.Contains(oe.Message, p.String()) {
				fmt.Fprintf(w, "  %s\n", p)
			}
		}
		if hint := advice(err); hint != "" && command != "" {
			fmt.Fprintln(w, hint)
		}
		return
	}
	fmt.Fprintf(w, "ottr: %v\n", err)
}

// advice says what to do about an error of a kind whose messages (the
// store's, the server's) say only what went wrong.
func advice(err error) string {
	msg := ottr.ErrorMessage(err)
	kind, _, _ := strings.Cut(msg, " ")
	switch ottr.ErrorCode(err) {
	case ottr.EFORBIDDEN:
		return "Ask an ADMIN for a role that allows it, or log in as a user who has one (ottr login)."
	case ottr.ENOTFOUND:
		switch kind {
		case "asset":
			return "ottr asset list shows the assets there are."
		case "rotation":
			return "ottr rotations list shows the rotations there are."
		case "user":
			return "ottr user list shows the users there are."
		}
	case ottr.ECONFLICT:
		switch {
		case kind == "asset" && strings.HasSuffix(msg, "already exists"):
			return "Change it with ottr asset update, or delete it first."
		case kind == "user" && strings.HasSuffix(msg, "already exists"):
			return "Choose another name, or delete that user first."
		}
	case ottr.EUNAVAILABLE:
		if !strings.Contains(msg, "try again") {
			return "This may pass: try again once what is named above answers (is it running, and reachable from here?)."
		}
	}
	return ""
}
