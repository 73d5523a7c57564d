package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// strictArgs makes every wrong command line a usageError (exit status 2):
// cobra reports a missing or extra argument and an unknown command as
// plain errors (exit status 1), and answers an unknown subcommand of a
// command group ("ottr asset bogus") with help and status 0.
func strictArgs(c *cobra.Command) {
	if !c.HasParent() {
		c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return usageError{flagError(cmd, err)} })
	}
	for _, sub := range c.Commands() {
		strictArgs(sub)
	}
	if c.HasSubCommands() && !c.Runnable() {
		c.Args = cobra.ArbitraryArgs
		c.RunE = func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return cmd.Help()
			}
			return usageError{unknownCommand(cmd, args[0])}
		}
		return
	}
	if check := c.Args; check != nil {
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{argsError(cmd, args, check, err)}
			}
			return nil
		}
	}
}

func unknownCommand(cmd *cobra.Command, name string) error {
	var subs []string
	for _, s := range cmd.Commands() {
		if s.IsAvailableCommand() {
			subs = append(subs, s.Name())
		}
	}
	msg := fmt.Sprintf("unknown command %q for %q; its commands are %s", name, cmd.CommandPath(), strings.Join(subs, ", "))
	if cmd.SuggestionsMinimumDistance <= 0 {
		cmd.SuggestionsMinimumDistance = 2 // cobra's default, which it sets only for its own message
	}
	if sug := cmd.SuggestionsFor(name); len(sug) > 0 {
		msg += fmt.Sprintf(" (did you mean %s?)", strings.Join(sug, " or "))
	}
	return fmt.Errorf("%s", msg)
}

// argsError says which argument is missing or too many, with the
// command's usage line, instead of cobra's "accepts 1 arg(s), received 0".
func argsError(cmd *cobra.Command, args []string, check cobra.PositionalArgs, err error) error {
	usage := strings.TrimSuffix(cmd.UseLine(), " [flags]")
	switch {
	case check(cmd, append(args[:len(args):len(args)], "x")) == nil:
		missing := "an argument"
		if req := requiredArgs(cmd.Use); len(args) < len(req) {
			missing = strings.TrimSuffix(req[len(args)], "...")
		}
		return fmt.Errorf("missing %s; usage: %s", missing, usage)
	case len(args) > 0 && check(cmd, args[:len(args)-1]) == nil:
		return fmt.Errorf("unexpected argument %q; usage: %s", args[len(args)-1], usage)
	}
	return fmt.Errorf("%v; usage: %s", err, usage)
}

// requiredArgs are the arguments a Use line names outside brackets and
// flags: "get SYSTEM_NAME" → SYSTEM_NAME.
func requiredArgs(use string) []string {
	var req []string
	depth, flagValue := 0, false
	for i, f := range strings.Fields(use) {
		opt := depth > 0 || strings.HasPrefix(f, "[")
		depth += strings.Count(f, "[") - strings.Count(f, "]")
		switch {
		case i == 0 || opt:
		case strings.HasPrefix(f, "-"):
			flagValue = true
			continue
		case flagValue:
		default:
			req = append(req, f)
		}
		flagValue = false
	}
	return req
}

var badFlagValue = regexp.MustCompile(`^invalid argument "(.*)" for "(?:-\w, )?--([\w-]+)" flag: `)

// flagError says what a flag's value should be, where pflag passes on
// strconv's or time's text ("strconv.ParseInt: parsing \"x\": invalid
// syntax").
func flagError(cmd *cobra.Command, err error) error {
	m := badFlagValue.FindStringSubmatch(err.Error())
	if m == nil {
		return err
	}
	f := cmd.Flags().Lookup(m[2])
	if f == nil {
		return err
	}
	want := map[string]string{
		"int": "a whole number", "int32": "a whole number", "int64": "a whole number", "uint": "a whole number",
		"float32": "a number", "float64": "a number", "bool": "true or false",
		"duration": "a duration such as 90s, 5m or 1h",
	}[f.Value.Type()]
	if want == "" {
		return err
	}
	return fmt.Errorf("--%s %q: want %s", m[2], m[1], want)
}
