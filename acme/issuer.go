package acme

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mholt/acmez/v3"
	"github.com/mholt/acmez/v3/acme"
	"github.com/ottr-dev/ottr"
)

// Issuer gets CSRs signed by configured ACME CAs. It implements
// ottr.Issuer and is safe for concurrent use.
type Issuer struct {
	// CAs by name, as assets name them in certificate_authority.
	CAs map[string]CA
	// Secrets keeps the account keys, sealed.
	Secrets ottr.SecretStore
	// DNS answers the DNS-01 challenges through delegate zones.
	DNS    ottr.ChallengeDNS
	Logger *slog.Logger

	once   sync.Once
	states map[string]*caState
}

var (
	_ ottr.Issuer       = (*Issuer)(nil)
	_ ottr.OrderResumer = (*Issuer)(nil)
)

type caState struct {
	name   string
	conf   CA
	client *acmez.Client

	mu      sync.Mutex
	account acme.Account
	// issuers holds the subject key IDs of the intermediates this CA has
	// issued through, to tell whether a certificate came from it.
	issuers sync.Map
}

// issued reports whether leaf was issued through an intermediate this CA
// has used for us before. Only then is it sent as ARI "replaces": CAs
// reject a certificate they did not issue (malformed "no known issuer").
func (c *caState) issued(leaf *x509.Certificate) bool {
	if leaf == nil || len(leaf.AuthorityKeyId) == 0 {
		return false
	}
	_, ok := c.issuers.Load(string(leaf.AuthorityKeyId))
	return ok
}

func encodeRawURL(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func (is *Issuer) logger() *slog.Logger {
	if is.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return is.Logger
}

func (is *Issuer) init() {
	is.once.Do(func() {
		is.states = map[string]*caState{}
		for name, c := range is.CAs {
			poll := c.PollInterval
			if poll <= 0 {
				poll = 100 * time.Millisecond
			}
			is.states[name] = &caState{name: name, conf: c, client: &acmez.Client{
				Client: &acme.Client{
					Directory:    c.directory(name),
					HTTPClient:   c.httpClient(),
					UserAgent:    "ottr",
					PollInterval: poll,
					PollTimeout:  3 * time.Minute,
					Logger:       is.Logger,
				},
			}}
		}
	})
}

func (is *Issuer) ca(name string) (*caState, error) {
	is.init()
	c, ok := is.states[name]
	if !ok {
		names := make([]string, 0, len(is.states))
		for n := range is.states {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, ottr.Errorf(ottr.EINVALID, "certificate_authority %q is not configured (configured: %s)", name, strings.Join(names, ", "))
	}
	return c, nil
}

// Issue checks req's CSR against the CA's CSR policy and the expected
// names, checks every name's DNS delegation, orders the certificate with
// DNS-01 and returns the chain, leaf first.
func (is *Issuer) Issue(ctx context.Context, req ottr.IssueRequest) ([]*x509.Certificate, error) {
	c, err := is.ca(req.CA)
	if err != nil {
		return nil, err
	}
	if req.CSR == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "csr: missing")
	}
	names := req.Names
	if len(names) == 0 {
		names = ottr.CSRNames(req.CSR)
	}
	if err := ottr.CheckCSR(req.CSR, names, c.conf.CSRPolicy); err != nil {
		return nil, err
	}
	if is.DNS == nil {
		return nil, errors.New("issuer has no DNS configured for DNS-01")
	}
	// Every name must be delegated before anything is ordered, so a
	// missing CNAME costs no order and no rate limit.
	dels, err := ottr.CheckDelegations(ctx, is.DNS, ottr.CSRNames(req.CSR))
	if err != nil {
		return nil, err
	}

	ctx, box := withRetryAfterBox(ctx)
	acct, err := is.account(ctx, c)
	if err != nil {
		return nil, classify(c.name, err, box.get())
	}
	params, err := acmez.OrderParametersFromCSR(acct, req.CSR)
	if err != nil && req.CSR.Subject.CommonName != "" && len(req.CSR.DNSNames) == 0 && len(req.CSR.IPAddresses) == 0 {
		// A device that can only put its name in the subject (Opengear
		// Lighthouse). RFC 8555 §7.4 lets the commonName carry a dns
		// identifier; acmez only reads the SAN extension, so it is shown
		// the name there while the CA receives the device's CSR unchanged.
		// CAs that also insist on the extension (Pebble) refuse it.
		name := ottr.NormalName(req.CSR.Subject.CommonName)
		shown := *req.CSR
		shown.DNSNames = []string{name}
		params, err = acmez.OrderParameters{Account: acct, CSR: acmez.StaticCSR(&shown),
			Identifiers: []acme.Identifier{{Type: "dns", Value: name}}}, nil
	}
	if err != nil {
		return nil, ottr.Errorf(ottr.EINVALID, "csr: %v", err)
	}
	params.Profile = c.conf.Profile
	if c.issued(req.Replaces) {
		params.Replaces = req.Replaces
	}

	client := &acmez.Client{Client: c.client.Client, ChallengeSolvers: map[string]acmez.Solver{
		acme.ChallengeTypeDNS01: newSolver(is.DNS, dels),
	}}
	if req.OnOrder != nil {
		dir, err := c.client.GetDirectory(ctx)
		if err != nil {
			return nil, classify(c.name, fmt.Errorf("directory: %w", err), box.get())
		}
		ctx = context.WithValue(ctx, orderHookKey{}, orderHook{newOrder: dir.NewOrder, fn: req.OnOrder})
	}
	start := time.Now()
	chains, err := client.ObtainCertificate(ctx, params)
	if err != nil && params.Replaces != nil && refusedReplaces(err) {
		// The CA would not link this order to the old certificate (another
		// account issued it, say); order it as a new certificate.
		is.logger().Warn("acme replaces refused; ordering without it", "ca", c.name, "err", err)
		params.Replaces = nil
		client.ChallengeSolvers[acme.ChallengeTypeDNS01] = newSolver(is.DNS, dels)
		chains, err = client.ObtainCertificate(ctx, params)
	}
	if err != nil {
		return nil, classify(c.name, err, box.get())
	}
	chain, err := c.accept(chains, req.CSR)
	if err != nil {
		return nil, err
	}
	is.logger().Info("certificate issued", "ca", c.name, "names", ottr.CSRNames(req.CSR),
		"serial", fmt.Sprintf("%x", chain[0].SerialNumber), "not_after", chain[0].NotAfter, "took", time.Since(start).Round(time.Millisecond))
	return chain, nil
}

// accept picks the chain to install among those offered for csr, checks
// it, and remembers its intermediates.
func (c *caState) accept(chains []acme.Certificate, csr *x509.CertificateRequest) ([]*x509.Certificate, error) {
	chain, err := c.pickChain(chains)
	if err != nil {
		return nil, err
	}
	if err := c.checkChain(chain, csr); err != nil {
		return nil, err
	}
	for _, ic := range chain[1:] {
		if len(ic.SubjectKeyId) > 0 {
			c.issuers.Store(string(ic.SubjectKeyId), true)
		}
	}
	return chain, nil
}

// ResumeOrder collects the certificate of an order an interrupted attempt
// created: downloaded if the CA has signed it, waited for while the CA is
// signing it; nil when the order never reached the CA's signing (pending,
// ready, invalid or gone), so the caller orders anew.
func (is *Issuer) ResumeOrder(ctx context.Context, req ottr.IssueRequest, orderURL string) ([]*x509.Certificate, error) {
	c, err := is.ca(req.CA)
	if err != nil {
		return nil, err
	}
	if req.CSR == nil {
		return nil, ottr.Errorf(ottr.EINVALID, "csr: missing")
	}
	ctx, box := withRetryAfterBox(ctx)
	acct, err := is.account(ctx, c)
	if err != nil {
		return nil, classify(c.name, err, box.get())
	}
	order := acme.Order{Location: orderURL}
	deadline := time.Now().Add(c.client.PollTimeout)
	for {
		order, err = c.client.GetOrder(ctx, acct, order)
		if err != nil {
			if box.lastStatus() == http.StatusNotFound {
				return nil, nil // expired and removed by the CA
			}
			return nil, classify(c.name, fmt.Errorf("order %s: %w", orderURL, err), box.get())
		}
		if order.Status != acme.StatusProcessing || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(c.client.PollInterval):
		}
	}
	if order.Status != acme.StatusValid || order.Certificate == "" {
		return nil, nil
	}
	chains, err := c.client.GetCertificateChain(ctx, acct, order.Certificate)
	if err != nil {
		return nil, classify(c.name, fmt.Errorf("downloading certificate of order %s: %w", orderURL, err), box.get())
	}
	chain, err := c.accept(chains, req.CSR)
	if err != nil {
		return nil, err
	}
	is.logger().Info("certificate collected from an earlier order", "ca", c.name, "order", orderURL,
		"serial", fmt.Sprintf("%x", chain[0].SerialNumber))
	return chain, nil
}

// refusedReplaces reports whether the CA refused a new order that named
// the certificate it replaces (ARI "replaces"), in a way an order without
// it may not meet. CAs differ: RFC 9773's alreadyReplaced, malformed for a
// CertID they cannot parse, serverInternal from one that cannot find the
// old certificate (Pebble, for a serial DER writes with a leading zero).
// Refusals about the account, the names or the rate are not about
// "replaces" and are not ordered again.
func refusedReplaces(err error) bool {
	m := strings.ToLower(err.Error())
	if strings.Contains(m, "replaces") || strings.Contains(m, "certid") {
		return true
	}
	var p acme.Problem
	if !errors.As(err, &p) || !strings.Contains(m, "creating new order") {
		return false
	}
	switch p.Type {
	case acme.ProblemTypeAlreadyReplaced, acme.ProblemTypeMalformed, acme.ProblemTypeServerInternal:
		return true
	}
	return false
}

// pickChain returns the preferred chain among those offered, parsed.
func (c *caState) pickChain(offered []acme.Certificate) ([]*x509.Certificate, error) {
	if len(offered) == 0 {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "CA %s: no certificate chain offered", c.name)
	}
	var parsed [][]*x509.Certificate
	for _, o := range offered {
		chain, err := ottr.ParseChain(o.ChainPEM)
		if err != nil {
			return nil, ottr.Errorf(ottr.EUNAVAILABLE, "CA %s: chain at %s: %w", c.name, o.URL, err)
		}
		parsed = append(parsed, chain)
	}
	if pref := c.conf.PreferredChain; pref != "" {
		for _, chain := range parsed {
			top := chain[len(chain)-1]
			if top.Issuer.CommonName == pref || top.Subject.CommonName == pref {
				return chain, nil
			}
		}
	}
	return parsed[0], nil
}

// checkChain makes sure the CA issued what was asked: the leaf carries the
// CSR's key and names and, when trusted roots are configured, chains to
// one of them.
func (c *caState) checkChain(chain []*x509.Certificate, csr *x509.CertificateRequest) error {
	leaf := chain[0]
	pub, err := x509.MarshalPKIXPublicKey(leaf.PublicKey)
	if err != nil || !bytes.Equal(pub, mustPKIX(csr.PublicKey)) {
		return ottr.Errorf(ottr.EUNAVAILABLE, "CA %s: issued certificate does not carry the CSR's public key", c.name)
	}
	for _, n := range ottr.CSRNames(csr) {
		if !slices.Contains(leaf.DNSNames, n) {
			return ottr.Errorf(ottr.EUNAVAILABLE, "CA %s: issued certificate lacks %s", c.name, n)
		}
	}
	if len(c.conf.TrustedRoots) > 0 {
		roots := x509.NewCertPool()
		roots.AppendCertsFromPEM(c.conf.TrustedRoots)
		inter := x509.NewCertPool()
		for _, ic := range chain[1:] {
			inter.AddCert(ic)
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
			return ottr.Errorf(ottr.EINVALID, "CA %s: issued chain does not lead to certificate_authorities.%s.trusted_roots: %v", c.name, c.name, err)
		}
	}
	return nil
}

func mustPKIX(k any) []byte {
	b, _ := x509.MarshalPKIXPublicKey(k)
	return b
}

var _ ottr.RenewalWindowIssuer = (*Issuer)(nil)

// RenewalWindow implements ottr.RenewalWindowIssuer: the CA's window for
// the certificate with ARI identifier certID (ottr.ARICertID). A window
// whose end does not follow its start is refused as the CA's error, as
// RFC 9773 §4.2 asks (acmez passes it on after its retries).
func (is *Issuer) RenewalWindow(ctx context.Context, caName, certID string) (ottr.RenewalWindow, error) {
	// ARI needs only the certificate's authority key identifier and
	// serial, which the identifier carries.
	leaf, err := ottr.ParseARICertID(certID)
	if err != nil {
		return ottr.RenewalWindow{}, err
	}
	w, err := is.RenewalInfo(ctx, caName, leaf)
	if err != nil {
		return ottr.RenewalWindow{}, err
	}
	out := ottr.RenewalWindow{Start: *ottr.NewTime(w.Start), End: *ottr.NewTime(w.End), ExplanationURL: w.ExplanationURL, CertID: certID}
	if err := out.Valid(nil); err != nil {
		return ottr.RenewalWindow{}, ottr.Errorf(ottr.EUNAVAILABLE, "CA %s: %v", caName, err)
	}
	if !w.RetryAfter.IsZero() {
		out.CheckAfter = *ottr.NewTime(w.RetryAfter)
	}
	return out, nil
}

// RenewalWindow is a CA's suggested window to renew a certificate (ARI,
// RFC 9773).
type RenewalWindow struct {
	Start, End     time.Time
	ExplanationURL string
	// RetryAfter is when the CA asks to be polled again.
	RetryAfter time.Time
}

// RenewalInfo fetches the CA's renewal window for leaf. A CA without ARI
// gives an EINVALID error.
func (is *Issuer) RenewalInfo(ctx context.Context, caName string, leaf *x509.Certificate) (RenewalWindow, error) {
	c, err := is.ca(caName)
	if err != nil {
		return RenewalWindow{}, err
	}
	ri, err := c.client.GetRenewalInfo(ctx, leaf)
	if errors.Is(err, acme.ErrUnsupported) {
		return RenewalWindow{}, ottr.Errorf(ottr.EINVALID, "CA %s does not offer renewal information (ARI)", caName)
	}
	if err != nil {
		return RenewalWindow{}, classify(caName, fmt.Errorf("renewal info: %w", err), 0)
	}
	w := RenewalWindow{Start: ri.SuggestedWindow.Start, End: ri.SuggestedWindow.End, ExplanationURL: ri.ExplanationURL}
	if ri.RetryAfter != nil {
		w.RetryAfter = *ri.RetryAfter
	}
	return w, nil
}
