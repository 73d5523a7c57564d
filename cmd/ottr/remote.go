package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// session is what 'ottr login' keeps, readable by its owner only: the
// server and a token for it.
type session struct {
	Server   string    `json:"server"`
	Username string    `json:"username"`
	Token    string    `json:"token"`
	Expires  time.Time `json:"expires,omitzero"`
	// Insecure records that the login was over plain HTTP to another
	// machine with --insecure: later commands may send the token there
	// too without the flag.
	Insecure bool `json:"insecure,omitempty"`
}

// sessionPath is $XDG_CONFIG_HOME/ottr/session.json (else
// ~/.config/ottr/session.json); OTTR_SESSION_FILE overrides it.
func (a *app) sessionPath() (string, error) {
	if p := a.getenv("OTTR_SESSION_FILE"); p != "" {
		return p, nil
	}
	dir := a.getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home := a.getenv("HOME")
		if home == "" {
			return "", ottr.Errorf(ottr.EINVALID, "cannot place the login session: neither XDG_CONFIG_HOME nor HOME is set (or set OTTR_SESSION_FILE)")
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "ottr", "session.json"), nil
}

func (a *app) loadSession() (*session, error) {
	p, err := a.sessionPath()
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "%s is readable by others (mode %o); it holds a token: chmod 600 it or log in again", p, st.Mode().Perm())
	}
	var s session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "%s is not a login session (%s): log in again, or remove it", p, ottr.DescribeJSONError(b, err))
	}
	return &s, nil
}

func (a *app) saveSession(s *session) (string, error) {
	p, err := a.sessionPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", err
	}
	b, _ := json.MarshalIndent(s, "", "  ")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return "", err
	}
	if err := os.Chmod(tmp, 0o600); err != nil { // WriteFile keeps an existing file's mode
		return "", err
	}
	return p, os.Rename(tmp, p)
}

// localFlags are the flags and variables that name a database, and so
// keep a command off a remembered server.
var localFlags = []string{"data-dir", "database", "config"}

// remote returns the API client commands should use, or nil when they
// work on the database. A server named by --server or OTTR_SERVER wins;
// then, unless a database is named (--data-dir, --database, --config or
// their OTTR_ variables), the server of the last 'ottr login'; then the
// server found running on the database the command would use
// (discoverServer), when there is a token for it (the login's or
// OTTR_TOKEN). A running server without a token leaves the command on
// the database, noted in a.running: what would compete with the server
// refuses.
func (a *app) remote() (*api.Client, error) {
	if a.client != nil || a.local {
		return a.client, nil
	}
	server := a.server
	if server == "" {
		server = a.getenv("OTTR_SERVER")
	}
	named := false
	if server == "" {
		for _, f := range localFlags {
			if a.flags.Changed(f) || a.getenv("OTTR_"+strings.ToUpper(strings.ReplaceAll(f, "-", "_"))) != "" {
				named = true
			}
		}
	}
	var s *session
	if _, err := a.sessionPath(); err == nil { // no home: no session
		// A command on a named database only borrows the login's token
		// for a server it finds: a broken session is not its problem.
		if s, err = a.loadSession(); err != nil && !named {
			return nil, err
		}
	}
	if server == "" && !named && s != nil {
		server = s.Server
	}
	if server == "" {
		found := a.discoverServer(context.Background())
		if found == nil {
			a.local = true
			return nil, nil
		}
		if a.getenv("OTTR_TOKEN") == "" && (s == nil || s.Server != found.URL) {
			a.running, a.local = found, true
			return nil, nil
		}
		a.progress("going through the server running on this database at %s (found from %s)", found.URL, found.From)
		server = found.URL
	}
	base, err := serverURL(server)
	if err != nil {
		return nil, err
	}
	token := a.getenv("OTTR_TOKEN")
	if token == "" && s != nil && s.Server == base {
		token = s.Token
	}
	if token == "" {
		return nil, ottr.Errorf(ottr.EUNAUTHORIZED, "not logged in to %s: run ottr login --server %s (or set OTTR_TOKEN)", base, base)
	}
	if err := checkPlainHTTP(base, "token", a.insecure || (s != nil && s.Server == base && s.Insecure)); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(token, "Bearer ") {
		token = "Bearer " + token
	}
	a.client = &api.Client{BaseURL: base, Token: token}
	return a.client, nil
}

// serverURL checks a server address and gives it its canonical form.
func serverURL(s string) (string, error) {
	if !strings.Contains(s, "://") {
		s = "https://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.RawQuery != "" || u.Fragment != "" {
		return "", usageError{fmt.Errorf("--server %q: want http(s)://host[:port]", s)}
	}
	return strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/"), nil
}

// unauthorized adds what to do to a server's 401.
func unauthorized(err error, server string) error {
	if ottr.ErrorCode(err) == ottr.EUNAUTHORIZED && !strings.Contains(ottr.ErrorMessage(err), "ottr login") {
		return ottr.Errorf(ottr.EUNAUTHORIZED, "%s; log in again with: ottr login --server %s", ottr.ErrorMessage(err), server)
	}
	return err
}

func (a *app) loginCmd() *cobra.Command {
	var username string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "login --server URL [--username NAME]",
		Short: "Log in to an Ottr server; later commands use it",
		Long: `Log in to an Ottr server and keep the token in
$XDG_CONFIG_HOME/ottr/session.json (~/.config/ottr/session.json), mode 0600.
Afterwards asset, rotate, rotations and user commands go to that server,
unless a command names a database (--data-dir, --database, --config) that
the server does not run on.

The password is read from the terminal without echo, or from the first line
of stdin (--password-stdin, or when stdin is not a terminal). Tokens last as
long as the server allows (30 minutes by default); log in again when one
expires.

Over plain http:// the password and the token cross the network
unencrypted, so a server other than this machine (localhost, 127.0.0.0/8,
::1) needs --insecure; the session remembers it for that server.`,
		Example: `  ottr login --server https://ottr.example.com --username alice
  printf '%s\n' "$OTTR_PASSWORD" | ottr login --server https://ottr.example.com --username ci --password-stdin`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			server := a.server
			if server == "" {
				server = a.getenv("OTTR_SERVER")
			}
			if server == "" {
				return usageError{errors.New("--server: which server? e.g. --server https://ottr.example.com")}
			}
			base, err := serverURL(server)
			if err != nil {
				return err
			}
			if err := checkPlainHTTP(base, "password", a.insecure); err != nil {
				return err
			}
			in := bufio.NewReader(a.stdin)
			if username == "" {
				fmt.Fprint(a.stderr, "Username: ")
				line, _ := in.ReadString('\n')
				username = strings.TrimSpace(line)
				if username == "" {
					return usageError{errors.New("--username: no user name given")}
				}
			}
			pw, err := a.promptPassword(in, passwordStdin)
			if err != nil {
				return err
			}
			c := &api.Client{BaseURL: base}
			if err := c.Login(cmd.Context(), username, pw); err != nil {
				return err
			}
			s := &session{Server: base, Username: username, Token: c.Token, Expires: tokenExpiry(c.Token),
				Insecure: checkPlainHTTP(base, "token", false) != nil}
			p, err := a.saveSession(s)
			if err != nil {
				return err
			}
			a.progress("logged in to %s as %s; token kept in %s%s", base, username, p, until(s.Expires))
			return nil
		},
	}
	cmd.Flags().StringVarP(&username, "username", "u", "", "user name (asked for when not given)")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from the first line of stdin")
	return cmd
}

func until(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ", valid until " + t.Local().Format("15:04")
}

// tokenExpiry reads a token's exp claim for display; the server checks it.
func tokenExpiry(token string) time.Time {
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(strings.TrimPrefix(token, "Bearer "), claims); err != nil {
		return time.Time{}
	}
	exp, err := claims.GetExpirationTime()
	if err != nil || exp == nil {
		return time.Time{}
	}
	return exp.Time
}

// promptPassword reads a password: without echo from a terminal, else the
// next line of in.
func (a *app) promptPassword(in *bufio.Reader, fromStdin bool) (string, error) {
	if f, ok := a.stdin.(*os.File); ok && !fromStdin && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(a.stderr, "Password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return "", err
		}
		if len(b) == 0 {
			return "", ottr.Errorf(ottr.EINVALID, "empty password")
		}
		return string(b), nil
	}
	line, err := in.ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		return "", ottr.Errorf(ottr.EINVALID, "no password on stdin")
	}
	return line, nil
}

func (a *app) logoutCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "logout",
		Short: "Forget the server and token kept by 'ottr login'",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			p, err := a.sessionPath()
			if err != nil {
				return err
			}
			if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			a.progress("logged out (%s removed)", p)
			a.progress("%s", a.whereNext())
			return nil
		},
	}
}

// assetStore is what the asset commands need, from the database or from a
// server.
type assetStore interface {
	CreateAsset(ctx context.Context, a *ottr.Asset) error
	GetAsset(ctx context.Context, name string) (*ottr.Asset, error)
	UpdateAsset(ctx context.Context, name string, fn func(*ottr.Asset) error) (*ottr.Asset, error)
	DeleteAsset(ctx context.Context, name string) error
	FindAssets(ctx context.Context, f ottr.AssetFilter) ([]*ottr.Asset, string, error)
}

// assets returns the server's API when one is in use, else the
// database.
func (a *app) assets(ctx context.Context) (assetStore, error) {
	c, err := a.remote()
	if err != nil || c != nil {
		return c, err
	}
	return a.store(ctx)
}
