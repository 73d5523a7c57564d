package discover

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
)

// Defaults and bounds of a Scanner.
const (
	DefaultConcurrency = 64
	MaxConcurrency     = 1024
	DefaultTimeout     = 3 * time.Second
	MaxTimeout         = time.Minute
)

// Scanner finds TLS endpoints and tells what they are. It connects,
// completes a TLS handshake without verifying (recording the chain), and
// sends a few unauthenticated GETs whose answers tell the products apart
// (classify.go). It sends no credential anywhere and follows no redirect.
// The zero Scanner scans DefaultPorts, DefaultConcurrency endpoints at
// once, with DefaultTimeout.
type Scanner struct {
	// Ports are tried on targets that name none; empty: DefaultPorts.
	Ports []int
	// Concurrency bounds the addresses probed at once.
	Concurrency int
	// Timeout bounds the connection and handshake, and each request; the
	// requests to one endpoint together take at most three times it.
	Timeout time.Duration
	// Dial opens TCP connections; nil: a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// RootCAs judge whether a served chain is trusted; nil: the system's.
	RootCAs *x509.CertPool
	// Delegate, when set, checks each certificate name's DNS-01
	// delegation (ottr.ChallengeDNS.Delegate); each name is asked once a
	// scan.
	Delegate func(ctx context.Context, name string) (ottr.Delegation, error)
	// Progress is called after each address, with how many are done of
	// how many; calls do not overlap.
	Progress func(done, total int)
	// Found is called with each endpoint as it is found, before Scan
	// returns; calls do not overlap.
	Found func(ottr.DiscoveredEndpoint)
}

func (s *Scanner) timeout() time.Duration {
	if s.Timeout <= 0 {
		return DefaultTimeout
	}
	return min(s.Timeout, MaxTimeout)
}

func (s *Scanner) ports() []int {
	if len(s.Ports) == 0 {
		return DefaultPorts
	}
	return s.Ports
}

// Total is how many addresses (host:port pairs) targets make.
func (s *Scanner) Total(targets []Target) int {
	n := 0
	for _, t := range targets {
		if t.Port != 0 {
			n++
		} else {
			n += len(s.ports())
		}
	}
	return n
}

// Scan probes every target, Concurrency at once, and returns what it
// found sorted by address. When ctx's deadline ends the scan the result
// holds what was found by then and says TimedOut; when ctx is cancelled
// it is returned with ctx's error.
func (s *Scanner) Scan(ctx context.Context, targets []Target) (*ottr.DiscoverResult, error) {
	conc := s.Concurrency
	if conc <= 0 {
		conc = DefaultConcurrency
	}
	conc = min(conc, MaxConcurrency)
	total := s.Total(targets)
	res := &ottr.DiscoverResult{Addresses: total, Endpoints: []ottr.DiscoveredEndpoint{}}
	var (
		mu   sync.Mutex
		done int
		wg   sync.WaitGroup
	)
	dels := &delegations{seen: map[string]*delegationEntry{}}
	sem := make(chan struct{}, conc)
	finish := func(ep ottr.DiscoveredEndpoint, found bool) {
		mu.Lock()
		defer mu.Unlock()
		done++
		if found {
			res.Endpoints = append(res.Endpoints, ep)
			if s.Found != nil {
				s.Found(ep)
			}
		}
		if s.Progress != nil {
			s.Progress(done, total)
		}
	}
feed:
	for _, t := range targets {
		ports := []int{t.Port}
		if t.Port == 0 {
			ports = s.ports()
		}
		for _, p := range ports {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				break feed
			}
			wg.Add(1)
			go func(t Target) {
				defer wg.Done()
				defer func() { <-sem }()
				ep, found := s.probe(ctx, t, dels)
				finish(ep, found && ctx.Err() == nil)
			}(Target{Host: t.Host, Port: p})
		}
	}
	wg.Wait()
	slices.SortFunc(res.Endpoints, func(a, b ottr.DiscoveredEndpoint) int { return compareTargets(a.Host, a.Port, b.Host, b.Port) })
	switch err := ctx.Err(); {
	case errors.Is(err, context.DeadlineExceeded):
		res.TimedOut = true
	case err != nil:
		return res, err
	}
	return res, nil
}

// compareTargets orders addresses before names, addresses numerically,
// then by port.
func compareTargets(h1 string, p1 int, h2 string, p2 int) int {
	a1, e1 := netip.ParseAddr(h1)
	a2, e2 := netip.ParseAddr(h2)
	switch {
	case e1 == nil && e2 == nil:
		if c := a1.Compare(a2); c != 0 {
			return c
		}
	case e1 == nil:
		return -1
	case e2 == nil:
		return 1
	default:
		if c := strings.Compare(h1, h2); c != 0 {
			return c
		}
	}
	return cmp.Compare(p1, p2)
}

func (s *Scanner) dial(ctx context.Context, addr string) (net.Conn, error) {
	if s.Dial != nil {
		return s.Dial(ctx, "tcp", addr)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", addr)
}

// connect dials t and completes a TLS handshake by deadline.
func (s *Scanner) connect(ctx context.Context, t Target, deadline time.Time) (*tls.Conn, error) {
	cctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	raw, err := s.dial(cctx, t.Address())
	if err != nil {
		return nil, &dialError{err}
	}
	sni := t.Host
	if net.ParseIP(sni) != nil {
		sni = ""
	}
	tc := tls.Client(raw, clientConfig(sni))
	if err := tc.HandshakeContext(cctx); err != nil {
		raw.Close()
		return nil, err
	}
	return tc, nil
}

// dialError is a connection that could not be opened: nothing listens,
// or the name does not resolve.
type dialError struct{ err error }

func (e *dialError) Error() string { return e.err.Error() }
func (e *dialError) Unwrap() error { return e.err }

// probe connects to t, records what it serves and classifies it; found
// is false when nothing listens there.
func (s *Scanner) probe(ctx context.Context, t Target, dels *delegations) (ottr.DiscoveredEndpoint, bool) {
	to := s.timeout()
	ep := ottr.DiscoveredEndpoint{Address: t.Address(), Host: t.Host, Port: t.Port}
	conn, err := s.connect(ctx, t, time.Now().Add(to))
	if err != nil {
		var de *dialError
		var dns *net.DNSError
		switch {
		case errors.As(err, &dns):
			// A name that does not resolve is worth saying; a port
			// nobody listens on is not.
			ep.Error = fmt.Sprintf("resolve %s: %s", t.Host, dns.Err)
			return ep, true
		case errors.As(err, &de):
			return ep, false
		}
		ep.Error = "TLS handshake: " + handshakeError(err)
		return ep, true
	}
	st := conn.ConnectionState()
	ep.TLSVersion = tlsVersion(st.Version)
	if ra, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		ep.IP = ra.IP.String()
	}
	if len(st.PeerCertificates) > 0 {
		ep.Certificate = summarise(st.PeerCertificates, t.Host, s.RootCAs)
	}
	g := s.classify(ctx, t, conn, to)
	ep.Platform, ep.Product, ep.Driver, ep.Evidence, ep.Server = g.platform, g.product, g.driver, g.evidence, g.server
	if s.Delegate != nil && ep.Certificate != nil {
		for _, name := range certNames(ep.Certificate) {
			ep.Delegations = append(ep.Delegations, dels.check(ctx, name, to, s.Delegate))
		}
	}
	return ep, true
}

// classified is a guess with the Server header seen.
type classified struct {
	guess
	server string
}

// classify sends GET / on conn (and closes it), then the probes, each on
// a connection of its own, until one answer tells what the endpoint is.
// An endpoint that does not answer GET / as HTTP is asked nothing more.
func (s *Scanner) classify(ctx context.Context, t Target, conn *tls.Conn, to time.Duration) classified {
	budget := time.Now().Add(3 * to)
	next := func() time.Time { return earliest(time.Now().Add(to), budget) }
	// A request in flight ends with the scan, not at its own deadline.
	interrupt := func(c net.Conn) func() bool {
		return context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	}
	stop := interrupt(conn)
	first, err := get(conn, t.Host, t.Port, "/", next())
	stop()
	conn.Close()
	if err != nil {
		return classified{guess: guess{"", ottr.ProductTLS, "", "no HTTP answer to GET /: " + shortError(err)}}
	}
	var out classified
	out.server = first.header.Get("Server")
	if g, ok := classifyRoot(first); ok {
		out.guess = g
		return out
	}
	for _, p := range probes {
		if ctx.Err() != nil || time.Now().After(budget) {
			break
		}
		c, err := s.connect(ctx, t, next())
		if err != nil {
			break
		}
		stop := interrupt(c)
		a, err := get(c, t.Host, t.Port, p.path, next())
		stop()
		c.Close()
		if err != nil {
			continue
		}
		if out.server == "" {
			out.server = a.header.Get("Server")
		}
		if g, ok := p.match(a); ok {
			out.guess = g
			return out
		}
	}
	if g, ok := generic(out.server); ok {
		out.guess = g
		return out
	}
	out.guess = guess{"", ottr.ProductTLS, "", "answers HTTP; no probe matched a product"}
	return out
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// handshakeError says why a handshake failed, in words.
func handshakeError(err error) string {
	var rh tls.RecordHeaderError
	switch {
	case errors.As(err, &rh):
		return "the port answers, but not with TLS"
	case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
		return "no answer in time"
	}
	return shortError(err)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// shortError is an error's text without the addresses net errors repeat.
func shortError(err error) string {
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

// certNames are the certificate's DNS names worth a delegation check:
// the common name when it is one, and the DNS SANs.
func certNames(c *ottr.DiscoveredCertificate) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range append([]string{c.CommonName}, c.DNSNames...) {
		n = ottr.NormalName(n)
		if n == "" || seen[n] || ottr.CheckFQDN(n, true) != nil {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	return out
}

// delegations asks each name once a scan, however many endpoints serve
// it.
type delegations struct {
	mu   sync.Mutex
	seen map[string]*delegationEntry
}

type delegationEntry struct {
	done chan struct{}
	d    ottr.NameDelegation
}

func (ds *delegations) check(ctx context.Context, name string, to time.Duration, delegate func(context.Context, string) (ottr.Delegation, error)) ottr.NameDelegation {
	ds.mu.Lock()
	e, ok := ds.seen[name]
	if !ok {
		e = &delegationEntry{done: make(chan struct{})}
		ds.seen[name] = e
	}
	ds.mu.Unlock()
	if ok {
		select {
		case <-e.done:
			return e.d
		case <-ctx.Done():
			return ottr.NameDelegation{Name: name, Status: ottr.DelegationError, Message: "the scan ended first"}
		}
	}
	defer close(e.done)
	dctx, cancel := context.WithTimeout(ctx, 2*to)
	defer cancel()
	lookup := strings.TrimPrefix(name, "*.")
	d, err := delegate(dctx, lookup)
	switch {
	case err == nil:
		e.d = ottr.NameDelegation{Name: name, Status: ottr.DelegationOK, Target: d.Target}
	case ottr.ErrorCode(err) == ottr.EINVALID:
		e.d = ottr.NameDelegation{Name: name, Status: ottr.DelegationMissing, Message: strings.TrimPrefix(ottr.ErrorMessage(err), lookup+": ")}
	case ottr.ErrorCode(err) != ottr.EINTERNAL:
		e.d = ottr.NameDelegation{Name: name, Status: ottr.DelegationError, Message: ottr.ErrorMessage(err)}
	default:
		e.d = ottr.NameDelegation{Name: name, Status: ottr.DelegationError, Message: shortError(err)}
	}
	return e.d
}
