package ssm

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/hostscript"
	"github.com/ottr-dev/ottr/driver/served"
)

// Config is how to find one instance through Systems Manager and where
// its certificate lives.
type Config struct {
	// Name, when set, is the one Name tag the instance is found by.
	// Otherwise the names tried are the asset's system_name and then each
	// SAN, in order, as Ottr did: the first that tags exactly one
	// instance wins. NameMatch says what of each is the tag: "first_label"
	// (default: "web01" for web01.example.com, Ottr's get_system_metadata
	// in platforms/linux-aws-ssm/src/app.py) or "whole" (the whole name).
	Name      string `yaml:"name"`
	NameMatch string `yaml:"name_match"`
	// Region of the instance; default us-east-1. Endpoint replaces SSM's
	// (VPC endpoints, tests).
	Region   string `yaml:"region"`
	Endpoint string `yaml:"endpoint"`
	// CertPath (the chain), KeyPath, LeafPath (the leaf alone) and CAPath
	// (the issuers alone) default to where Ottr's recipe wrote them:
	// /opt/otter/certs/fullchain.cer, <cn>.key, <cn>.cer and ca.cer.
	// Setting cert_path or key_path chooses another layout, where the leaf
	// and issuers files are written only when leaf_path and ca_path say
	// where. New files keep the owner, group and mode of the files they
	// replace, as Ottr's left them (a key never readable by others),
	// unless Owner, Group or CertMode say otherwise. Reload, PreHook and
	// PostHook are as for the linux driver; the hooks default to Ottr's
	// hook directories /opt/otter/hooks/pre and post (see hostscript).
	CertPath string   `yaml:"cert_path"`
	KeyPath  string   `yaml:"key_path"`
	LeafPath string   `yaml:"leaf_path"`
	CAPath   string   `yaml:"ca_path"`
	CertMode string   `yaml:"cert_mode"`
	Owner    string   `yaml:"owner"`
	Group    string   `yaml:"group"`
	Reload   []string `yaml:"reload"`
	PreHook  string   `yaml:"pre_hook"`
	PostHook string   `yaml:"post_hook"`
	// Serve is where the host serves TLS with the certificate; default
	// the asset's ip_address (or system_name) on 443. ServerName is the SNI.
	Serve      string `yaml:"serve"`
	ServerName string `yaml:"server_name"`
	// Verify is how the certificate in service is read: "tls" (default)
	// from Serve; "files" from the chain file on the instance, through
	// SSM, for instances whose certificate is not served where Ottr can
	// connect (Ottr itself read back only the file it had been issued).
	Verify string `yaml:"verify"`
	// Poll is how often a command's result is read (default 1s) and
	// Timeout how long one command may run on the instance (default 5m,
	// at most 48h, whole seconds: AWS-RunShellScript's executionTimeout).
	Poll    time.Duration `yaml:"poll"`
	Timeout time.Duration `yaml:"timeout"`

	HTTPClient *http.Client `yaml:"-"`
	Asset      *ottr.Asset  `yaml:"-"`
	// Credential holds access_key_id and secret_access_key (and
	// session_token); empty uses the SDK's default chain (environment,
	// shared config, instance role).
	Credential ottr.Credential `yaml:"-"`
}

// deliveryTimeout is SendCommand's TimeoutSeconds, which bounds delivery
// to the instance, not the run. The agent was Online just before the
// command is sent, so it gets it in seconds; a command the agent has not
// picked up within a minute must expire rather than run later, after the
// driver has given up on it. SSM refuses less than 30.
const deliveryTimeout = 60 * time.Second

// maxTimeout is the largest executionTimeout AWS-RunShellScript accepts.
const maxTimeout = 48 * time.Hour

// Driver rotates a certificate on a Linux instance through AWS Systems
// Manager Run Command, without SSH: the same scripts as the linux driver.
type Driver struct {
	c      Config
	files  hostscript.Files
	client *awsssm.Client
}

var (
	_ ottr.Driver   = (*Driver)(nil)
	_ ottr.CSRMaker = (*Driver)(nil)
	_ ottr.Restorer = (*Driver)(nil)
)

// New checks c and returns a driver; it does not call AWS.
func New(c Config) (*Driver, error) {
	if c.Asset == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "ssm driver: no asset")
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	probs := c.Check()
	if strings.Contains(c.Asset.CommonName, "/") {
		// Ottr's file names hold the common name: it must stay one name.
		probs = append(probs, ottr.Problem{Field: "common_name", Message: fmt.Sprintf("%q contains '/'", c.Asset.CommonName)})
	}
	d := &Driver{files: c.files(c.Asset.CommonName)}
	_ = d.files.Check(c.Asset.CommonName) // fills in the defaults; its problems are Check's
	bad := func(f, m string) { probs = append(probs, ottr.Problem{Field: f, Message: m}) }
	akid, secret := c.Credential.Get("access_key_id"), c.Credential.Get("secret_access_key")
	if akid.IsZero() != secret.IsZero() {
		bad("credential", "access_key_id and secret_access_key go together")
	}
	if c.Serve == "" {
		c.Serve = net.JoinHostPort(c.Asset.Host(), "443")
	}
	if c.ServerName == "" {
		c.ServerName = c.Asset.CommonName
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Minute
	}
	// executionTimeout counts whole seconds: round a fraction up.
	c.Timeout = (c.Timeout + time.Second - 1).Truncate(time.Second)
	if len(probs) > 0 {
		return nil, ottr.Invalid("ssm driver for "+c.Asset.SystemName, probs...)
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(c.Region)}
	if !akid.IsZero() {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			akid.Reveal(), secret.Reveal(), c.Credential.Get("session_token").Reveal())))
	}
	if c.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(c.HTTPClient))
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "ssm: AWS configuration: %w", err)
	}
	d.client = awsssm.NewFromConfig(cfg, func(o *awsssm.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
	})
	d.c = c
	return d, nil
}

// classify turns an AWS error into Ottr's: refused credentials and access
// are permanent, throttling and outages transient.
func classify(what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code := ottr.EUNAVAILABLE
		switch ae.ErrorCode() {
		case "UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch", "ExpiredTokenException":
			code = ottr.EUNAUTHORIZED
		case "AccessDeniedException":
			code = ottr.EFORBIDDEN
		case "InvalidDocument", "ValidationException", "InvalidParameters":
			code = ottr.EINVALID
		}
		msg := ae.ErrorMessage()
		if msg == "" {
			msg = ae.ErrorCode()
		}
		return ottr.Errorf(code, "SSM %s: %s (%s)", what, msg, ae.ErrorCode())
	}
	return ottr.Errorf(ottr.EUNAVAILABLE, "SSM %s: %w", what, err)
}

// NameMatch values: what of each name is the instance's Name tag.
const (
	MatchFirstLabel = "first_label"
	MatchWhole      = "whole"
)

// tagNames are the Name tags to look for, in order: Name alone when set,
// else the system_name and then each SAN (Ottr's hostnames list), each
// cut to its first label unless NameMatch is whole, each tried once.
func (c Config) tagNames() []string {
	if c.Name != "" {
		return []string{c.Name}
	}
	var tags []string
	for _, n := range append([]string{c.Asset.SystemName}, c.Asset.SubjectAlternativeName...) {
		if c.NameMatch != MatchWhole {
			n, _, _ = strings.Cut(n, ".")
		}
		if n != "" && !slices.Contains(tags, n) {
			tags = append(tags, n)
		}
	}
	return tags
}

// instance finds the managed instance as Ottr's get_system_metadata did:
// the first Name tag (tagNames) that exactly one instance carries, whose
// agent must be Online. A tag on several instances is an error, as it
// was for Ottr, not a reason to try the next name.
func (d *Driver) instance(ctx context.Context) (string, error) {
	tags := d.c.tagNames()
	for _, tag := range tags {
		out, err := d.client.DescribeInstanceInformation(ctx, &awsssm.DescribeInstanceInformationInput{
			Filters: []types.InstanceInformationStringFilter{{Key: aws.String("tag:Name"), Values: []string{tag}}}})
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", classify("find instance", err)
		}
		switch n := len(out.InstanceInformationList); {
		case n == 0:
			continue
		case n > 1:
			var ids []string
			for _, i := range out.InstanceInformationList {
				ids = append(ids, aws.ToString(i.InstanceId))
			}
			return "", ottr.Errorf(ottr.EINVALID, "SSM: %d instances are tagged Name=%s (%s); tag exactly one", n, tag, strings.Join(ids, ", "))
		}
		i := out.InstanceInformationList[0]
		if i.PingStatus != types.PingStatusOnline {
			return "", ottr.Errorf(ottr.EUNAVAILABLE, "SSM: instance %s (Name=%s) is %s, not Online", aws.ToString(i.InstanceId), tag, i.PingStatus)
		}
		return aws.ToString(i.InstanceId), nil
	}
	return "", ottr.Errorf(ottr.ENOTFOUND, "SSM: no managed instance is tagged Name=%s in %s", strings.Join(tags, " or Name="), d.c.Region)
}

// run runs script on the instance with AWS-RunShellScript and returns its
// output. A non-zero exit is an error carrying the end of stderr; exit 65
// (the script was given something that cannot work) is permanent.
func (d *Driver) run(ctx context.Context, what, script string) ([]byte, error) {
	id, err := d.instance(ctx)
	if err != nil {
		return nil, err
	}
	sent, err := d.client.SendCommand(ctx, &awsssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds: []string{id}, Parameters: map[string][]string{"commands": {script},
			"executionTimeout": {strconv.Itoa(int(d.c.Timeout / time.Second))}},
		TimeoutSeconds: aws.Int32(int32(deliveryTimeout / time.Second)), Comment: aws.String("ottr " + what + " " + d.c.Asset.SystemName)})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, classify(what, err)
	}
	cmd := aws.ToString(sent.Command.CommandId)
	// Past delivery and the run, SSM itself ends the command; the extra
	// minute is for its status to reach us.
	deadline := time.Now().Add(deliveryTimeout + d.c.Timeout + time.Minute)
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(d.c.Poll):
		}
		inv, err := d.client.GetCommandInvocation(ctx, &awsssm.GetCommandInvocationInput{CommandId: aws.String(cmd), InstanceId: aws.String(id)})
		var nf *types.InvocationDoesNotExist
		switch {
		case errors.As(err, &nf):
			// Not registered yet: SSM is eventually consistent.
		case err != nil:
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, classify(what, err)
		default:
			for _, l := range strings.Split(strings.TrimSpace(aws.ToString(inv.StandardErrorContent)), "\n") {
				if l != "" && inv.Status != types.CommandInvocationStatusInProgress && inv.Status != types.CommandInvocationStatusPending {
					ottr.Logf(ctx, "%s: %s", what, l)
				}
			}
			switch inv.Status {
			case types.CommandInvocationStatusSuccess:
				return []byte(aws.ToString(inv.StandardOutputContent)), nil
			case types.CommandInvocationStatusFailed, types.CommandInvocationStatusTimedOut, types.CommandInvocationStatusCancelled:
				tail := strings.TrimSpace(aws.ToString(inv.StandardErrorContent))
				if lines := strings.Split(tail, "\n"); len(lines) > 5 {
					tail = strings.Join(lines[len(lines)-5:], " | ")
				}
				code := ottr.EUNAVAILABLE
				if inv.ResponseCode == 65 {
					code = ottr.EINVALID
				}
				return nil, ottr.Errorf(code, "%s on %s (%s) %s with status %d: %s", what, d.c.Asset.SystemName, id, strings.ToLower(string(inv.Status)), inv.ResponseCode, tail)
			}
		}
		if time.Now().After(deadline) {
			return nil, ottr.Errorf(ottr.EUNAVAILABLE, "%s on %s: command %s did not finish in %s", what, d.c.Asset.SystemName, cmd, d.c.Timeout)
		}
	}
}

// CSR has openssl on the instance make a fresh key and a CSR.
func (d *Driver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	if req.KeyType == "" {
		req.KeyType = "rsa2048" // Ottr's generate_csr: -newkey rsa:2048
	}
	script, err := d.files.CSR(req)
	if err != nil {
		return nil, err
	}
	out, err := d.run(ctx, "csr", script)
	if err != nil {
		return nil, err
	}
	csr, err := ottr.ParseCSR(out)
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "csr: openssl on %s printed no certificate request (%w)", d.c.Asset.SystemName, err)
	}
	return csr, nil
}

// Install writes the chain on the instance (it travels in the command,
// which holds only public data), checks it matches the new key, moves it
// into place with the hooks and the reload, and waits until it is served.
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "install: empty chain")
	}
	if _, err := d.run(ctx, "install", d.files.Install(printChain(chain), chain)); err != nil {
		return err
	}
	if err := served.Await(ctx, d.Current, chain[0], 30*time.Second, 100*time.Millisecond); err != nil {
		if ctx.Err() != nil {
			return err
		}
		ottr.Logf(ctx, "install: %s: %v", d.c.Serve, err) // verify decides
	}
	return nil
}

// Restore makes previous the served certificate again with the key kept
// for it on the instance (see hostscript.Files.Restore) and waits until it
// is served. It needs nothing from the driver that installed: a driver
// opened in another process restores as well.
func (d *Driver) Restore(ctx context.Context, previous []*x509.Certificate) error {
	if len(previous) == 0 {
		return ottr.Errorf(ottr.EINVALID, "restore: no previous certificate")
	}
	if _, err := d.run(ctx, "restore", d.files.Restore(printChain(previous), previous)); err != nil {
		return err
	}
	if err := served.Await(ctx, d.Current, previous[0], 30*time.Second, 100*time.Millisecond); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return ottr.Errorf(ottr.EUNAVAILABLE, "restore: %s: %w", d.c.Serve, err)
	}
	return nil
}

// printChain is the shell command that prints chain: it travels in the
// command, which holds only public data.
func printChain(chain []*x509.Certificate) string {
	return "printf '%s' " + hostscript.Quote(string(ottr.EncodeChain(chain)))
}

// Verify values.
const (
	VerifyTLS   = "tls"
	VerifyFiles = "files"
)

// Current returns the chain the host serves or, with verify: files, the
// chain in place on the instance.
func (d *Driver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	if d.c.Verify != VerifyFiles {
		return served.Chain(ctx, d.c.Serve, d.c.ServerName)
	}
	out, err := d.run(ctx, "read the certificate", "cat "+hostscript.Quote(d.files.CertPath))
	if err != nil {
		return nil, err
	}
	chain, err := ottr.ParseChain(out)
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "read the certificate: %s on %s holds no certificate (%w)", d.files.CertPath, d.c.Asset.SystemName, err)
	}
	return chain, nil
}

// Check reports the problems of the settings alone (no asset or
// credential needed), so a configuration can be checked when it is loaded;
// New checks them again with the rest.
func (c Config) Check() []ottr.Problem {
	cn := "example.com" // a stand-in when checked without an asset: default paths need only be well formed
	if c.Asset != nil {
		cn = c.Asset.CommonName
	}
	f := c.files(cn)
	probs := f.Check(cn)
	switch c.Verify {
	case "", VerifyTLS, VerifyFiles:
	default:
		probs = append(probs, ottr.Problem{Field: "verify", Message: fmt.Sprintf("%q is not %s or %s", c.Verify, VerifyTLS, VerifyFiles)})
	}
	switch c.NameMatch {
	case "", MatchFirstLabel, MatchWhole:
	default:
		probs = append(probs, ottr.Problem{Field: "name_match", Message: fmt.Sprintf("%q is not %s or %s", c.NameMatch, MatchFirstLabel, MatchWhole)})
	}
	if ottr.HasControl(c.Name) {
		probs = append(probs, ottr.Problem{Field: "name", Message: fmt.Sprintf("%q contains a control character", c.Name)})
	}
	if c.Timeout < 0 || c.Timeout > maxTimeout {
		probs = append(probs, ottr.Problem{Field: "timeout", Message: fmt.Sprintf("%s is not between 1s and 48h (AWS-RunShellScript's executionTimeout)", c.Timeout)})
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			probs = append(probs, ottr.Problem{Field: "endpoint", Message: fmt.Sprintf("%q is not an http(s) URL", c.Endpoint)})
		}
	}
	return probs
}

// OttrCertDir is where Ottr's recipe kept the key and certificates, and
// OttrHookDir its pre and post hook directories.
const (
	OttrCertDir = "/opt/otter/certs"
	OttrHookDir = "/opt/otter/hooks"
)

// files is where the certificate of cn goes: Ottr's layout unless
// cert_path or key_path chooses another (see Config).
func (c Config) files(cn string) hostscript.Files {
	f := hostscript.Files{CertPath: c.CertPath, KeyPath: c.KeyPath, LeafPath: c.LeafPath, CAPath: c.CAPath, CertMode: c.CertMode,
		Owner: c.Owner, Group: c.Group, Reload: c.Reload, PreHook: c.PreHook, PostHook: c.PostHook,
		// Ottr wrote over the files in place, which kept their owner and
		// mode; settings for them replace that.
		InheritOwner: c.Owner == "" && c.Group == "", InheritMode: c.CertMode == ""}
	if c.CertPath == "" && c.KeyPath == "" {
		// Ottr's import_certificate wrote acme.sh's fullchain.cer (leaf
		// and issuers), ca.cer (issuers) and <cn>.cer (leaf) here, beside
		// the key its generate_csr made.
		if f.LeafPath == "" {
			f.LeafPath = path.Join(OttrCertDir, cn+".cer")
		}
		if f.CAPath == "" {
			f.CAPath = path.Join(OttrCertDir, "ca.cer")
		}
		f.CertPath, f.KeyPath = path.Join(OttrCertDir, "fullchain.cer"), path.Join(OttrCertDir, cn+".key")
	}
	if f.PreHook == "" {
		f.PreHook = path.Join(OttrHookDir, "pre")
	}
	if f.PostHook == "" {
		f.PostHook = path.Join(OttrHookDir, "post")
	}
	return f
}
