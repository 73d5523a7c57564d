package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/ottr-dev/ottr"
	"github.com/spf13/cobra"
)

const credentialPrefix = ottr.CredentialSecretPrefix

func (a *app) credentialCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credential",
		Short: "Manage the credential sets drivers log in to devices with",
		Long: `A credential set is a named group of values (username, password,
private_key, passphrase, token, …) that a driver logs in with. Sets are kept
sealed in the database (AES-256-GCM under the master key) and are named by
assets (credential) or platforms in the config. Values are read from stdin or
a file, never from the command line, and are never printed.

Instead of a stored set, a reference may be env:NAME (the variable holds the
set) or file:PATH (the file does), in the same format: a JSON object of
strings, or KEY=VALUE lines.`,
	}
	cmd.AddCommand(a.credentialSetCmd(), a.credentialListCmd(), a.credentialDeleteCmd())
	return cmd
}

func (a *app) credentialSetCmd() *cobra.Command {
	var file string
	cmd := &cobra.Command{
		Use:   "set NAME [-f FILE]",
		Short: "Store (or replace) a credential set read from stdin or a file",
		Example: `  printf 'username=api-admin\npassword=%s\n' "$PANOS_PASSWORD" | ottr credential set panos
  ottr credential set web01-ssh -f web01.json   # {"username": "ottr", "private_key": "-----BEGIN …"}`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			name := args[0]
			if err := ottr.CheckCredentialName(name); err != nil {
				return usageError{err}
			}
			var b []byte
			var err error
			if file == "" || file == "-" {
				b, err = io.ReadAll(io.LimitReader(a.stdin, 1<<20))
			} else {
				b, err = os.ReadFile(file)
			}
			if err != nil {
				return ottr.Errorf(ottr.EINVALID, "read credential: %v", err)
			}
			c, err := ottr.ParseCredential(b)
			if err != nil {
				return err
			}
			raw, err := c.Reveal()
			if err != nil {
				return err
			}
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			if err := db.PutSecret(cmd.Context(), credentialPrefix+name, raw); err != nil {
				return err
			}
			a.audit(cmd.Context(), db, "credential.set", "credential/"+name, nil, map[string]any{"keys": c.Keys()})
			a.progress("credential %s stored (%s)", name, strings.Join(c.Keys(), ", "))
			return nil
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "", `read the set from FILE ("-" or absent: stdin)`)
	return cmd
}

type credentialInfo struct {
	Name string   `json:"name"`
	Keys []string `json:"keys"`
}

func (a *app) credentialListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the stored credential sets and their keys (never their values)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			names, err := db.ListSecrets(cmd.Context(), credentialPrefix)
			if err != nil {
				return err
			}
			out := []credentialInfo{}
			for _, n := range names {
				c, err := a.credentials().Credential(cmd.Context(), strings.TrimPrefix(n, credentialPrefix))
				if err != nil {
					return err
				}
				out = append(out, credentialInfo{Name: strings.TrimPrefix(n, credentialPrefix), Keys: c.Keys()})
			}
			if a.json() {
				return writeJSON(a.stdout, out)
			}
			tw := a.table()
			fmt.Fprintln(tw, "NAME\tKEYS")
			for _, c := range out {
				fmt.Fprintf(tw, "%s\t%s\n", c.Name, strings.Join(c.Keys, ", "))
			}
			return tw.Flush()
		},
	}
}

func (a *app) credentialDeleteCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a stored credential set",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			db, err := a.store(cmd.Context())
			if err != nil {
				return err
			}
			if err := db.DeleteSecret(cmd.Context(), credentialPrefix+args[0]); err != nil {
				if ottr.ErrorCode(err) == ottr.ENOTFOUND {
					return ottr.Errorf(ottr.ENOTFOUND, "credential %s not found", args[0])
				}
				return err
			}
			a.audit(cmd.Context(), db, "credential.delete", "credential/"+args[0], nil, nil)
			a.progress("credential %s deleted", args[0])
			return nil
		},
	}
}

// credentials resolves credential references for drivers.
func (a *app) credentials() ottr.CredentialResolver { return credResolver{a: a} }

type credResolver struct{ a *app }

// Credential returns the set ref names: env:NAME, file:PATH or a stored
// set, and registers its values with ctx's Masker (ottr.MaskCredential).
// Errors name the reference, never a value.
func (r credResolver) Credential(ctx context.Context, ref string) (ottr.Credential, error) {
	var b []byte
	switch {
	case strings.HasPrefix(ref, "env:"):
		name := strings.TrimPrefix(ref, "env:")
		v := r.a.getenv(name)
		if v == "" {
			// Rotation errors reach every role: say what is wrong and
			// where to look, not which variables the server has.
			r.a.logger().WarnContext(ctx, "credential variable not set", "ref", ref)
			return nil, ottr.Errorf(ottr.EINVALID, "credential env:…: the configured environment variable is not set (the server log names it)")
		}
		b = []byte(v)
	case strings.HasPrefix(ref, "file:"):
		var err error
		if b, err = os.ReadFile(strings.TrimPrefix(ref, "file:")); err != nil {
			r.a.logger().WarnContext(ctx, "credential file unreadable", "ref", ref, "err", err)
			why := "cannot be read"
			if errors.Is(err, fs.ErrNotExist) {
				why = "does not exist"
			}
			return nil, ottr.Errorf(ottr.EINVALID, "credential file:…: the configured file %s (the server log names it)", why)
		}
	default:
		if err := ottr.CheckCredentialName(ref); err != nil {
			return nil, err
		}
		db, err := r.a.store(ctx)
		if err != nil {
			return nil, err
		}
		b, err = db.GetSecret(ctx, credentialPrefix+ref)
		if ottr.ErrorCode(err) == ottr.ENOTFOUND {
			return nil, ottr.Errorf(ottr.EINVALID, "credential %s is not stored (ottr credential set %s)", ref, ref)
		}
		if err != nil {
			return nil, err
		}
	}
	c, err := ottr.ParseCredential(b)
	if err != nil {
		if strings.HasPrefix(ref, "env:") || strings.HasPrefix(ref, "file:") {
			ref = ref[:strings.IndexByte(ref, ':')+1] + "…"
		}
		return nil, ottr.Errorf(ottr.EINVALID, "credential %s: %s", ref, ottr.ErrorMessage(err))
	}
	// A rotation that resolves a credential masks its values in every log
	// line and error it stores, whatever the driver prints.
	ottr.MaskCredential(ctx, c)
	return c, nil
}

// logger is the app's logger, or one that discards before config is read.
func (a *app) logger() *slog.Logger {
	if a.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.log
}
