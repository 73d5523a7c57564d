package rotate

import (
	"context"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
)

// Rotator runs the pipeline of one rotation (SPEC §3): preflight, key and
// CSR on the device, CSR policy, order, install and commit, verify (restore
// the previous certificate if that fails), record. Progress is kept in the
// rotation row, so a rotation resumed after a crash continues from a safe
// step and never orders a certificate it already has.
type Rotator struct {
	Assets    ottr.AssetStore
	Rotations ottr.RotationStore
	Issuer    ottr.Issuer
	// DNS checks every name's delegation in preflight; nil skips it.
	DNS ottr.ChallengeDNS
	// Open returns a driver for an asset's device.
	Open func(ctx context.Context, a *ottr.Asset) (ottr.Driver, error)
	// Address returns host:port to check reachability in preflight; nil or
	// "" skips the check.
	Address func(a *ottr.Asset) string
	// Routes supplies certificate_authority_organization for verify.
	Routes *ottr.RouteTable
	// Roots returns the roots a CA's chains must lead to; nil (or a nil
	// pool) uses the system roots.
	Roots func(ca string) *x509.CertPool
	// Notifier is told about failed (and, if it wants, succeeded)
	// rotations; nil tells no one.
	Notifier ottr.Notifier
	// CSRProfile says what an asset's device is asked to put in its CSR
	// besides the names: the key type ("" lets the driver choose) and the
	// subject fields, for the rotation's route recipe ("" when the asset
	// has no route). The CSR policy then holds the device to them. nil
	// asks for neither.
	CSRProfile func(a *ottr.Asset, recipe string) (keyType string, subject ottr.Subject)
	// StepTimeout bounds each step; default 5m.
	StepTimeout time.Duration
	// RetryBase is the first wait after a failure before the router may
	// rotate the asset again (ottr.FailureBackoff doubles it per failure
	// in a row, up to a day); default one hour, the router's interval.
	RetryBase time.Duration
	Now       func() time.Time
	Logger    *slog.Logger
}

func (r *Rotator) now() time.Time {
	if r.Now == nil {
		return time.Now()
	}
	return r.Now()
}

func (r *Rotator) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// run is one execution of a rotation: its record, asset, driver and log.
type run struct {
	r     *Rotator
	rot   *ottr.Rotation
	asset *ottr.Asset
	drv   ottr.Driver
	// mask hides the values of the credentials resolved for this run
	// (ottr.MaskCredential) in every line and error stored.
	mask *ottr.Masker

	// epoch, when held, is the lease epoch this attempt runs under: a
	// save finding the row at another epoch (taken over) is refused.
	epoch int64
	held  bool

	mu    sync.Mutex
	step  ottr.Step
	lines []ottr.LogLine
}

type epochKey struct{}

// withEpoch marks ctx as an attempt holding its rotation at lease epoch e.
func withEpoch(ctx context.Context, e int64) context.Context {
	return context.WithValue(ctx, epochKey{}, e)
}

// errSuperseded stops an attempt whose rotation another worker took over.
var errSuperseded = errors.New("rotation taken over by another worker")

func (x *run) logf(level, format string, args ...any) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.lines = append(x.lines, ottr.LogLine{Time: x.r.now().UTC(), Step: x.step, Level: level, Message: x.mask.Mask(fmt.Sprintf(format, args...))})
}

// flush writes the collected log lines.
func (x *run) flush(ctx context.Context) {
	x.mu.Lock()
	lines := x.lines
	x.lines = nil
	x.mu.Unlock()
	if len(lines) == 0 {
		return
	}
	if err := x.r.Rotations.AppendRotationLog(context.WithoutCancel(ctx), x.rot.ID, lines...); err != nil {
		x.r.logger().Error("rotation log not written", "rotation_id", x.rot.ID, "err", err)
	}
}

// save applies fn to the stored rotation and keeps the result. An attempt
// whose rotation was taken over (another epoch) writes nothing: the row
// belongs to the new holder.
func (x *run) save(ctx context.Context, fn func(*ottr.Rotation)) error {
	// The log lines collected so far go in the same transaction.
	x.mu.Lock()
	lines := x.lines
	x.lines = nil
	x.mu.Unlock()
	rot, err := x.r.Rotations.UpdateRotation(context.WithoutCancel(ctx), x.rot.ID, func(r *ottr.Rotation) error {
		if x.held && r.LeaseEpoch != x.epoch {
			return errSuperseded
		}
		fn(r)
		r.Log = lines
		return nil
	})
	if err != nil {
		// Kept for the final flush: the log says what this attempt did
		// even when it may no longer change the row.
		x.mu.Lock()
		x.lines = append(lines, x.lines...)
		x.mu.Unlock()
		return err
	}
	x.rot = rot
	return nil
}

// Run executes rotation id. It returns nil when the rotation succeeded.
// On error the rotation stays running with the error recorded: the caller
// retries transient errors and calls Fail for permanent ones or when it
// gives up.
func (r *Rotator) Run(ctx context.Context, id string) error {
	x := &run{r: r, rot: &ottr.Rotation{ID: id}, mask: ottr.NewMasker()}
	x.epoch, x.held = ctx.Value(epochKey{}).(int64)
	ctx = ottr.WithMasker(ctx, x.mask)
	defer x.flush(ctx)
	now := r.now().UTC()
	// The attempt starts with its first save, which reads the row too: no
	// separate read (with the whole log) per attempt.
	finished := false
	if err := x.save(ctx, func(r *ottr.Rotation) {
		if !r.State.Live() {
			finished = true // a duplicate delivery of the job, or canceled
			return
		}
		r.State, r.Attempts, r.Error = ottr.StateRunning, r.Attempts+1, ""
		if r.StartedAt == nil {
			r.StartedAt = &now
		}
	}); err != nil {
		return err
	}
	if finished {
		return nil
	}
	x.logf("info", "attempt %d started", x.rot.Attempts)
	// The error is stored, logged, handed to the job queue (which keeps
	// it) and to Fail: it leaves here masked.
	err := x.mask.MaskError(x.pipeline(ctx))
	if errors.Is(err, errCanceled) {
		return nil
	}
	if errors.Is(err, errSuperseded) {
		return err
	}
	if err != nil {
		// The whole chain and every problem: the head of an
		// ottr.Invalid alone ("bigip driver for lb1") does not say
		// what to fix.
		msg := err.Error()
		x.logf("error", "%s", msg)
		_ = x.save(ctx, func(r *ottr.Rotation) {
			// An attempt that lost its rotation (finished or taken
			// over meanwhile) must not write over it.
			if r.State.Live() {
				r.Error = msg
			}
		})
		return err
	}
	return nil
}

func (x *run) pipeline(ctx context.Context) error {
	a, err := x.r.Assets.GetAsset(ctx, x.rot.SystemName)
	if err != nil {
		return err
	}
	x.asset = a
	if done, err := x.rotatedMeanwhile(ctx); done || err != nil {
		return err
	}
	if err := x.stepTo(ctx, ottr.StepPreflight); err != nil {
		return err
	}
	if err := x.timed(ctx, x.preflight); err != nil {
		return err
	}
	if x.drv, err = x.r.Open(ctx, a); err != nil {
		return fmt.Errorf("open driver: %w", err)
	}
	if c, ok := x.drv.(interface{ Close() error }); ok {
		defer c.Close()
	}
	// Best effort: a new device may serve nothing yet.
	rctx, cancel := context.WithTimeout(ottr.WithStepLog(ctx, func(l string) { x.logf("info", "%s", l) }), time.Minute)
	_ = x.rememberCurrent(rctx)
	cancel()

	if x.rot.Chain == "" && x.rot.CSR == "" {
		x.adoptUnused(ctx)
	}
	var chain []*x509.Certificate
	if x.rot.Chain != "" {
		// Resumed after the certificate was issued: install that one.
		if chain, err = ottr.ParseChain([]byte(x.rot.Chain)); err != nil {
			return fmt.Errorf("stored chain: %w", err)
		}
		x.logf("info", "resuming with the certificate already issued (serial %x)", chain[0].SerialNumber)
	} else if chain, err = x.resumeOrder(ctx); err != nil {
		return err
	}
	if chain == nil {
		if err := x.stepTo(ctx, ottr.StepCSR); err != nil {
			return err
		}
		var csr *x509.CertificateRequest
		if err := x.timed(ctx, func(ctx context.Context) (err error) { csr, err = x.makeCSR(ctx); return }); err != nil {
			return err
		}
		if err := x.stepTo(ctx, ottr.StepOrder); err != nil {
			return err
		}
		if err := x.timed(ctx, func(ctx context.Context) (err error) { chain, err = x.order(ctx, csr); return }); err != nil {
			return err
		}
	}
	if err := x.stepTo(ctx, ottr.StepInstall); err != nil {
		return err
	}
	if err := x.timed(ctx, func(ctx context.Context) error { return x.install(ctx, chain) }); err != nil {
		return err
	}
	if err := x.stepTo(ctx, ottr.StepVerify); err != nil {
		return err
	}
	if err := x.timed(ctx, func(ctx context.Context) error { return x.verify(ctx, chain) }); err != nil {
		// Only a verification that ran to its end says the device is
		// wrong: an attempt stopped (shutdown, lost lease) leaves the
		// device to whoever continues the rotation.
		if ctx.Err() == nil && !errors.Is(err, errSuperseded) {
			x.restore(ctx)
		}
		return err
	}
	if err := x.stepTo(ctx, ottr.StepRecord); err != nil {
		return err
	}
	return x.record(ctx, chain)
}

// rotatedMeanwhile ends, without touching the device or the CA, a router
// rotation whose asset another rotation renewed after this one was queued:
// two passes that overlap (the leader's and "ottr router run", or a pass
// and a rotation someone asked for finishing between the pass's scan and
// its insert) must not order a second certificate. The asset keeps its
// last rotation's time to the second: a renewal in the same second as
// this rotation's creation counts as meanwhile (the asset is fresh either
// way).
func (x *run) rotatedMeanwhile(ctx context.Context) (bool, error) {
	l := x.asset.LastRotation
	if x.rot.Trigger != ottr.TriggerRouter || x.rot.Chain != "" || l == nil || l.Status != string(ottr.StateSucceeded) ||
		l.RotationID == x.rot.ID || l.Time.Before(x.rot.CreatedAt.Truncate(time.Second)) {
		return false, nil
	}
	now := x.r.now().UTC()
	msg := fmt.Sprintf("nothing to do: rotation %s renewed the asset after this one was queued", l.RotationID)
	if err := x.save(ctx, func(r *ottr.Rotation) {
		if r.State.Live() {
			r.State, r.FinishedAt, r.Error = ottr.StateCanceled, &now, msg
		}
	}); err != nil {
		return false, err
	}
	x.logf("info", "%s", msg)
	return true, nil
}

// errFinished: the rotation ended (canceled) before Fail could record it.
var errFinished = errors.New("rotation already finished")

// errCanceled stops a rotation whose row was marked canceled.
var errCanceled = errors.New("rotation canceled")

// stepTo records the step about to run; a rotation canceled meanwhile
// stops here, between steps, where the device is in a known state.
func (x *run) stepTo(ctx context.Context, s ottr.Step) error {
	x.mu.Lock()
	x.step = s
	x.mu.Unlock()
	if err := x.save(ctx, func(r *ottr.Rotation) {
		if r.State.Live() {
			r.Step = s
		}
	}); err != nil {
		return err
	}
	if x.rot.State == ottr.StateCanceled {
		x.logf("info", "canceled before %s", s)
		return errCanceled
	}
	return nil
}

// errStepTimeout tells a step's own timeout from the attempt's.
var errStepTimeout = errors.New("step timeout")

// timed runs a step with the step timeout and the rotation log in ctx.
func (x *run) timed(ctx context.Context, fn func(context.Context) error) error {
	to := x.r.StepTimeout
	if to <= 0 {
		to = 5 * time.Minute
	}
	ctx, cancel := context.WithTimeoutCause(ctx, to, errStepTimeout)
	defer cancel()
	ctx = ottr.WithStepLog(ctx, func(line string) { x.logf("info", "%s", line) })
	start := time.Now()
	err := fn(ctx)
	if errors.Is(err, context.DeadlineExceeded) && context.Cause(ctx) == errStepTimeout {
		// Keep what the driver was doing when the time ran out.
		err = ottr.Wrap(ottr.EUNAVAILABLE, err, "step %s timed out after %s", x.step, to)
	}
	x.logf("info", "step %s took %s", x.step, time.Since(start).Round(time.Millisecond))
	return err
}

// preflight checks the device answers and every name is delegated.
func (x *run) preflight(ctx context.Context) error {
	if x.r.Address != nil {
		if addr := x.r.Address(x.asset); addr != "" {
			conn, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return ottr.Errorf(ottr.EUNAVAILABLE, "device %s unreachable at %s: %w", x.asset.SystemName, addr, err)
			}
			conn.Close()
			x.logf("info", "device reachable at %s", addr)
		}
	}
	if x.r.DNS == nil {
		return nil
	}
	dels, err := ottr.CheckDelegations(ctx, x.r.DNS, x.asset.Names())
	for _, d := range dels {
		x.logf("info", "%s delegated: %s", d.Name, strings.Join(d.Chain, " → "))
	}
	return err
}

// adoptUnused takes over the certificate the asset's last, failed rotation
// had issued but never got into service (the install failed and nothing was
// restored, so the device still holds its key): the new rotation installs
// it instead of ordering again. A CA allows few duplicate certificates (Let's
// Encrypt: 5 a week), and an asset whose install keeps failing would use
// them up in a day of retries. The certificate is taken only while it
// names exactly the asset's names and has more than half its lifetime
// left; if the device no longer holds its key, verify fails, the previous
// certificate is restored and the next attempt starts over.
func (x *run) adoptUnused(ctx context.Context) {
	l := x.asset.LastRotation
	if l == nil || l.Status != string(ottr.StateFailed) || l.RotationID == "" || l.RotationID == x.rot.ID {
		return
	}
	prev, err := x.r.Rotations.GetRotation(ctx, l.RotationID)
	if err != nil || prev.Chain == "" || prev.SystemName != x.asset.SystemName {
		return
	}
	// Taken over a few times only: if installing it keeps failing, the
	// device may no longer hold its key (a driver without Restore).
	tries, from := 1, prev.AdoptedFrom
	for ; from != "" && tries < maxAdoptions; tries++ {
		p, err := x.r.Rotations.GetRotation(ctx, from)
		if err != nil {
			break
		}
		from = p.AdoptedFrom
	}
	if tries >= maxAdoptions {
		x.logf("info", "ordering a new certificate: serial %s failed to install %d times", prev.NewSerial, tries)
		return
	}
	chain, err := ottr.ParseChain([]byte(prev.Chain))
	if err != nil || len(chain) == 0 {
		return
	}
	leaf, now := chain[0], x.r.now()
	if now.After(leaf.NotBefore.Add(leaf.NotAfter.Sub(leaf.NotBefore)/2)) || !sameNames(leaf, x.asset.Names()) {
		return
	}
	// Issued by the CA the asset names now (not one it has left, or a
	// staging CA), where its roots are known.
	if x.r.Roots != nil {
		if roots := x.r.Roots(x.asset.CertificateAuthority); roots != nil {
			inter := x509.NewCertPool()
			for _, c := range chain[1:] {
				inter.AddCert(c)
			}
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
				return
			}
		}
	}
	if err := x.save(ctx, func(r *ottr.Rotation) {
		r.CSR, r.Chain, r.AdoptedFrom = prev.CSR, prev.Chain, prev.ID
		r.NewSerial, r.NewExpiration = prev.NewSerial, prev.NewExpiration
	}); err != nil {
		return
	}
	x.logf("info", "installing serial %x, issued by rotation %s whose install failed, instead of ordering again", leaf.SerialNumber, prev.ID)
}

// maxAdoptions is how many rotations in a row may try to install one
// issued certificate.
const maxAdoptions = 3

// sameNames reports whether leaf names exactly names (in any order).
func sameNames(leaf *x509.Certificate, names []string) bool {
	want := map[string]bool{}
	for _, n := range names {
		want[strings.ToLower(n)] = true
	}
	got := map[string]bool{}
	for _, n := range leaf.DNSNames {
		got[strings.ToLower(n)] = true
	}
	if len(got) != len(want) {
		return false
	}
	for n := range want {
		if !got[n] {
			return false
		}
	}
	return true
}

// rememberCurrent records what the device serves before the rotation, for
// the record and for restoring it.
func (x *run) rememberCurrent(ctx context.Context) error {
	if x.rot.OldSerial != "" {
		return nil
	}
	cur, err := x.drv.Current(ctx)
	if err != nil || len(cur) == 0 {
		x.logf("info", "no current certificate read from the device (%v)", err)
		return nil
	}
	if err := x.save(ctx, func(r *ottr.Rotation) {
		r.OldSerial = fmt.Sprintf("%x", cur[0].SerialNumber)
		r.OldExpiration = ottr.NewTime(cur[0].NotAfter)
		r.PreviousChain = string(ottr.EncodeChain(cur))
	}); err != nil {
		return err
	}
	x.logf("info", "device serves serial %x until %s", cur[0].SerialNumber, cur[0].NotAfter.UTC().Format(time.RFC3339))
	return nil
}

// makeCSR has the device make a fresh key and CSR and checks it against
// the CSR policy.
func (x *run) makeCSR(ctx context.Context) (*x509.CertificateRequest, error) {
	m, ok := x.drv.(ottr.CSRMaker)
	if !ok {
		return nil, ottr.Errorf(ottr.EINVALID, "driver for %s cannot make a key and CSR", x.asset.HostPlatform)
	}
	names := x.asset.Names()
	req := ottr.CSRRequest{CommonName: x.asset.CommonName, DNSNames: names}
	if x.r.CSRProfile != nil {
		recipe := x.recipe()
		req.KeyType, req.Subject = x.r.CSRProfile(x.asset, recipe)
		x.logf("info", "asking for %s", describeRequest(req, recipe))
	}
	csr, err := m.CSR(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("make CSR on the device: %w", err)
	}
	if err := ottr.CheckCSR(csr, names, ottr.CSRPolicy{KeyType: req.KeyType, Subject: req.Subject}); err != nil {
		return nil, err
	}
	pemCSR := encodeCSR(csr)
	// A new key: an order recorded for an earlier one no longer applies.
	if err := x.save(ctx, func(r *ottr.Rotation) { r.CSR, r.OrderURL = pemCSR, "" }); err != nil {
		return nil, err
	}
	x.logf("info", "CSR passes the policy: %s, %s key", strings.Join(names, ", "), keyName(csr))
	return csr, nil
}

// recipe is the route recipe the rotation runs: the one recorded when it
// was queued (router, API), else the asset's route now (a rotation asked
// for from the command line records none).
func (x *run) recipe() string {
	if x.rot.Recipe != "" || x.r.Routes == nil {
		return x.rot.Recipe
	}
	if route, err := x.r.Routes.LookupAsset(x.asset); err == nil {
		return route.Recipe
	}
	return ""
}

// describeRequest says, for the log, what the device is asked for.
func describeRequest(r ottr.CSRRequest, recipe string) string {
	kt := r.KeyType
	if kt == "" {
		kt = "the driver's default"
	}
	subj := "no subject fields besides CN"
	if !r.Subject.IsZero() {
		subj = "subject " + r.Subject.String()
	}
	if recipe == "" {
		recipe = "none"
	}
	return fmt.Sprintf("key %s, %s (recipe %s)", kt, subj, recipe)
}

// order gets the CSR signed and keeps the chain before anything else, so
// a crash after this point never orders again.
func (x *run) order(ctx context.Context, csr *x509.CertificateRequest) ([]*x509.Certificate, error) {
	var replaces *x509.Certificate
	if prev := x.previousChain(); len(prev) > 0 {
		replaces = prev[0]
	}
	chain, err := x.r.Issuer.Issue(ctx, ottr.IssueRequest{CA: x.asset.CertificateAuthority, CSR: csr, Names: x.asset.Names(), Replaces: replaces,
		OnOrder: func(url string) {
			if err := x.save(ctx, func(r *ottr.Rotation) { r.OrderURL = url }); err != nil {
				x.logf("warn", "order %s not recorded: %v", url, err)
			}
		}})
	if err != nil {
		return nil, err
	}
	if err := x.keepChain(ctx, chain); err != nil {
		return nil, err
	}
	x.logf("info", "%s issued serial %x, valid until %s", x.asset.CertificateAuthority, chain[0].SerialNumber, chain[0].NotAfter.UTC().Format(time.RFC3339))
	return chain, nil
}

// keepChain records the chain the CA issued on the rotation, before
// anything else is done with it, so a crash after this point never orders
// again.
func (x *run) keepChain(ctx context.Context, chain []*x509.Certificate) error {
	return x.save(ctx, func(r *ottr.Rotation) {
		r.Chain = string(ottr.EncodeChain(chain))
		r.NewSerial = fmt.Sprintf("%x", chain[0].SerialNumber)
		r.NewExpiration = ottr.NewTime(chain[0].NotAfter)
	})
}

// resumeOrder collects the certificate of the order an interrupted attempt
// had sent to the CA (the process died after the CA signed, before the
// chain was recorded): the device still holds that CSR's key, so the
// certificate is installed instead of ordering another. nil when there is
// no such order or it never got signed.
func (x *run) resumeOrder(ctx context.Context) ([]*x509.Certificate, error) {
	res, ok := x.r.Issuer.(ottr.OrderResumer)
	if !ok || x.rot.OrderURL == "" || x.rot.CSR == "" {
		return nil, nil
	}
	csr, err := ottr.ParseCSR([]byte(x.rot.CSR))
	if err != nil {
		return nil, nil
	}
	if err := x.stepTo(ctx, ottr.StepOrder); err != nil {
		return nil, err
	}
	var chain []*x509.Certificate
	err = x.timed(ctx, func(ctx context.Context) (err error) {
		chain, err = res.ResumeOrder(ctx, ottr.IssueRequest{CA: x.asset.CertificateAuthority, CSR: csr, Names: x.asset.Names()}, x.rot.OrderURL)
		return err
	})
	if err != nil {
		return nil, err
	}
	if chain == nil {
		x.logf("info", "order %s was never signed; starting over with a fresh key", x.rot.OrderURL)
		return nil, nil
	}
	if err := x.keepChain(ctx, chain); err != nil {
		return nil, err
	}
	x.logf("info", "collected serial %x from order %s, signed before the attempt that ordered it was interrupted", chain[0].SerialNumber, x.rot.OrderURL)
	return chain, nil
}

func (x *run) install(ctx context.Context, chain []*x509.Certificate) error {
	if err := x.drv.Install(ctx, chain); err != nil {
		return fmt.Errorf("install on the device: %w", err)
	}
	x.logf("info", "installed and committed serial %x", chain[0].SerialNumber)
	return nil
}

// verify checks what the device serves now: the new leaf (serial and the
// CSR's key), chaining to the CA's roots, issued by an expected
// organization, with the lifetime issued.
func (x *run) verify(ctx context.Context, chain []*x509.Certificate) error {
	served, err := x.drv.Current(ctx)
	if err != nil {
		return fmt.Errorf("read the served certificate: %w", err)
	}
	if len(served) == 0 {
		return ottr.Errorf(ottr.EUNAVAILABLE, "verify: the device serves no certificate")
	}
	var roots *x509.CertPool
	if x.r.Roots != nil {
		roots = x.r.Roots(x.asset.CertificateAuthority)
	}
	var orgs []string
	if x.r.Routes != nil {
		orgs = x.r.Routes.CertificateAuthorityOrganization
	}
	if errs := Verify(served, chain, roots, orgs, x.r.now()); len(errs) > 0 {
		return ottr.Errorf(ottr.EUNAVAILABLE, "verify: %s", strings.Join(errs, "; "))
	}
	x.logf("info", "device serves serial %x, chained to the CA's roots", served[0].SerialNumber)
	return nil
}

// Verify compares the chain a device serves with the one issued and
// returns every mismatch.
func Verify(served, issued []*x509.Certificate, roots *x509.CertPool, orgs []string, now time.Time) []string {
	var errs []string
	leaf, want := served[0], issued[0]
	if leaf.SerialNumber.Cmp(want.SerialNumber) != 0 {
		errs = append(errs, fmt.Sprintf("device serves serial %x, not the new %x", leaf.SerialNumber, want.SerialNumber))
	}
	if !ottr.SamePublicKey(leaf.PublicKey, want.PublicKey) {
		errs = append(errs, "served certificate's key is not the CSR's key")
	}
	inter := x509.NewCertPool()
	for _, c := range append(served[1:], issued[1:]...) {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		errs = append(errs, fmt.Sprintf("served chain does not lead to the CA's roots: %v", err))
	}
	if len(orgs) > 0 {
		ok := false
		for _, o := range leaf.Issuer.Organization {
			for _, w := range orgs {
				if strings.EqualFold(o, w) || strings.EqualFold(strings.TrimPrefix(o, "(STAGING) "), w) {
					ok = true
				}
			}
		}
		if !ok {
			errs = append(errs, fmt.Sprintf("issuer organization %q is not one of %q", leaf.Issuer.Organization, orgs))
		}
	}
	if !leaf.NotAfter.Equal(want.NotAfter) || !leaf.NotAfter.After(now) {
		errs = append(errs, fmt.Sprintf("served certificate expires %s, issued one %s", leaf.NotAfter.UTC().Format(time.RFC3339), want.NotAfter.UTC().Format(time.RFC3339)))
	}
	return errs
}

// previousChain is what the device served before this rotation, as the
// rotation row keeps it; nil when it was not read.
func (x *run) previousChain() []*x509.Certificate {
	if x.rot.PreviousChain == "" {
		return nil
	}
	chain, err := ottr.ParseChain([]byte(x.rot.PreviousChain))
	if err != nil {
		return nil
	}
	return chain
}

// restore puts the previous certificate back after a failed verification,
// where the driver can.
func (x *run) restore(ctx context.Context) {
	rs, ok := x.drv.(ottr.Restorer)
	prev := x.previousChain()
	if !ok || len(prev) == 0 {
		x.logf("warn", "previous certificate not restored (driver cannot, or it is not known)")
		return
	}
	err := x.timed(ctx, func(ctx context.Context) error { return rs.Restore(ctx, prev) })
	if err != nil {
		x.logf("error", "restoring the previous certificate failed: %v", err)
		return
	}
	// The device no longer holds the new key, so a retry must start over
	// with a fresh key and CSR rather than reinstall this chain.
	_ = x.save(ctx, func(r *ottr.Rotation) { r.Chain, r.CSR, r.OrderURL, r.NewSerial, r.NewExpiration = "", "", "", "", nil })
	x.logf("info", "previous certificate restored; a retry starts over with a fresh key")
}

// record writes the new certificate, and the CA's renewal window for it,
// onto the asset and closes the rotation as succeeded.
func (x *run) record(ctx context.Context, chain []*x509.Certificate) error {
	leaf := chain[0]
	window := x.renewalWindow(ctx, leaf)
	now := x.r.now().UTC()
	recovered := 0
	_, err := x.r.Assets.UpdateAsset(ctx, x.asset.SystemName, func(a *ottr.Asset) error {
		a.RenewalWindow = window // the old certificate's window goes with it
		a.CertificateExpiration = ottr.NewTime(leaf.NotAfter)
		a.CertificateNotBefore = ottr.NewTime(leaf.NotBefore)
		a.CertificateSerial = fmt.Sprintf("%x", leaf.SerialNumber)
		a.CertificateIssuer = leaf.Issuer.String()
		a.CertificateValidation = true
		// Rotated by Ottr now, no longer only watched.
		a.Monitored = false
		if l := a.LastRotation; l != nil && l.Status == string(ottr.StateFailed) {
			recovered = max(l.Failures, 1)
		}
		a.LastRotation = &ottr.LastRotation{Time: *ottr.NewTime(now), Status: string(ottr.StateSucceeded), RotationID: x.rot.ID}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the new certificate: %w", err)
	}
	if err := x.save(ctx, func(r *ottr.Rotation) {
		r.State, r.FinishedAt, r.Error = ottr.StateSucceeded, &now, ""
	}); err != nil {
		return err
	}
	x.logf("info", "recorded: expires %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	x.r.logger().Info("certificate rotated", "asset", x.asset.SystemName, "rotation_id", x.rot.ID,
		"serial", fmt.Sprintf("%x", leaf.SerialNumber), "not_after", leaf.NotAfter)
	x.rot.Recovered = recovered
	x.r.notify(ctx, x.rot, x.asset)
	return nil
}

// Fail closes a rotation as failed after its last attempt (or a permanent
// error): the rotation and the asset record the error, and the Notifier is
// told.
func (r *Rotator) Fail(ctx context.Context, id string, cause error) error {
	now := r.now().UTC()
	msg := cause.Error() // masked by Run; whole chain, every problem
	rot, err := r.Rotations.UpdateRotation(ctx, id, func(x *ottr.Rotation) error {
		if !x.State.Live() {
			return errFinished // canceled meanwhile: not a failure
		}
		x.State, x.FinishedAt, x.Error = ottr.StateFailed, &now, msg
		return nil
	})
	if errors.Is(err, errFinished) {
		return nil
	}
	if err != nil {
		return err
	}
	_ = r.Rotations.AppendRotationLog(ctx, id, ottr.LogLine{Time: now, Step: rot.Step, Level: "error", Message: "rotation failed: " + msg})
	a, err := r.Assets.UpdateAsset(ctx, rot.SystemName, func(a *ottr.Asset) error {
		// A streak goes on through the router's retries; a rotation
		// someone asked for starts a new one.
		failures := 1
		if l := a.LastRotation; l != nil && l.Status == string(ottr.StateFailed) && rot.Trigger == ottr.TriggerRouter {
			failures = l.Failures + 1
		}
		retry := ottr.NewTime(now.Add(ottr.FailureBackoff(r.RetryBase, failures)))
		a.LastRotation = &ottr.LastRotation{Time: *ottr.NewTime(now), Status: string(ottr.StateFailed), Error: msg, RotationID: id,
			Failures: failures, RetryAfter: retry}
		rot.Failures = failures
		return nil
	})
	if err != nil {
		return err
	}
	r.logger().Warn("rotation failed", "asset", rot.SystemName, "rotation_id", id, "step", rot.Step, "err", msg)
	r.notify(ctx, rot, a)
	return nil
}

func (r *Rotator) notify(ctx context.Context, rot *ottr.Rotation, a *ottr.Asset) {
	if r.Notifier == nil {
		return
	}
	if err := r.Notifier.Notify(context.WithoutCancel(ctx), rot, a); err != nil {
		r.logger().Error("notification not sent", "rotation_id", rot.ID, "err", err)
		_ = r.Rotations.AppendRotationLog(context.WithoutCancel(ctx), rot.ID, ottr.LogLine{Time: r.now().UTC(), Level: "warn", Message: "notification not sent: " + ottr.ErrorMessage(err)})
	}
}

func keyName(csr *x509.CertificateRequest) string {
	switch k := csr.PublicKey.(type) {
	case interface{ Params() *elliptic.CurveParams }:
		return "ECDSA " + k.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	}
	return fmt.Sprintf("%T", csr.PublicKey)
}
