package panos_test

import (
	"errors"
	"syscall"
	"testing"

	"github.com/ottr-dev/ottr"
)

// A device that refuses the connection fails with EUNAVAILABLE and keeps
// the transport error as its cause, so callers (and errors.As) see why.
func TestUnreachableDeviceKeepsTheCause(t *testing.T) {
	t.Parallel()
	dev := start(t)
	d := newDriver(t, dev, fwAsset(), nil)
	dev.Close() // nothing listens on its address now
	// Current probes what the device serves; CSR talks to its management
	// interface.
	_, cerr := d.Current(t.Context())
	_, merr := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "dev.example.com"})
	for name, err := range map[string]error{"Current": cerr, "CSR": merr} {
		var errno syscall.Errno
		if ottr.ErrorCode(err) != ottr.EUNAVAILABLE || !errors.As(err, &errno) {
			t.Errorf("%s: %v (%s), want %s caused by the socket error", name, err, ottr.ErrorCode(err), ottr.EUNAVAILABLE)
		}
	}
}
