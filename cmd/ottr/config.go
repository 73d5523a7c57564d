package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/notify"
	"github.com/ottr-dev/ottr/store"
	"go.yaml.in/yaml/v3"
)

// Config is the file of SPEC §7 (--config ottr.yaml). Its keys are a
// contract: docs and tests rely on them. Precedence, lowest first: the file,
// OTTR_<KEY_PATH> environment variables, command-line flags.
type Config struct {
	Listen                 string              `yaml:"listen"`
	DataDir                string              `yaml:"data_dir"`
	Database               ottr.Secret         `yaml:"database"` // a DSN may hold a password
	DatabaseMaxConnections int                 `yaml:"database_max_connections"`
	Routes                 string              `yaml:"routes"`
	CertificateAuthorities map[string]CAConfig `yaml:"certificate_authorities"`
	DNS                    DNSConfig           `yaml:"dns"`
	Router                 RouterConfig        `yaml:"router"`
	Workers                WorkersConfig       `yaml:"workers"`
	Devices                DevicesConfig       `yaml:"devices"`
	Notify                 notify.Config       `yaml:"notify"`
	Limits                 LimitsConfig        `yaml:"limits"`
	API                    APIConfig           `yaml:"api"`
	Log                    LogConfig           `yaml:"log"`
	// CSR is the key type and subject every device is asked for unless a
	// CA, recipe, platform or asset says otherwise (csrprofile.go); its
	// subject is the equivalent of the CSR fields of Ottr's deployment.
	CSR CSRSettings `yaml:"csr"`
	// Recipes holds settings per route recipe (the value in route.json).
	Recipes map[string]CSRSettings `yaml:"recipes"`
}

// LimitsConfig bounds what the inventory may hold.
type LimitsConfig struct {
	// MaxSANs is the most subject_alternative_name entries one asset may
	// have (default ottr.DefaultMaxSANs).
	MaxSANs int `yaml:"max_sans"`
}

// CAConfig configures one ACME CA by name.
type CAConfig struct {
	Directory    string    `yaml:"directory"`
	Email        string    `yaml:"email"`
	DirectoryCA  string    `yaml:"directory_ca"`
	TrustedRoots string    `yaml:"trusted_roots"`
	EAB          EABConfig `yaml:"eab"`
	Profile      string    `yaml:"profile"`
	// PreferredChain picks the offered chain whose top certificate is
	// issued by (or is) this common name, e.g. "ISRG Root X1".
	PreferredChain string   `yaml:"preferred_chain"`
	RenewBefore    Duration `yaml:"renew_before"`
	RenewFrac      float64  `yaml:"renew_fraction"`
	// CSRSettings (key_type, subject) apply to the CA's assets.
	CSRSettings `yaml:",inline"`
}

// EABConfig is External Account Binding for CAs that need it.
type EABConfig struct {
	KID     string      `yaml:"kid"`
	HMACKey ottr.Secret `yaml:"hmac_key"`
}

// DNSConfig configures the delegate zones.
type DNSConfig struct {
	Listen      string   `yaml:"listen"`
	Zones       []string `yaml:"zones"`
	Resolvers   []string `yaml:"resolvers"`
	Nameservers []string `yaml:"nameservers"`
	// TTL and NegativeTTL (the SOA minimum) of the built-in server's
	// answers; low so resolvers do not hold on to old challenge values.
	TTL         Duration `yaml:"ttl"`
	NegativeTTL Duration `yaml:"negative_ttl"`
	// PropagationTimeout bounds the wait for a TXT value to be visible on
	// every nameserver of its zone.
	PropagationTimeout Duration `yaml:"propagation_timeout"`
	// NSNames are the NS records the built-in server publishes at each
	// zone apex (default ns.<zone>); NSAddresses the A/AAAA records it
	// serves for those inside the zone.
	NSNames     []string `yaml:"ns_names"`
	NSAddresses []string `yaml:"ns_addresses"`
	// Providers maps a delegate zone to an external DNS API that holds it;
	// zones without an entry are served by the built-in server.
	Providers map[string]DNSProviderConfig `yaml:"providers"`
}

// RouterConfig sets the router's schedule and renewal policy.
type RouterConfig struct {
	Interval      Duration               `yaml:"interval"`
	Jitter        float64                `yaml:"jitter"`
	RenewBefore   Duration               `yaml:"renew_before"`
	RenewFraction float64                `yaml:"renew_fraction"`
	Routes        map[string]RenewConfig `yaml:"routes"` // per recipe
	// Paused keeps ottr serve's router from queueing anything; rotations
	// asked for (ottr rotate, the API) still run.
	Paused bool `yaml:"paused"`
	// Watch has each router pass read the certificate served by every
	// asset no route serves (rotate.Watcher), WatchConcurrency at once,
	// each within WatchTimeout.
	Watch            bool     `yaml:"watch"`
	WatchConcurrency int      `yaml:"watch_concurrency"`
	WatchTimeout     Duration `yaml:"watch_timeout"`
}

// RenewConfig overrides the renewal window for one route recipe.
type RenewConfig struct {
	RenewBefore   Duration `yaml:"renew_before"`
	RenewFraction float64  `yaml:"renew_fraction"`
}

// WorkersConfig sizes the rotation workers.
type WorkersConfig struct {
	Concurrency int      `yaml:"concurrency"`
	MaxAttempts int      `yaml:"max_attempts"`
	Backoff     Duration `yaml:"backoff"`      // first retry delay, doubled per attempt
	MaxBackoff  Duration `yaml:"max_backoff"`  // cap on the retry delay
	StepTimeout Duration `yaml:"step_timeout"` // bound on each pipeline step
	// Lease is how long a worker holds a running rotation between
	// renewals; another replica takes over a rotation whose worker died
	// once it runs out.
	Lease Duration `yaml:"lease"`
}

// LogConfig chooses the log level and format.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"` // text or json
}

func defaultConfig(getenv func(string) string) Config {
	return Config{
		Listen:  "127.0.0.1:8080",
		DataDir: defaultDataDir(getenv),
		Router: RouterConfig{Interval: Duration(time.Hour), Jitter: 0.1,
			Watch: true, WatchConcurrency: 32, WatchTimeout: Duration(5 * time.Second)},
		Workers: WorkersConfig{Concurrency: 50, MaxAttempts: 5, Backoff: Duration(30 * time.Second),
			MaxBackoff: Duration(30 * time.Minute), StepTimeout: Duration(5 * time.Minute), Lease: Duration(20 * time.Second)},
		DNS: DNSConfig{
			TTL: Duration(time.Second), NegativeTTL: Duration(time.Second),
			PropagationTimeout: Duration(2 * time.Minute),
		},
		Notify: notify.Config{Digest: "08:00"},
		Limits: LimitsConfig{MaxSANs: ottr.DefaultMaxSANs},
		Log:    LogConfig{Level: "info", Format: "text"},
	}
}

// geteuid tells root (whose default is /var/lib/ottr); tests replace it.
var geteuid = os.Geteuid

// defaultDataDir is where the database goes when nothing names one:
// /var/lib/ottr for root, else $XDG_CONFIG_HOME/ottr (~/.config/ottr),
// read from the same environment as the rest of the configuration.
func defaultDataDir(getenv func(string) string) string {
	if geteuid() != 0 {
		if d := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
			return filepath.Join(d, "ottr")
		}
		if h := getenv("HOME"); h != "" {
			return filepath.Join(h, ".config", "ottr")
		}
	}
	return "/var/lib/ottr"
}

// loadConfig reads path (optional), then applies environment overrides.
func loadConfig(path string, getenv func(string) string) (Config, error) {
	c := defaultConfig(getenv)
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return c, ottr.Errorf(ottr.EINVALID, "config: %v", err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		// io.EOF is an empty file: all defaults.
		if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
			return c, configDecodeError(path, data, err)
		}
	}
	if err := applyEnv(reflect.ValueOf(&c).Elem(), "OTTR", getenv); err != nil {
		return c, err
	}
	return c, c.validate()
}

// applyEnv sets scalar fields from OTTR_<PATH> variables, PATH being the
// upper-cased yaml key path joined by '_' (OTTR_DNS_LISTEN). Maps are not
// reachable this way; use the file.
func applyEnv(v reflect.Value, prefix string, getenv func(string) string) error {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		name := prefix + "_" + strings.ToUpper(tag)
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct {
			if err := applyEnv(fv, name, getenv); err != nil {
				return err
			}
			continue
		}
		val := getenv(name)
		if val == "" {
			continue
		}
		if err := setScalar(fv, val); err != nil {
			return ottr.Errorf(ottr.EINVALID, "environment %s: %v", name, err)
		}
	}
	return nil
}

func setScalar(fv reflect.Value, val string) error {
	switch p := fv.Addr().Interface().(type) {
	case *Duration:
		return p.parse(val)
	case *ottr.Secret:
		*p = ottr.Secret(val)
		return nil
	case *[]string:
		*p = strings.FieldsFunc(val, func(r rune) bool { return r == ',' || r == ' ' })
		return nil
	}
	switch fv.Kind() {
	case reflect.String:
		fv.SetString(val)
	case reflect.Int:
		n, err := strconv.Atoi(val)
		if err != nil {
			return fmt.Errorf("%q is not an integer", val)
		}
		fv.SetInt(int64(n))
	case reflect.Float64:
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return fmt.Errorf("%q is not a number", val)
		}
		fv.SetFloat(f)
	case reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return fmt.Errorf("%q is not true or false", val)
		}
		fv.SetBool(b)
	default:
		return fmt.Errorf("cannot be set from the environment")
	}
	return nil
}

func (c *Config) validate() error {
	var probs []ottr.Problem
	bad := func(field, format string, args ...any) {
		probs = append(probs, ottr.Problem{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if c.Router.Interval < Duration(time.Minute) {
		bad("router.interval", "%s is shorter than the minimum of 1m", c.Router.Interval)
	}
	if c.Router.Jitter < 0 || c.Router.Jitter > 1 {
		bad("router.jitter", "%v is outside 0-1 (a fraction of the renewal window)", c.Router.Jitter)
	}
	if n := c.Router.WatchConcurrency; n < 1 || n > 1024 {
		bad("router.watch_concurrency", "%d is outside 1 to 1024 (certificates read at once)", n)
	}
	if d := c.Router.WatchTimeout; d < Duration(time.Second) || d > Duration(2*time.Minute) {
		bad("router.watch_timeout", "%s is outside 1s to 2m (the time to read one certificate)", d)
	}
	checkFrac := func(field string, f float64) {
		if f < 0 || f >= 1 {
			bad(field, "%v is outside 0-1 (a fraction of the certificate lifetime)", f)
		}
	}
	checkFrac("router.renew_fraction", c.Router.RenewFraction)
	for name, r := range c.Router.Routes {
		checkFrac("router.routes."+name+".renew_fraction", r.RenewFraction)
	}
	for name, ca := range c.CertificateAuthorities {
		checkFrac("certificate_authorities."+name+".renew_fraction", ca.RenewFrac)
	}
	if c.Workers.Concurrency < 1 {
		bad("workers.concurrency", "%d must be at least 1", c.Workers.Concurrency)
	}
	if c.Workers.Lease < Duration(3*time.Second) || c.Workers.Lease > Duration(10*time.Minute) {
		bad("workers.lease", "%s is outside 3s to 10m", c.Workers.Lease)
	}
	if c.Limits.MaxSANs < 1 {
		bad("limits.max_sans", "%d must be at least 1", c.Limits.MaxSANs)
	}
	if d := c.Database.Reveal(); d != "" && !strings.HasPrefix(d, "postgres://") && !strings.HasPrefix(d, "postgresql://") {
		bad("database", "want a postgres:// DSN or empty for SQLite in data_dir")
	}
	if c.DataDir == "" && c.Database == "" {
		bad("data_dir", "is empty and no database DSN is set")
	}
	if n := c.DatabaseMaxConnections; n != 0 && (n < store.MinMaxConns || n > 1000) {
		bad("database_max_connections", "%d: want 0 (the default, %d) or %d to 1000", n, store.DefaultMaxConns, store.MinMaxConns)
	}
	c.DNS.validate(bad)
	c.Devices.validate(bad)
	c.validateCSR(bad)
	c.API.validate(bad)
	if _, err := notify.New(c.Notify); err != nil {
		for _, p := range ottr.ErrorProblems(err) {
			bad(p.Field, "%s", p.Message)
		}
	}
	for name, ca := range c.CertificateAuthorities {
		for _, p := range ca.toACME().Validate(name) {
			bad(p.Field, "%s", p.Message)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if len(probs) > 0 {
		return ottr.Invalid("configuration is invalid", probs...)
	}
	return nil
}

// assetLimits are the bounds every asset is validated against.
func (c *Config) assetLimits() ottr.AssetLimits {
	return ottr.AssetLimits{MaxSANs: c.Limits.MaxSANs}
}

// policy builds the renewal policy from the router and CA settings.
func (c *Config) policy() ottr.RenewalPolicy {
	p := ottr.RenewalPolicy{
		Default: ottr.RenewalRule{Before: time.Duration(c.Router.RenewBefore), Fraction: c.Router.RenewFraction},
		Jitter:  c.Router.Jitter,
	}
	for name, ca := range c.CertificateAuthorities {
		if ca.RenewBefore > 0 || ca.RenewFrac > 0 {
			if p.ByCA == nil {
				p.ByCA = map[string]ottr.RenewalRule{}
			}
			p.ByCA[name] = ottr.RenewalRule{Before: time.Duration(ca.RenewBefore), Fraction: ca.RenewFrac}
		}
	}
	for name, r := range c.Router.Routes {
		if p.ByRoute == nil {
			p.ByRoute = map[string]ottr.RenewalRule{}
		}
		p.ByRoute[name] = ottr.RenewalRule{Before: time.Duration(r.RenewBefore), Fraction: r.RenewFraction}
	}
	return p
}

// Duration is a time.Duration written as Go writes them ("90m", "1h") or in
// days ("30d").
type Duration time.Duration

func (d Duration) String() string { return time.Duration(d).String() }

func (d *Duration) parse(s string) error {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseFloat(n, 64)
		if err != nil || days < 0 {
			return fmt.Errorf("%q is not a duration (e.g. 30d, 12h, 90m)", s)
		}
		*d = Duration(days * float64(24*time.Hour))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("%q is not a duration (e.g. 30d, 12h, 90m)", s)
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML reads "30d" or a Go duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if err := d.parse(n.Value); err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	return nil
}
