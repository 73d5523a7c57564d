package discover

import (
	"context"
	"crypto/x509"
	"fmt"
	"net"
	"time"

	"github.com/ottr-dev/ottr"
)

// Bounds of a scan asked for through the API: it runs inside one HTTP
// request, whose answer must come before the server's write timeout.
const (
	ServiceMaxAddresses   = 4096
	ServiceMaxDuration    = 45 * time.Second
	ServiceMaxConcurrency = 256
	ServiceMaxTimeout     = 10 * time.Second
)

// Service runs the scans the API is asked for (POST /api/v1/discover),
// bounded: at most MaxAddresses host:port pairs, MaxDuration in all, and
// the request's concurrency and timeout within ServiceMaxConcurrency and
// ServiceMaxTimeout.
type Service struct {
	// DNS checks the certificates' names' delegation; nil: not checked.
	DNS ottr.ChallengeDNS
	// RootCAs judge the chains served; nil: the system's.
	RootCAs *x509.CertPool
	// Dial opens connections; nil: a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
	// MaxAddresses bounds the addresses (host:port pairs) one scan tries
	// (0: ServiceMaxAddresses); MaxDuration bounds its time (0:
	// ServiceMaxDuration), after which it answers what it found.
	MaxAddresses int
	MaxDuration  time.Duration
}

// Discover checks req against the bounds, each problem naming its field,
// and runs the scan.
func (s *Service) Discover(ctx context.Context, req ottr.DiscoverRequest) (*ottr.DiscoverResult, error) {
	maxAddr := s.MaxAddresses
	if maxAddr <= 0 {
		maxAddr = ServiceMaxAddresses
	}
	maxDur := s.MaxDuration
	if maxDur <= 0 {
		maxDur = ServiceMaxDuration
	}
	var probs []ottr.Problem
	if req.Concurrency < 0 || req.Concurrency > ServiceMaxConcurrency {
		probs = append(probs, ottr.Problem{Field: "concurrency", Message: fmt.Sprintf("%d is out of range 1-%d (0: %d)", req.Concurrency, ServiceMaxConcurrency, DefaultConcurrency)})
	}
	if req.Timeout < 0 || req.Timeout > ServiceMaxTimeout {
		probs = append(probs, ottr.Problem{Field: "timeout", Message: fmt.Sprintf("%v is out of range; at most %v", req.Timeout, ServiceMaxTimeout)})
	}
	if err := CheckPorts(req.Ports); err != nil {
		probs = append(probs, ottr.ErrorProblems(err)...)
	}
	targets, err := ParseTargets(req.Targets, "targets", maxAddr)
	if err != nil {
		probs = append(probs, ottr.ErrorProblems(err)...)
	}
	sc := &Scanner{Ports: req.Ports, Concurrency: req.Concurrency, Timeout: req.Timeout, Dial: s.Dial, RootCAs: s.RootCAs}
	if len(probs) == 0 {
		if n := sc.Total(targets); n > maxAddr {
			probs = append(probs, ottr.Problem{Field: "targets", Message: fmt.Sprintf("with the ports they make %d addresses; a scan through the API tries at most %d", n, maxAddr)})
		}
	}
	if len(probs) > 0 {
		msg := "the scan is refused: " + probs[0].String()
		if len(probs) > 1 {
			msg = fmt.Sprintf("the scan is refused: %d problems", len(probs))
		}
		return nil, ottr.Invalid(msg, probs...)
	}
	if s.DNS != nil {
		sc.Delegate = s.DNS.Delegate
	}
	ctx, cancel := context.WithTimeout(ctx, maxDur)
	defer cancel()
	return sc.Scan(ctx, targets)
}
