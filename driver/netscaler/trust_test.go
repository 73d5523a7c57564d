package netscaler_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/netscaler"
	"github.com/ottr-dev/ottr/internal/storetest"
)

// TestImpostorGetsNoCredential: with certificate_validation "False" the
// appliance's self-signed management key is pinned on first contact, and
// a host that answers at its address later with another key is refused
// during the handshake — before the login is sent — until an ADMIN
// accepts the key.
func TestImpostorGetsNoCredential(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	a := lbAsset()
	open := func(addr string) *netscaler.Driver {
		c := netscaler.Config{Address: addr, VServers: []string{"vs_www"}, Serve: "127.0.0.1:1", Asset: a,
			Subject:    ottr.Subject{Country: "US", State: "California", Organization: "Example Inc"},
			Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)},
			Trust:      ottr.CheckTrust(t.Context(), db, a.SystemName, true, time.Now)}
		d, err := netscaler.New(c)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	req := ottr.CSRRequest{CommonName: a.CommonName, DNSNames: a.SubjectAlternativeName, KeyType: "p256"}

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
	if calls := impostor.Requests(); len(calls) != 0 {
		t.Errorf("the impostor was sent requests (and the login): %v", calls)
	}
	if got, _ := db.GetTrust(t.Context(), a.SystemName); got.Fingerprint != pin.Fingerprint || got.Pending == "" {
		t.Errorf("after refusal %+v, want the pin kept and the new key pending", got)
	}
	if _, err := open(real.Addr).CSR(t.Context(), req); err != nil {
		t.Errorf("real device after an impostor: %v", err)
	}
}
