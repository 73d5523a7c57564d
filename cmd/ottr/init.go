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

// Files ottr demo --lab writes into its directory, read by ottr init
// --from-demo and by the printed commands.
const (
	labFragment = "ottr-demo.yaml"
	labRoutes   = "route.json"
	labAssets   = "assets.json"
	labCreds    = "credentials"
)

func (a *app) initCmd() *cobra.Command {
	var force bool
	var fromDemo string
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
(certificate_authorities) and a delegate zone (dns.zones).

With --from-demo LAB (the directory of a running ottr demo --lab) the
config also holds the lab's CA, DNS and devices sections and names the
lab's route table; no route.json is written.`,
		Example: `  ottr init /etc/ottr
  ottr init            # here
  ottr init $HOME/ottr --from-demo /tmp/ottr-lab`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			return a.writeInit(dir, force, fromDemo)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace an existing ottr.yaml")
	cmd.Flags().StringVar(&fromDemo, "from-demo", "", "add the CA, DNS and devices of the demo lab running in `LAB` (ottr demo --lab LAB)")
	return cmd
}

func (a *app) writeInit(dir string, force bool, fromDemo string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ottr.Errorf(ottr.EINVALID, "DIR %q: %v", dir, err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return ottr.Errorf(ottr.EINVALID, "DIR: %v", err)
	}
	cfgPath := filepath.Join(abs, "ottr.yaml")
	routesPath := filepath.Join(abs, "route.json")
	var fragment []byte
	if fromDemo != "" {
		lab, err := filepath.Abs(fromDemo)
		if err != nil {
			return ottr.Errorf(ottr.EINVALID, "--from-demo %q: %v", fromDemo, err)
		}
		if fragment, err = os.ReadFile(filepath.Join(lab, labFragment)); err != nil {
			return ottr.Errorf(ottr.EINVALID, "--from-demo: %s has no %s (is ottr demo --lab %s running?): %v", lab, labFragment, fromDemo, err)
		}
		// The fragment only adds sections the template leaves commented
		// out; a key it shares with the template would be a duplicate.
		var probe map[string]yaml.Node
		if err := yaml.Unmarshal(fragment, &probe); err != nil {
			return ottr.Errorf(ottr.EINVALID, "--from-demo: %s: %v", labFragment, err)
		}
		for key := range probe {
			if key != "certificate_authorities" && key != "dns" && key != "devices" {
				return ottr.Errorf(ottr.EINVALID, "--from-demo: %s: %s is not a section the demo lab writes (want certificate_authorities, dns, devices)", labFragment, key)
			}
		}
		routesPath = filepath.Join(lab, labRoutes)
		if _, err := os.Stat(routesPath); err != nil {
			return ottr.Errorf(ottr.EINVALID, "--from-demo: %v", err)
		}
	}
	var body strings.Builder
	if err := initTemplate.Execute(&body, map[string]string{
		"DataDir": yamlScalar(filepath.Join(abs, "data")),
		"Routes":  yamlScalar(routesPath),
	}); err != nil {
		return err
	}
	if fragment != nil {
		body.WriteString("\n")
		body.Write(fragment)
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
	if fragment != nil {
		fmt.Fprintf(a.stdout, "with the demo lab's CA, DNS and devices; routes from %s\n", routesPath)
		return nil
	}
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
