package ottr

import (
	"context"
	"crypto/x509"
	"fmt"
)

// Restorer is implemented by drivers that can put the previous certificate
// back when the new one fails verification.
//
// Restore gets the chain the device served before the rotation, as the
// rotation row keeps it: it may run in another process or replica than the
// attempt that installed, after a crash, with a freshly opened driver. It
// must make previous the served certificate again, paired with the key the
// device still holds for it (the driver keeps, never deletes, the previous
// key until the rotation is recorded), commit where the device needs it,
// be idempotent, and honour ctx. After it returns nil the device serves
// previous; after an error the rotation fails with both errors recorded.
type Restorer interface {
	Restore(ctx context.Context, previous []*x509.Certificate) error
}

type stepLogKey struct{}

// WithStepLog returns a context whose Logf lines go to fn: the rotation
// engine collects them into the rotation's log, which DEVELOPERs read.
// Lines should never contain secrets; Logf masks those the context's
// Masker knows anyway.
func WithStepLog(ctx context.Context, fn func(line string)) context.Context {
	return context.WithValue(ctx, stepLogKey{}, fn)
}

// Logf adds a line to the rotation log carried by ctx, if any, with the
// secrets of ctx's Masker replaced by [REDACTED]. Drivers use it to say
// what they did on the device.
func Logf(ctx context.Context, format string, args ...any) {
	if fn, ok := ctx.Value(stepLogKey{}).(func(string)); ok {
		fn(MaskerFrom(ctx).Mask(fmt.Sprintf(format, args...)))
	}
}
