package panos_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/panos"
	"github.com/ottr-dev/ottr/internal/storetest"
)

// TestImpostorGetsNoCredential: with certificate_validation "False" the
// firewall's self-signed key is pinned on first contact, and a host that
// answers at its address later with another key is refused during the
// handshake — before the login is sent — until an ADMIN accepts the key.
func TestImpostorGetsNoCredential(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	a := fwAsset()
	open := func(addr string) *panos.Driver {
		d, err := panos.New(panos.Config{Address: addr, Asset: a, CommitPoll: 5 * time.Millisecond,
			Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)},
			Trust:      ottr.CheckTrust(t.Context(), db, a.SystemName, true, time.Now)})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	req := ottr.CSRRequest{CommonName: a.CommonName, DNSNames: a.SubjectAlternativeName}

	real := start(t)
	if _, err := open(real.Addr).CSR(t.Context(), req); err != nil {
		t.Fatalf("first contact: %v", err)
	}
	pin, err := db.GetTrust(t.Context(), a.SystemName)
	if err != nil || !strings.HasPrefix(pin.Fingerprint, "tls SHA256:") {
		t.Fatalf("no pin after first contact: %+v %v", pin, err)
	}

	impostor := start(t)
	_, err = open(impostor.Addr).CSR(t.Context(), req)
	if ottr.ErrorCode(err) != ottr.EFORBIDDEN || !ottr.IsPermanent(err) || !strings.Contains(err.Error(), "ottr trust accept "+a.SystemName) {
		t.Fatalf("impostor: %v, want a permanent EFORBIDDEN saying how to accept", err)
	}
	if calls := impostor.Calls(); len(calls) != 0 {
		t.Errorf("the impostor was sent requests (and the login): %v", calls)
	}
	if got, _ := db.GetTrust(t.Context(), a.SystemName); got.Fingerprint != pin.Fingerprint || got.Pending == "" {
		t.Errorf("after refusal %+v, want the pin kept and the new key pending", got)
	}
	// The real firewall is still trusted.
	if _, err := open(real.Addr).CSR(t.Context(), req); err != nil {
		t.Errorf("real device after an impostor: %v", err)
	}
}
