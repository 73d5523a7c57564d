package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"github.com/ottr-dev/ottr"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

func (a *app) initCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a commented ottr.yaml (and route.json if absent) that runs as written",
		Long: `Write DIR/ottr.yaml (DIR defaults to the current directory): the API on
127.0.0.1:8080, the database in DIR/data, the route table DIR/route.json,
and every other section commented out with what it is for. A route.json
that routes nothing is written beside it unless one exists. Paths in the
file are absolute, so it works from any directory.

Nothing else is created: the data directory, the database and its master
key come with the first command that writes (ottr user add below). An
existing ottr.yaml is left as it is unless --force.

The config runs as written: ottr serve starts the API and its docs, and
says (in its log and on /readyz) that rotations wait for a CA
(certificate_authorities) and a delegate zone (dns.zones).`,
		Example: `  ottr init /etc/ottr
  ottr init            # here`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return a.writeInit(dir, force)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing ottr.yaml")
	return cmd
}

func (a *app) writeInit(dir string, force bool) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ottr.Errorf(ottr.EINVALID, "DIR %q: %v", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return ottr.Errorf(ottr.EINVALID, "DIR: %v", err)
	}
	cfgPath := filepath.Join(abs, "ottr.yaml")
	routesPath := filepath.Join(abs, "route.json")
	var body strings.Builder
	if err := initTemplate.Execute(&body, map[string]string{
		"DataDir": yamlScalar(filepath.Join(abs, "data")),
		"Routes":  yamlScalar(routesPath),
	}); err != nil {
		return err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	if err := writeNew(cfgPath, flags, body.String()); errors.Is(err, fs.ErrExist) {
		return ottr.Errorf(ottr.EINVALID, "%s exists; it is left as it is (--force replaces it)", cfgPath)
	} else if err != nil {
		return ottr.Errorf(ottr.EINVALID, "write %s: %v", cfgPath, err)
	}
	fmt.Fprintf(a.stdout, "wrote %s\n", cfgPath)
	switch err := writeNew(routesPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, initRoutes); {
	case errors.Is(err, fs.ErrExist):
		fmt.Fprintf(a.stdout, "kept %s (it exists)\n", routesPath)
	case err != nil:
		return ottr.Errorf(ottr.EINVALID, "write %s: %v", routesPath, err)
	default:
		fmt.Fprintf(a.stdout, "wrote %s (routes nothing yet: add your platforms, see docs/route-table.md)\n", routesPath)
	}
	q := shellQuote(cfgPath)
	fmt.Fprintf(a.stdout, `
Next:
  ottr config check --config %s
  printf '%%s\n' "$ADMIN_PASSWORD" | ottr user add admin --role ADMIN --password-stdin --config %s
  ottr serve --config %s
`, q, q, q)
	return nil
}

func writeNew(path string, flags int, body string) error {
	f, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// yamlScalar writes s as YAML would, quoted when it needs to be.
func yamlScalar(s string) string {
	b, _ := yaml.Marshal(s)
	return strings.TrimSpace(string(b))
}

// shellQuote quotes a path for the printed commands when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+:@", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// initRoutes is a route table that routes nothing: valid, so config
// check and serve accept it, and the place to add platforms. Its CA is
// the one commented out in the config.
const initRoutes = `{
  "note": {
    "description": "Routes to trigger certificate renewal or generation based on Platform, OS Version, and Certificate Authority."
  },
  "platform": {},
  "certificate_authorities": ["lets_encrypt"]
}
`

var initTemplate = template.Must(template.New("ottr.yaml").Parse(`# Ottr configuration, written by 'ottr init'. Every key is described in
# docs/configuration.md. Precedence, lowest first: this file, OTTR_*
# environment variables (OTTR_DNS_LISTEN for dns.listen), command-line flags.

# The API and its docs (/docs). Plain HTTP is served on loopback only;
# elsewhere give ottr serve --tls-cert/--tls-key.
listen: 127.0.0.1:8080

# The embedded SQLite database and its master key (master.key, mode 0600:
# back it up). Created by the first command that writes. For PostgreSQL set
# database: postgres://user@host/ottr instead (OTTR_DATABASE keeps the
# password out of this file).
data_dir: {{.DataDir}}

# Which recipe rotates which platform, OS version and CA: Ottr's route.json.
routes: {{.Routes}}

# Rotations need a CA and a delegate zone. Until both are set, ottr serve
# runs the API and docs only, and its log and /readyz say what is missing.
#
# certificate_authorities:
#   lets_encrypt:
#     directory: https://acme-staging-v02.api.letsencrypt.org/directory
#     email: pki@example.com
#
# The zone where DNS-01 answers are written: each device name's
# _acme-challenge CNAME points into it (ottr dns records SYSTEM_NAME prints
# them; ottr dns check NAME verifies). See docs/dns-delegation.md.
#
# dns:
#   zones: [acme.example.com]
#   listen: 0.0.0.0:53          # the built-in DNS server answers for the zones

router:
  # How often due assets are routed to rotations.
  interval: 1h
  # true: the router queues nothing (ottr serve --paused does the same);
  # rotations asked for with ottr rotate still run.
  paused: false

log:
  level: info   # debug, info, warn, error
  format: text  # or json
`))
