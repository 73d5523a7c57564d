package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
	"github.com/ottr-dev/ottr/metrics"
	"github.com/ottr-dev/ottr/store"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.yaml.in/yaml/v3"
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
	// running is a server found on the database a command works on
	// directly, for want of a token for it.
	running *runningServer
	// readOnly is set for commands that only read: they open an existing
	// database as it is and never create a directory, a master key or a
	// database, nor migrate one.
	readOnly bool

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
		a.readOnly = readsOnly(cmd)
		return nil
	}
	root.AddCommand(a.initCmd(), a.migrateCmd(), a.assetCmd(), a.routeCmd(), a.routerCmd(), a.acmeCmd(), a.dnsCmd(), a.credentialCmd(), a.userCmd(),
		a.rotateCmd(), a.rotationsCmd(), a.serveCmd(), a.demoCmd(), a.loginCmd(), a.logoutCmd(), a.platformsCmd(), a.trustCmd(), a.configCmd(),
		a.discoverCmd())
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

// readOnlyCommands only read the database (or nothing at all).
var readOnlyCommands = map[string]bool{
	"ottr asset list": true, "ottr asset get": true, "ottr asset export": true,
	"ottr dns check": true, "ottr dns records": true, "ottr config check": true,
	"ottr route check": true, "ottr route explain": true,
	"ottr rotations list": true, "ottr rotations show": true,
	"ottr user list": true, "ottr credential list": true, "ottr trust show": true,
	"ottr platforms": true, "ottr status": true, "ottr version": true,
	// Shell completion asks cobra's hidden commands while the user types.
	"ottr __complete": true, "ottr __completeNoDesc": true,
}

func readsOnly(cmd *cobra.Command) bool {
	if readOnlyCommands[cmd.CommandPath()] {
		return true
	}
	f := cmd.Flags().Lookup("dry-run")
	return f != nil && f.Value.String() == "true"
}

// defaultDataDirUsed reports whether the database is the implicit one:
// no data_dir or database named by flag, environment or config file.
func (a *app) defaultDataDirUsed(c *Config) bool {
	if c.Database != "" || a.flags.Changed("data-dir") || a.getenv("OTTR_DATA_DIR") != "" {
		return false
	}
	return c.DataDir == defaultDataDir(a.getenv) && !a.configNamesDataDir()
}

// configNamesDataDir reports whether the config file sets data_dir
// (even to the default's value, which is then a choice).
func (a *app) configNamesDataDir() bool {
	path := a.configPath
	if path == "" {
		path = a.getenv("OTTR_CONFIG")
	}
	if path == "" {
		return false
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return false
	}
	var keys map[string]any
	if yaml.Unmarshal(b, &keys) != nil {
		return false
	}
	_, ok := keys["data_dir"]
	return ok
}

// whereDatabase names the database a command uses, for messages.
func (a *app) whereDatabase(c *Config) string {
	if c.Database != "" {
		return "the PostgreSQL database of the configuration"
	}
	if a.defaultDataDirUsed(c) {
		return fmt.Sprintf("the default data directory %s (no --data-dir, data_dir or database was given)", c.DataDir)
	}
	return "data directory " + c.DataDir
}

// store opens the database and brings its schema up to date; for a
// read-only command it opens only a database that exists, as it is.
func (a *app) store(ctx context.Context) (*store.DB, error) {
	if a.db != nil {
		return a.db, nil
	}
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	if a.readOnly {
		return a.openExisting(ctx, c)
	}
	if a.defaultDataDirUsed(c) {
		a.progress("using %s", a.whereDatabase(c))
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

// openExisting opens the configured database for reading: a missing
// SQLite database is reported, not created, and a schema this build
// would migrate is reported, not migrated.
func (a *app) openExisting(ctx context.Context, c *Config) (*store.DB, error) {
	if c.Database == "" {
		if _, err := os.Stat(filepath.Join(c.DataDir, "ottr.db")); err != nil {
			return a.openEmpty(ctx, c)
		}
	}
	if a.defaultDataDirUsed(c) {
		a.progress("using %s", a.whereDatabase(c))
	}
	// Secrets stay sealed without a key; reading them then fails, but
	// a read never makes a key.
	var sealer *ottr.Sealer
	if a.getenv("OTTR_MASTER_KEY") != "" || (c.DataDir != "" && fileExists(filepath.Join(c.DataDir, masterKeyFile))) {
		var err error
		if sealer, err = a.sealer(); err != nil {
			return nil, err
		}
	}
	db, err := store.Open(ctx, store.Config{DataDir: c.DataDir, DSN: c.Database.Reveal(), Logger: a.log, Sealer: sealer, MaxConns: c.DatabaseMaxConnections})
	if err != nil {
		return nil, err
	}
	cur, latest, err := db.MigrationStatus(ctx)
	if err != nil {
		db.Close()
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "%s has no Ottr schema (%s); this command only reads: run 'ottr migrate' first", a.whereDatabase(c), ottr.ErrorMessage(err))
	}
	if cur < latest {
		db.Close()
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "%s has schema version %d, this ottr needs %d; this command only reads: run 'ottr migrate' first", a.whereDatabase(c), cur, latest)
	}
	a.db = db
	return db, nil
}

// openEmpty stands for a database that does not exist yet: an empty one
// in memory, so a read shows an empty inventory, and a note on stderr
// says where it looked and that nothing was created.
func (a *app) openEmpty(ctx context.Context, c *Config) (*store.DB, error) {
	hint := "the first command that writes makes it (ottr migrate, ottr user add, ottr serve)"
	if a.defaultDataDirUsed(c) {
		hint = "name one with --data-dir, --database or --config, or log in to a server (ottr login)"
	}
	a.progress("note: no Ottr database in %s; nothing was created, and there is nothing to show: %s", a.whereDatabase(c), hint)
	db, err := store.Open(ctx, store.Config{Memory: true, Logger: a.log})
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	a.db = db
	return db, nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
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

// whereNext says where commands look once no session names a server, so
// a logged-out user is not shown an empty table from a database they
// never chose.
func (a *app) whereNext() string {
	if s := a.server; s != "" {
		return "commands go to " + s + " (--server)"
	}
	if s := a.getenv("OTTR_SERVER"); s != "" {
		return "commands go to " + s + " (OTTR_SERVER)"
	}
	c, err := a.config()
	if err != nil {
		return "commands now use the local database of the configuration, which does not load: " + ottr.ErrorMessage(err)
	}
	return "asset, rotate, rotations and user commands now use " + a.whereDatabase(c) + "; give --server or log in again to use a server"
}
