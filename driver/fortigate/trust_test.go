package fortigate_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/fortigate"
	"github.com/ottr-dev/ottr/internal/storetest"
)

// TestImpostorGetsNoToken: with certificate_validation "False" the
// FortiGate's factory key is pinned on first contact, and a host that
// answers at its address later with another key is refused during the
// handshake — before the token is sent — until an ADMIN accepts the key.
func TestImpostorGetsNoToken(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	a := fgAsset()
	openAt := func(addr string) *fortigate.Driver {
		d, err := fortigate.New(fortigate.Config{Address: addr, Asset: a, Credential: ottr.Credential{"api_token": token},
			ServePoll: 10 * time.Millisecond, Trust: ottr.CheckTrust(t.Context(), db, a.SystemName, true, time.Now)})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	real := start(t)
	if _, err := openAt(real.Addr).CSR(t.Context(), fgReq); err != nil {
		t.Fatalf("first contact: %v", err)
	}
	pin, err := db.GetTrust(t.Context(), a.SystemName)
	if err != nil || !strings.HasPrefix(pin.Fingerprint, "tls SHA256:") {
		t.Fatalf("no pin after first contact: %+v %v", pin, err)
	}
	impostor := start(t)
	_, err = openAt(impostor.Addr).CSR(t.Context(), fgReq)
	if ottr.ErrorCode(err) != ottr.EFORBIDDEN || !ottr.IsPermanent(err) || !strings.Contains(err.Error(), "ottr trust accept "+a.SystemName) {
		t.Fatalf("impostor: %v, want a permanent EFORBIDDEN saying how to accept", err)
	}
	if calls := impostor.Calls(); len(calls) != 0 {
		t.Errorf("the impostor was sent requests (and the token): %v", calls)
	}
	if got, _ := db.GetTrust(t.Context(), a.SystemName); got.Fingerprint != pin.Fingerprint || got.Pending == "" {
		t.Errorf("after refusal %+v, want the pin kept and the new key pending", got)
	}
	if _, err := openAt(real.Addr).CSR(t.Context(), fgReq); err != nil {
		t.Errorf("the real FortiGate after an impostor: %v", err)
	}
}
