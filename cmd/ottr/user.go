package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/spf13/cobra"
)

func (a *app) userCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "user",
		Short: "Manage API users directly in the database (bootstrap the first ADMIN)",
	}
	var role string
	add := &cobra.Command{
		Use:     "add USERNAME --role ADMIN|PRIVILEGED|DEVELOPER",
		Short:   "Add a user; the password is read from stdin (never from the command line)",
		Example: `  printf '%s\n' "$OTTR_ADMIN_PASSWORD" | ottr user add admin --role ADMIN`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := ottr.ParseRole(role)
			if err != nil {
				return usageError{fmt.Errorf("--role: %v", ottr.ErrorMessage(err))}
			}
			pw, err := a.readPassword()
			if err != nil {
				return err
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
			u := &ottr.User{Username: args[0], Role: r, PasswordHash: hash}
			if err := db.CreateUser(cmd.Context(), u); err != nil {
				return err
			}
			a.audit(cmd.Context(), db, "user.create", "user/"+u.Username, nil, u)
			a.progress("user %s added (%s)", u.Username, u.Role)
			return nil
		},
	}
	add.Flags().StringVar(&role, "role", "", "ADMIN, PRIVILEGED or DEVELOPER")
	list := &cobra.Command{
		Use:   "list",
		Short: "List users (name, role, created)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			us, err := db.ListUsers(cmd.Context())
			if err != nil {
				return err
			}
			if a.json() {
				if us == nil {
					us = []*ottr.User{}
				}
				return writeJSON(a.stdout, us)
			}
			tw := newTable(a.stdout)
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
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			if err := db.DeleteUser(cmd.Context(), args[0]); err != nil {
				return err
			}
			a.audit(cmd.Context(), db, "user.delete", "user/"+args[0], nil, nil)
			a.progress("user %s deleted", args[0])
			return nil
		},
	}
	cmd.AddCommand(add, list, del)
	return cmd
}

// readPassword reads one line from stdin.
func (a *app) readPassword() (string, error) {
	line, err := bufio.NewReader(a.stdin).ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil {
			return "", ottr.Errorf(ottr.EINVALID, "no password on stdin")
		}
		return "", ottr.Errorf(ottr.EINVALID, "empty password")
	}
	return line, nil
}
