package fortigate_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/ottr-dev/ottr"
)

// A FortiGate that refuses the connection fails with EUNAVAILABLE and
// keeps the transport error as its cause.
func TestUnreachableDeviceKeepsTheCause(t *testing.T) {
	t.Parallel()
	dev := start(t)
	d := newDriver(t, dev)
	dev.Close()
	_, cerr := d.Current(t.Context())
	_, merr := d.CSR(t.Context(), fgReq)
	for name, err := range map[string]error{"Current": cerr, "CSR": merr} {
		var errno syscall.Errno
		if code := ottr.ErrorCode(err); code != ottr.EUNAVAILABLE || !errors.As(err, &errno) {
			t.Errorf("%s: %v (%s), want EUNAVAILABLE caused by the socket error", name, err, code)
		}
	}
}
