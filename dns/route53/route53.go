// Package route53 keeps a delegate zone on Amazon Route 53, as Ottr's
// original deployment did, through the official AWS SDK for Go v2.
//
// The credentials need, on the delegate zone only:
//
//	route53:ListResourceRecordSets, route53:ChangeResourceRecordSets
//	(and route53:ListHostedZonesByName when hosted_zone_id is not given)
//
// Route 53 keeps a TXT record set as one unit, so adding a value is a
// read-modify-write. Each write is a single change batch that deletes the
// exact set it read and creates the new one: if another process changed
// the set in between, Route 53 rejects the batch and the write is retried
// on fresh data, so concurrent challenges sharing a name never lose values.
package route53

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	r53 "github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
	"github.com/ottr-dev/ottr"
)

// Config names the zone and how to reach and authenticate to Route 53.
type Config struct {
	Zone string `yaml:"zone"`
	// HostedZoneID of the delegate zone; looked up by name when empty.
	HostedZoneID string `yaml:"hosted_zone_id"`
	Region       string `yaml:"region"` // default us-east-1
	// AccessKeyID and SecretAccessKey (and SessionToken for temporary
	// credentials) are static credentials; without them the SDK's default
	// chain is used (environment, shared config Profile, instance role).
	AccessKeyID     string      `yaml:"access_key_id"`
	SecretAccessKey ottr.Secret `yaml:"secret_access_key"`
	SessionToken    ottr.Secret `yaml:"session_token"`
	Profile         string      `yaml:"profile"`
	// Endpoint replaces Route 53's endpoint (tests, VPC endpoints).
	Endpoint string `yaml:"endpoint"`
	// TTL of the records; default 10s.
	TTL        time.Duration `yaml:"ttl"`
	HTTPClient *http.Client  `yaml:"-"`
}

// Zone writes TXT records through the Route 53 API.
type Zone struct {
	zone   string
	ttl    int64
	client *r53.Client

	mu     sync.Mutex // serialises this process's read-modify-writes
	zoneID string
}

var _ ottr.DNSZone = (*Zone)(nil)

// New checks c and returns its zone. It does not call AWS.
func New(c Config) (*Zone, error) {
	var probs []ottr.Problem
	bad := func(f, m string) { probs = append(probs, ottr.Problem{Field: f, Message: m}) }
	c.Zone = strings.TrimSuffix(strings.ToLower(c.Zone), ".")
	if c.Zone == "" {
		bad("zone", "is required")
	}
	if (c.AccessKeyID == "") != c.SecretAccessKey.IsZero() {
		bad("access_key_id", "access_key_id and secret_access_key go together")
	}
	if c.Endpoint != "" {
		if u, err := url.Parse(c.Endpoint); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			bad("endpoint", fmt.Sprintf("%q is not an http(s) URL", c.Endpoint))
		}
	}
	if c.TTL < 0 {
		bad("ttl", "must not be negative")
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("route53 provider is misconfigured", probs...)
	}
	if c.Region == "" {
		c.Region = "us-east-1"
	}
	if c.TTL == 0 {
		c.TTL = 10 * time.Second
	}
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(c.Region)}
	if c.Profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(c.Profile))
	}
	if c.AccessKeyID != "" {
		opts = append(opts, awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(
			c.AccessKeyID, c.SecretAccessKey.Reveal(), c.SessionToken.Reveal())))
	}
	if c.HTTPClient != nil {
		opts = append(opts, awsconfig.WithHTTPClient(c.HTTPClient))
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "route53: AWS configuration: %v", err)
	}
	client := r53.NewFromConfig(cfg, func(o *r53.Options) {
		if c.Endpoint != "" {
			o.BaseEndpoint = aws.String(c.Endpoint)
		}
		o.RetryMaxAttempts = 3
	})
	return &Zone{zone: c.Zone, ttl: int64(c.TTL / time.Second), client: client, zoneID: strings.TrimPrefix(c.HostedZoneID, "/hostedzone/")}, nil
}

// AddTXT adds value to the TXT set at name.
func (z *Zone) AddTXT(ctx context.Context, name, value string) error {
	return z.modify(ctx, "add TXT", name, func(vals []string) []string {
		if slices.Contains(vals, value) {
			return nil
		}
		return append(slices.Clone(vals), value)
	})
}

// RemoveTXT deletes value from the TXT set at name; other values stay.
func (z *Zone) RemoveTXT(ctx context.Context, name, value string) error {
	return z.modify(ctx, "remove TXT", name, func(vals []string) []string {
		if !slices.Contains(vals, value) {
			return nil
		}
		out := slices.DeleteFunc(slices.Clone(vals), func(v string) bool { return v == value })
		if out == nil {
			out = []string{}
		}
		return out
	})
}

// modify applies change to the set at name; change returns nil for "no
// change needed" and an empty slice for "delete the set".
func (z *Zone) modify(ctx context.Context, what, name string, change func([]string) []string) error {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if name != z.zone && !strings.HasSuffix(name, "."+z.zone) {
		return ottr.Errorf(ottr.EINVALID, "route53: %s is not in zone %s", name, z.zone)
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	id, err := z.hostedZone(ctx)
	if err != nil {
		return err
	}
	var lastErr error
	for range 5 {
		cur, err := z.current(ctx, id, name)
		if err != nil {
			return classify(what+" "+name, err)
		}
		next := change(values(cur))
		if next == nil {
			return nil
		}
		var changes []types.Change
		if cur != nil {
			changes = append(changes, types.Change{Action: types.ChangeActionDelete, ResourceRecordSet: cur})
		}
		if len(next) > 0 {
			changes = append(changes, types.Change{Action: types.ChangeActionCreate, ResourceRecordSet: z.set(name, next)})
		}
		_, err = z.client.ChangeResourceRecordSets(ctx, &r53.ChangeResourceRecordSetsInput{
			HostedZoneId: aws.String(id),
			ChangeBatch:  &types.ChangeBatch{Changes: changes, Comment: aws.String("ottr acme challenge")},
		})
		if err == nil {
			return nil
		}
		var icb *types.InvalidChangeBatch
		if !errors.As(err, &icb) {
			return classify(what+" "+name, err)
		}
		// The set changed since it was read: read again.
		lastErr = err
	}
	return ottr.Errorf(ottr.EUNAVAILABLE, "route53 %s %s: the record set kept changing: %v", what, name, lastErr)
}

func (z *Zone) set(name string, vals []string) *types.ResourceRecordSet {
	rrs := &types.ResourceRecordSet{Name: aws.String(name + "."), Type: types.RRTypeTxt, TTL: aws.Int64(z.ttl)}
	for _, v := range vals {
		rrs.ResourceRecords = append(rrs.ResourceRecords, types.ResourceRecord{Value: aws.String(strconv.Quote(v))})
	}
	return rrs
}

// current returns the TXT set at name exactly as Route 53 holds it, or nil.
func (z *Zone) current(ctx context.Context, id, name string) (*types.ResourceRecordSet, error) {
	out, err := z.client.ListResourceRecordSets(ctx, &r53.ListResourceRecordSetsInput{
		HostedZoneId:    aws.String(id),
		StartRecordName: aws.String(name + "."),
		StartRecordType: types.RRTypeTxt,
		MaxItems:        aws.Int32(1),
	})
	if err != nil {
		return nil, err
	}
	for i := range out.ResourceRecordSets {
		rrs := &out.ResourceRecordSets[i]
		if strings.EqualFold(strings.TrimSuffix(aws.ToString(rrs.Name), "."), name) && rrs.Type == types.RRTypeTxt {
			return rrs, nil
		}
	}
	return nil, nil
}

func values(rrs *types.ResourceRecordSet) []string {
	if rrs == nil {
		return nil
	}
	var out []string
	for _, r := range rrs.ResourceRecords {
		v := aws.ToString(r.Value)
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		}
		out = append(out, v)
	}
	return out
}

func (z *Zone) hostedZone(ctx context.Context) (string, error) {
	if z.zoneID != "" {
		return z.zoneID, nil
	}
	out, err := z.client.ListHostedZonesByName(ctx, &r53.ListHostedZonesByNameInput{DNSName: aws.String(z.zone + "."), MaxItems: aws.Int32(1)})
	if err != nil {
		return "", classify("find hosted zone "+z.zone, err)
	}
	for _, hz := range out.HostedZones {
		if strings.TrimSuffix(aws.ToString(hz.Name), ".") == z.zone {
			z.zoneID = strings.TrimPrefix(aws.ToString(hz.Id), "/hostedzone/")
			return z.zoneID, nil
		}
	}
	return "", ottr.Errorf(ottr.EINVALID, "route53: no hosted zone named %s in this account (set hosted_zone_id?)", z.zone)
}

var authCodes = map[string]bool{
	"InvalidClientTokenId": true, "AccessDenied": true, "AccessDeniedException": true, "SignatureDoesNotMatch": true,
	"UnrecognizedClientException": true, "ExpiredToken": true, "InvalidSignatureException": true, "MissingAuthenticationToken": true,
}

func classify(what string, err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		msg := fmt.Sprintf("route53 %s: %s: %s", what, ae.ErrorCode(), ae.ErrorMessage())
		switch {
		case authCodes[ae.ErrorCode()]:
			return ottr.Errorf(ottr.EUNAUTHORIZED, "%s", msg)
		case ae.ErrorFault() == smithy.FaultClient && ae.ErrorCode() != "Throttling" && ae.ErrorCode() != "PriorRequestNotComplete":
			return ottr.Errorf(ottr.EINVALID, "%s", msg)
		}
		return ottr.Errorf(ottr.EUNAVAILABLE, "%s", msg)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return ottr.Errorf(ottr.EUNAVAILABLE, "route53 %s: %v", what, err)
}
