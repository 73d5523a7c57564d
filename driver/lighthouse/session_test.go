package lighthouse_test

import (
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
)

// TestExpiredSessionLogsInAgain: the Lighthouse ends sessions on its own
// (timeout, restart) while the CA signs. Its 401 "Invalid session ID." is
// not a refused credential: the driver logs in again once and carries on.
func TestExpiredSessionLogsInAgain(t *testing.T) {
	t.Parallel()
	dev := start(t)
	d := newDriver(t, dev, consoleAsset(), false, nil)
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	dev.ExpireSessions()
	chain := testpki.NewCA("Corp CA").Sign(csr, time.Hour)
	if err := d.Install(t.Context(), chain); err != nil {
		t.Fatalf("install after the device ended the session: %v", err)
	}
	if dev.Sessions() != 1 {
		t.Errorf("%d sessions on the device, want the one new login", dev.Sessions())
	}
	serves(t, dev, "after logging in again", chain[0])
}

// TestRefusedLoginAfterExpiry: when logging in again is refused, the
// error is the login's, and it is permanent.
func TestRefusedLoginAfterExpiry(t *testing.T) {
	t.Parallel()
	dev := start(t)
	d := newDriver(t, dev, consoleAsset(), false, nil)
	csr, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "console01.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	dev.ExpireSessions()
	dev.AddUser(user, "changed-meanwhile", true)
	err = d.Install(t.Context(), testpki.NewCA("Corp CA").Sign(csr, time.Hour))
	if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !ottr.IsPermanent(err) || !contains(err, "Invalid login credentials") {
		t.Errorf("install with a changed password: %v", err)
	}
	if !dev.Pending() {
		t.Error("the device's request is gone")
	}
}
