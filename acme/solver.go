package acme

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mholt/acmez/v3/acme"
	"github.com/ottr-dev/ottr"
)

// cleanupTimeout bounds removing one record after the order ended.
const cleanupTimeout = 30 * time.Second

// solver answers the DNS-01 challenges of one order. acmez calls Present
// for every authorization before it asks the CA to validate any, then Wait
// before each validation; the first Wait waits for every value of the
// order, so no validation starts while another name's record is missing.
type solver struct {
	dns         ottr.ChallengeDNS
	delegations map[string]ottr.Delegation // by name

	mu      sync.Mutex
	present map[string][]string // target → values written
	waited  bool
	waitErr error
}

func newSolver(d ottr.ChallengeDNS, ds []ottr.Delegation) *solver {
	s := &solver{dns: d, delegations: map[string]ottr.Delegation{}, present: map[string][]string{}}
	for _, del := range ds {
		s.delegations[del.Name] = del
	}
	return s
}

func (s *solver) delegation(ch acme.Challenge) (ottr.Delegation, error) {
	name := strings.TrimPrefix(strings.ToLower(ch.Identifier.Value), "*.")
	d, ok := s.delegations[name]
	if !ok {
		d, ok = s.delegations["*."+name]
	}
	if !ok {
		return d, ottr.Errorf(ottr.EINVALID, "CA asked about %s, which the CSR does not name", ch.Identifier.Value)
	}
	return d, nil
}

// Present writes the challenge's TXT value at its delegated target.
func (s *solver) Present(ctx context.Context, ch acme.Challenge) error {
	d, err := s.delegation(ch)
	if err != nil {
		return err
	}
	v := ch.DNS01KeyAuthorization()
	if err := s.dns.AddTXT(ctx, d, v); err != nil {
		return err
	}
	s.mu.Lock()
	s.present[d.Target] = append(s.present[d.Target], v)
	s.mu.Unlock()
	return nil
}

// Wait returns once every value of the order is visible on the delegate
// zones' authoritative servers.
func (s *solver) Wait(ctx context.Context, _ acme.Challenge) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.waited {
		return s.waitErr
	}
	s.waited = true
	var wg sync.WaitGroup
	errs := make(chan error, len(s.present))
	for target, vals := range s.present {
		var d ottr.Delegation
		for _, del := range s.delegations {
			if del.Target == target {
				d = del
				break
			}
		}
		wg.Go(func() {
			if err := s.dns.WaitTXT(ctx, d, vals); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	s.waitErr = <-errs
	return s.waitErr
}

// CleanUp removes the challenge's TXT value.
func (s *solver) CleanUp(ctx context.Context, ch acme.Challenge) error {
	d, err := s.delegation(ch)
	if err != nil {
		return err
	}
	// Clean up even when the order's context is already cancelled.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	if err := s.dns.RemoveTXT(ctx, d, ch.DNS01KeyAuthorization()); err != nil {
		return fmt.Errorf("clean up %s: %w", d.Target, err)
	}
	return nil
}
