package redfish_test

import (
	"errors"
	"strings"
	"syscall"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/redfish"
	"github.com/ottr-dev/ottr/internal/storetest"
	simredfish "github.com/ottr-dev/ottr/sim/redfish"
)

// TestImpostorGetsNoCredential: with certificate_validation "False" the
// BMC's factory key is pinned on first contact, and a host answering at
// its address later with another key is refused during the handshake —
// before the login is sent — for session and Basic authentication alike.
func TestImpostorGetsNoCredential(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{"session", "basic"} {
		t.Run(auth, func(t *testing.T) {
			db := storetest.Open(t)
			a := bmcAsset()
			open := func(dev *simredfish.Device) *redfish.Driver {
				c := config(dev)
				c.Auth = auth
				c.Trust = ottr.CheckTrust(t.Context(), db, a.SystemName, true, nowFunc)
				return newDriver(t, c)
			}
			real := start(t, "openbmc")
			if _, err := open(real).CSR(t.Context(), names); err != nil {
				t.Fatalf("first contact: %v", err)
			}
			impostor := start(t, "openbmc")
			_, err := open(impostor).CSR(t.Context(), names)
			if ottr.ErrorCode(err) != ottr.EFORBIDDEN || !ottr.IsPermanent(err) || !strings.Contains(err.Error(), "ottr trust accept "+a.SystemName) {
				t.Fatalf("impostor: %v, want a permanent EFORBIDDEN saying how to accept", err)
			}
			if calls := impostor.Calls(); len(calls) != 0 {
				t.Errorf("the impostor was sent requests: %v", calls)
			}
			if _, err := open(real).CSR(t.Context(), names); err != nil {
				t.Errorf("the real BMC after an impostor: %v", err)
			}
		})
	}
}

// A BMC that refuses the connection fails with EUNAVAILABLE and keeps the
// socket error as its cause.
func TestUnreachableBMCKeepsTheCause(t *testing.T) {
	t.Parallel()
	dev := start(t, "openbmc")
	d := newDriver(t, config(dev))
	dev.Close()
	_, cerr := d.Current(t.Context())
	_, merr := d.CSR(t.Context(), names)
	for name, err := range map[string]error{"Current": cerr, "CSR": merr} {
		var errno syscall.Errno
		if ottr.ErrorCode(err) != ottr.EUNAVAILABLE || !errors.As(err, &errno) {
			t.Errorf("%s: %v (%s), want %s caused by the socket error", name, err, ottr.ErrorCode(err), ottr.EUNAVAILABLE)
		}
	}
}
