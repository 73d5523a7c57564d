// Package cloudflare keeps a delegate zone on Cloudflare DNS through its v4
// API, using the maintained github.com/libdns/cloudflare provider.
//
// The API token needs Zone:DNS:Edit on the delegate zone (and Zone:Zone:Read
// to find the zone's ID, or a separate ZoneToken with it). Cloudflare keeps
// each TXT value as its own record, so several challenges sharing one name
// coexist and deleting one leaves the others. Cloudflare's smallest TTL is
// 60 seconds (1 means "automatic").
package cloudflare

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/libdns/cloudflare"
	"github.com/libdns/libdns"
	"github.com/ottr-dev/ottr"
)

// Config names the zone and the credentials.
type Config struct {
	Zone      string      `yaml:"zone"`
	APIToken  ottr.Secret `yaml:"api_token"`
	ZoneToken ottr.Secret `yaml:"zone_token"` // optional, Zone:Read for all zones
	// TTL of the records; default 60s (Cloudflare's minimum).
	TTL time.Duration `yaml:"ttl"`
	// Endpoint replaces https://api.cloudflare.com (tests, API gateways).
	Endpoint string `yaml:"endpoint"`
	// HTTPClient is used for every request; default a client with a 30s
	// timeout.
	HTTPClient *http.Client `yaml:"-"`
}

// Zone writes TXT records through the Cloudflare API.
type Zone struct {
	// zone without the trailing dot: Cloudflare's zone names have none,
	// and the library passes it to the zones?name= lookup as is.
	zone string
	ttl  time.Duration
	p    *cloudflare.Provider
}

var _ ottr.DNSZone = (*Zone)(nil)

// New checks c and returns its zone.
func New(c Config) (*Zone, error) {
	var probs []ottr.Problem
	c.Zone = strings.TrimSuffix(strings.ToLower(c.Zone), ".")
	if c.Zone == "" {
		probs = append(probs, ottr.Problem{Field: "zone", Message: "is required"})
	}
	if c.APIToken.IsZero() {
		probs = append(probs, ottr.Problem{Field: "api_token", Message: "is required (a token with Zone:DNS:Edit)"})
	}
	var ep *url.URL
	if c.Endpoint != "" {
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			probs = append(probs, ottr.Problem{Field: "endpoint", Message: fmt.Sprintf("%q is not an http(s) URL", c.Endpoint)})
		}
		ep = u
	}
	if c.TTL != 0 && c.TTL != time.Second && c.TTL < time.Minute {
		probs = append(probs, ottr.Problem{Field: "ttl", Message: "Cloudflare accepts 1s (automatic) or at least 60s"})
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("cloudflare provider is misconfigured", probs...)
	}
	if c.TTL == 0 {
		c.TTL = time.Minute
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	return &Zone{zone: c.Zone, ttl: c.TTL, p: &cloudflare.Provider{
		APIToken:   c.APIToken.Reveal(),
		ZoneToken:  c.ZoneToken.Reveal(),
		HTTPClient: &client{hc: hc, endpoint: ep},
	}}, nil
}

// AddTXT adds value at name.
func (z *Zone) AddTXT(ctx context.Context, name, value string) error {
	rec, err := z.record(name, value)
	if err != nil {
		return err
	}
	ctx, st := withStatus(ctx)
	if _, err := z.p.AppendRecords(ctx, z.zone, []libdns.Record{rec}); err != nil {
		return classify("add TXT "+name, err, st)
	}
	return nil
}

// RemoveTXT deletes value at name; other values stay.
func (z *Zone) RemoveTXT(ctx context.Context, name, value string) error {
	rec, err := z.record(name, value)
	if err != nil {
		return err
	}
	ctx, st := withStatus(ctx)
	if _, err := z.p.DeleteRecords(ctx, z.zone, []libdns.Record{rec}); err != nil {
		return classify("remove TXT "+name, err, st)
	}
	// The library ignores the error of the look-up that precedes a TXT
	// delete and then deletes nothing; the recorded status tells.
	if st.failed() {
		return classify("remove TXT "+name, fmt.Errorf("record look-up failed with HTTP %d", st.last()), st)
	}
	return nil
}

func (z *Zone) record(name, value string) (libdns.TXT, error) {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if name != z.zone && !strings.HasSuffix(name, "."+z.zone) {
		return libdns.TXT{}, ottr.Errorf(ottr.EINVALID, "cloudflare: %s is not in zone %s", name, z.zone)
	}
	return libdns.TXT{Name: libdns.RelativeName(name, z.zone), TTL: z.ttl, Text: value}, nil
}

// statusBox remembers the last HTTP status of one operation; the library
// reports errors as text only.
type statusBox struct {
	mu   sync.Mutex
	code int
	bad  bool // some response was >= 400
}

func (b *statusBox) last() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.code
}

// failed reports whether any response of the operation was an error.
func (b *statusBox) failed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.bad
}

type statusKey struct{}

func withStatus(ctx context.Context) (context.Context, *statusBox) {
	b := &statusBox{}
	return context.WithValue(ctx, statusKey{}, b), b
}

type client struct {
	hc       *http.Client
	endpoint *url.URL
}

func (c *client) Do(req *http.Request) (*http.Response, error) {
	if c.endpoint != nil {
		req.URL.Scheme, req.URL.Host = c.endpoint.Scheme, c.endpoint.Host
	}
	resp, err := c.hc.Do(req)
	if b, ok := req.Context().Value(statusKey{}).(*statusBox); ok && resp != nil {
		b.mu.Lock()
		b.code = resp.StatusCode
		b.bad = b.bad || resp.StatusCode >= 400
		b.mu.Unlock()
	}
	return resp, err
}

func classify(what string, err error, st *statusBox) error {
	st.mu.Lock()
	code := st.code
	st.mu.Unlock()
	msg := fmt.Sprintf("cloudflare %s: %v", what, err)
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return ottr.Errorf(ottr.EUNAUTHORIZED, "%s (check api_token and its Zone:DNS:Edit permission)", msg)
	case code >= 400 && code < 500 && code != http.StatusTooManyRequests:
		return ottr.Errorf(ottr.EINVALID, "%s", msg)
	case strings.Contains(err.Error(), "expected 1 zone"):
		return ottr.Errorf(ottr.EINVALID, "%s (is the zone on this Cloudflare account?)", msg)
	}
	return ottr.Errorf(ottr.EUNAVAILABLE, "%s", msg)
}
