package main

import (
	"bufio"
	"fmt"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/spf13/cobra"
)

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage API users (through the server, or in the database to bootstrap the first ADMIN)",
		Long: `Manage the API's users. With a server (--server, OTTR_SERVER or 'ottr
login') the commands go through its API and need an ADMIN token. With a
database (--data-dir, --database or --config) they work on it directly,
which is how the first ADMIN is made.`,
	}
	var role, username string
	var passwordStdin bool
	add := &cobra.Command{
		Use:     "add USERNAME --role ADMIN|PRIVILEGED|DEVELOPER",
		Aliases: []string{"create"},
		Short:   "Add a user; the password is read from stdin (never from the command line)",
		Example: `  printf '%s\n' "$OTTR_ADMIN_PASSWORD" | ottr user create --data-dir /var/lib/ottr --username admin --role ADMIN --password-stdin
  printf '%s\n' "$PW" | ottr user add alice --role DEVELOPER          # through the logged-in server`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if username != "" && username != args[0] {
					return usageError{fmt.Errorf("two user names: %q and --username %q", args[0], username)}
				}
				username = args[0]
			}
			if username == "" {
				return usageError{fmt.Errorf("give the user name as an argument or with --username")}
			}
			r, err := ottr.ParseRole(role)
			if err != nil {
				return usageError{fmt.Errorf("--role: %v", ottr.ErrorMessage(err))}
			}
			pw, err := a.promptPassword(bufio.NewReader(a.stdin), passwordStdin)
			if err != nil {
				return err
			}
			if c, err := a.remote(); err != nil {
				return err
			} else if c != nil {
				u, err := c.CreateUser(cmd.Context(), username, pw, r)
				if err != nil {
					return err
				}
				a.progress("user %s added (%s) on %s", u.Username, u.Role, c.BaseURL)
				return nil
			}
			if err := api.CheckPassword("password", pw); err != nil {
				return err
			}
			hash, err := api.HashPassword(pw)
			if err != nil {
				return err
			}
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			u := &ottr.User{Username: username, Role: r, PasswordHash: hash}
			if err := db.CreateUser(cmd.Context(), u); err != nil {
				return err
			}
			a.audit(cmd.Context(), db, "user.create", "user/"+u.Username, nil, u)
			a.progress("user %s added (%s)", u.Username, u.Role)
			return nil
		},
	}
	add.Flags().StringVar(&role, "role", "", "ADMIN, PRIVILEGED or DEVELOPER")
	add.Flags().StringVar(&username, "username", "", "the user name (or give it as the argument)")
	add.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin (the default unless stdin is a terminal)")
	_ = cmd.RegisterFlagCompletionFunc("role", fixedCompletion("ADMIN", "PRIVILEGED", "DEVELOPER"))
	list := &cobra.Command{
		Use:   "list",
		Short: "List users (name, role, created)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var us []*ottr.User
			if c, err := a.remote(); err != nil {
				return err
			} else if c != nil {
				if us, err = c.ListUsers(cmd.Context()); err != nil {
					return err
				}
			} else {
				db, err := a.store(cmd.Context())
				if err != nil {
					return err
				}
				if us, err = db.ListUsers(cmd.Context()); err != nil {
					return err
				}
			}
			if a.json() {
				if us == nil {
					us = []*ottr.User{}
				}
				return writeJSON(a.stdout, us)
			}
			tw := a.table()
			fmt.Fprintln(tw, "USERNAME\tROLE\tCREATED")
			for _, u := range us {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", u.Username, u.Role, u.Created.Local().Format("2006-01-02 15:04"))
			}
			return tw.Flush()
		},
	}
	del := &cobra.Command{
		Use:   "delete USERNAME",
		Short: "Delete a user (their tokens stop working at once)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c, err := a.remote(); err != nil {
				return err
			} else if c != nil {
				if err := c.DeleteUser(cmd.Context(), args[0]); err != nil {
					return err
				}
				a.progress("user %s deleted on %s", args[0], c.BaseURL)
				return nil
			}
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			name := ottr.NormalizeUsername(args[0])
			if err := db.DeleteUser(cmd.Context(), name); err != nil {
				return err
			}
			a.audit(cmd.Context(), db, "user.delete", "user/"+name, nil, nil)
			a.progress("user %s deleted", name)
			return nil
		},
	}
	cmd.AddCommand(add, list, del, a.userImportCmd())
	return cmd
}
