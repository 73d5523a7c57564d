package rotate_test

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// A rotation's recorded error names every problem and keeps the chain,
// not only the head of an ottr.Invalid: "bigip driver for lb1" alone
// does not say that profiles and serve are unset.
func TestRecordedErrorNamesEveryProblem(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	a := f.device(t, "web4")
	f.rot.Open = func(context.Context, *ottr.Asset) (ottr.Driver, error) {
		return nil, ottr.Invalid("bigip driver for "+a.SystemName,
			ottr.Problem{Field: "profiles", Message: "is required"},
			ottr.Problem{Field: "serve", Message: "is required"})
	}
	r := f.queue(t, a)
	err := f.rot.Run(ctx, r.ID)
	if ottr.ErrorCode(err) != ottr.EINVALID {
		t.Fatalf("Run: %v, want %s", err, ottr.EINVALID)
	}
	if err := f.rot.Fail(ctx, r.ID, err); err != nil {
		t.Fatal(err)
	}
	want := "bigip driver for web4.example.com: profiles: is required; serve: is required"
	got, log := f.get(t, r.ID)
	as, _ := f.db.GetAsset(ctx, a.SystemName)
	last := f.notes.sent[len(f.notes.sent)-1]
	for where, text := range map[string]string{
		"rotation error":      got.Error,
		"rotation log":        log,
		"asset last rotation": as.LastRotation.Error,
		"notification":        last.Error,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("%s = %q, want it to contain %q", where, text, want)
		}
	}
}

// A coded error's wrapping layers and cause reach the record too: the
// operator sees that the driver could not be opened because the
// credential store was unreachable, and why.
func TestRecordedErrorKeepsTheChain(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := t.Context()
	a := f.device(t, "web5")
	f.rot.Open = func(context.Context, *ottr.Asset) (ottr.Driver, error) {
		return nil, ottr.Wrap(ottr.EUNAVAILABLE, &netErr{syscall.ECONNREFUSED}, "credential %s", "lb-admin")
	}
	r := f.queue(t, a)
	err := f.rot.Run(ctx, r.ID)
	if !errors.Is(err, syscall.ECONNREFUSED) || ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		t.Fatalf("Run: %v (%s), want the cause kept", err, ottr.ErrorCode(err))
	}
	if err := f.rot.Fail(ctx, r.ID, err); err != nil {
		t.Fatal(err)
	}
	got, _ := f.get(t, r.ID)
	as, _ := f.db.GetAsset(ctx, a.SystemName)
	want := "open driver: credential lb-admin: vault: connection refused"
	if !strings.Contains(got.Error, want) || !strings.Contains(as.LastRotation.Error, want) {
		t.Errorf("rotation error %q, asset %q, want both to contain %q", got.Error, as.LastRotation.Error, want)
	}
}

type netErr struct{ err error }

func (e *netErr) Error() string { return "vault: " + e.err.Error() }
func (e *netErr) Unwrap() error { return e.err }

// Preflight's reachability check keeps the dial error as the cause.
func TestUnreachableDeviceKeepsTheDialError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web6")
	f.mu.Lock()
	f.devices[a.SystemName].Close()
	delete(f.devices, a.SystemName)
	f.mu.Unlock()
	r := f.queue(t, a)
	err := f.rot.Run(t.Context(), r.ID)
	if ottr.ErrorCode(err) != ottr.EUNAVAILABLE || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("Run: %v (%s), want %s caused by ECONNREFUSED", err, ottr.ErrorCode(err), ottr.EUNAVAILABLE)
	}
}

// A step that runs out of time says so, and keeps what the driver was
// doing when it did.
func TestStepTimeoutKeepsTheDriverError(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.device(t, "web1")
	f.rot.StepTimeout = 500 * time.Millisecond
	f.wrap = func(d ottr.Driver) ottr.Driver { return &hangingKeygen{Driver: d} }
	r := f.queue(t, a)
	err := f.rot.Run(t.Context(), r.ID)
	if ottr.ErrorCode(err) != ottr.EUNAVAILABLE || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v (%s), want %s caused by the deadline", err, ottr.ErrorCode(err), ottr.EUNAVAILABLE)
	}
	got, _ := f.get(t, r.ID)
	for _, want := range []string{"step csr timed out after 500ms", "POST /keygen: context deadline exceeded"} {
		if !strings.Contains(got.Error, want) {
			t.Errorf("rotation error %q lacks %q", got.Error, want)
		}
	}
}

// hangingKeygen is a device whose key generation never answers.
type hangingKeygen struct{ ottr.Driver }

func (h *hangingKeygen) CSR(ctx context.Context, _ ottr.CSRRequest) (*x509.CertificateRequest, error) {
	<-ctx.Done()
	return nil, ottr.Errorf(ottr.EUNAVAILABLE, "POST /keygen: %w", ctx.Err())
}
