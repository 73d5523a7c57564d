package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/metrics"
	"github.com/ottr-dev/ottr/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// app holds what every subcommand shares: the process's streams, the
// global flags, and lazily opened configuration, store and route table.
type app struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	configPath string
	dataDir    string
	database   string
	routesPath string
	output     string
	logLevel   string
	quiet      bool
	server     string
	insecure   bool
	flags      *pflag.FlagSet

	// client is the API client when commands go to a server; local is set
	// once they are known to work on the database.
	client *api.Client
	local  bool

	cfg *Config
	db  *store.DB
	// notifier hears about finished rotations; nil tells no one.
	notifier ottr.Notifier
	// rotationMetrics count the rotations this process finishes.
	rotationMetrics *metrics.Rotations
	// pollInterval is how often idle workers poll for jobs (0 = default).
	pollInterval time.Duration
	// closers run at exit, last first.
	closers []func()
	routes  *ottr.RouteTable
	log     *slog.Logger
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "ottr",
		Short: "Rotate X.509 certificates on devices that cannot run an ACME agent",
		Long: `Ottr keeps an inventory of devices (firewalls, load balancers, routers,
console servers, Linux hosts), finds the ones whose certificates are missing
or due, and rotates them: key and CSR on the device, an ACME certificate
proven through a delegated DNS zone, installed, committed and verified.

Commands read the config file (--config), OTTR_* environment variables and
flags, in rising precedence. Without --database they use the embedded SQLite
database in --data-dir.`,
		Version:       readBuildInfo().String(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	pf := root.PersistentFlags()
	pf.StringVarP(&a.configPath, "config", "c", "", "config file (YAML, see docs/configuration.md); env OTTR_CONFIG")
	pf.StringVar(&a.dataDir, "data-dir", "", "directory of the embedded SQLite database (config data_dir)")
	pf.StringVar(&a.database, "database", "", "PostgreSQL DSN postgres://…; empty = SQLite in --data-dir (config database, env OTTR_DATABASE)")
	pf.StringVar(&a.routesPath, "routes", "", "Ottr route.json (config routes)")
	pf.StringVarP(&a.output, "output", "o", "table", "output format: table (fits 120 columns), wide (every column, nothing cut) or json")
	pf.StringVar(&a.logLevel, "log-level", "", "debug, info, warn or error (config log.level)")
	pf.BoolVarP(&a.quiet, "quiet", "q", false, "no progress output on stderr")
	pf.StringVar(&a.server, "server", "", "Ottr server URL: asset, rotate, rotations and user commands go through its API (env OTTR_SERVER; default: the server of 'ottr login')")
	pf.BoolVar(&a.insecure, "insecure", false, "allow sending the password or token over plain http:// to a host other than this machine (certificate checks are not affected)")
	a.flags = pf
	_ = root.RegisterFlagCompletionFunc("output", fixedCompletion("table", "wide", "json"))
	_ = root.RegisterFlagCompletionFunc("log-level", fixedCompletion("debug", "info", "warn", "error"))
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if a.output != "table" && a.output != "wide" && a.output != "json" {
			return usageError{fmt.Errorf("--output %q: want table, wide or json", a.output)}
		}
		return nil
	}
	root.AddCommand(a.migrateCmd(), a.assetCmd(), a.routeCmd(), a.routerCmd(), a.acmeCmd(), a.dnsCmd(), a.credentialCmd(), a.userCmd(),
		a.rotateCmd(), a.rotationsCmd(), a.serveCmd(), a.demoCmd(), a.loginCmd(), a.logoutCmd(), a.platformsCmd(), a.trustCmd(), a.configCmd())
	root.AddCommand(a.statusCmd(), a.versionCmd())
	root.SetVersionTemplate("{{.Version}}\n")
	a.registerCompletions(root)
	return root
}

func fixedCompletion(values ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// config loads the configuration once: file, then environment, then the
// global flags that were given.
func (a *app) config() (*Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	path := a.configPath
	if path == "" {
		path = a.getenv("OTTR_CONFIG")
	}
	c, err := loadConfig(path, a.getenv)
	if err != nil {
		return nil, err
	}
	if a.flags.Changed("data-dir") {
		c.DataDir = a.dataDir
	}
	if a.flags.Changed("database") {
		c.Database = ottr.Secret(a.database)
	}
	if a.flags.Changed("routes") {
		c.Routes = a.routesPath
	}
	if a.flags.Changed("log-level") {
		c.Log.Level = a.logLevel
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	a.cfg = &c
	a.log = newLogger(a.stderr, c.Log)
	for _, d := range c.Devices.Deprecated() {
		a.log.Warn("deprecated config key", "note", d)
	}
	return a.cfg, nil
}

func newLogger(w io.Writer, c LogConfig) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// store opens the database and brings its schema up to date.
func (a *app) store(ctx context.Context) (*store.DB, error) {
	if a.db != nil {
		return a.db, nil
	}
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	sealer, err := a.sealer()
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, store.Config{DataDir: c.DataDir, DSN: c.Database.Reveal(), Logger: a.log, Sealer: sealer, MaxConns: c.DatabaseMaxConnections})
	if err != nil {
		return nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	for _, m := range applied {
		a.progress("applied migration %s", m)
	}
	a.db = db
	return db, nil
}

// validateAsset checks an asset against the route table and the
// configured limits.
func (a *app) validateAsset(as *ottr.Asset, rt *ottr.RouteTable) error {
	c, err := a.config()
	if err != nil {
		return err
	}
	return c.assetLimits().Validate(as, rt)
}

// routeTable loads the route table named by the configuration; nil when
// none is configured.
func (a *app) routeTable() (*ottr.RouteTable, error) {
	if a.routes != nil {
		return a.routes, nil
	}
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	if c.Routes == "" {
		return nil, nil
	}
	rt, err := readRouteTable(c.Routes)
	if err != nil {
		return nil, err
	}
	a.routes = rt
	return rt, nil
}

func readRouteTable(path string) (*ottr.RouteTable, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "routes: %v", err)
	}
	defer f.Close()
	rt, err := ottr.ParseRouteTable(f)
	if err != nil {
		if oe, ok := err.(*ottr.Error); ok {
			oe.Message = path + ": " + oe.Message
		}
		return nil, err
	}
	return rt, nil
}

// requireRoutes is routeTable for commands that cannot work without one.
func (a *app) requireRoutes() (*ottr.RouteTable, error) {
	rt, err := a.routeTable()
	if err == nil && rt == nil {
		err = usageError{fmt.Errorf("no route table: give --routes route.json or set routes in the config")}
	}
	return rt, err
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
	if a.db != nil {
		a.db.Close()
	}
}

// progress prints a line on stderr unless --quiet.
func (a *app) progress(format string, args ...any) {
	if !a.quiet {
		fmt.Fprintf(a.stderr, format+"\n", args...)
	}
}

// actor names the person running the CLI in audit events.
func (a *app) actor() string {
	if u, err := user.Current(); err == nil {
		return "cli:" + u.Username
	}
	return "cli:" + strings.TrimSpace(a.getenv("USER"))
}
