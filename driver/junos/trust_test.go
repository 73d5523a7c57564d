package junos_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/junos"
	"github.com/ottr-dev/ottr/internal/storetest"
)

// TestImpostorGetsNoPassword: a host key missing from known_hosts is
// pinned per device on first use (certificate_validation "False"), so a
// host answering later at another address — or at the same one — with
// another key is refused before the password is sent, and known_hosts is
// not silently extended.
func TestImpostorGetsNoPassword(t *testing.T) {
	t.Parallel()
	db := storetest.Open(t)
	a := srxAsset()
	a.CertificateValidation = false
	kh := filepath.Join(t.TempDir(), "known_hosts") // empty: every key is unknown to it
	req := ottr.CSRRequest{CommonName: a.CommonName, DNSNames: a.SubjectAlternativeName}
	open := func(addr string) *junos.Driver {
		c := junos.Config{Address: addr, Serve: "127.0.0.1:1", KnownHosts: kh, Asset: a,
			Credential: ottr.Credential{"username": ottr.Secret(user), "password": ottr.Secret(pass)}}
		c.Trust = ottr.CheckTrust(t.Context(), db, a.SystemName, true, time.Now)
		d, err := junos.New(c)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	real, _ := start(t)
	if _, err := open(real.Addr).CSR(t.Context(), req); err != nil {
		t.Fatalf("first contact: %v", err)
	}
	pin, err := db.GetTrust(t.Context(), a.SystemName)
	if err != nil || !strings.HasPrefix(pin.Fingerprint, "ssh SHA256:") {
		t.Fatalf("no pin after first contact: %+v %v", pin, err)
	}
	impostor, _ := start(t)
	_, err = open(impostor.Addr).CSR(t.Context(), req)
	if ottr.ErrorCode(err) != ottr.EFORBIDDEN || !strings.Contains(err.Error(), "instead of the pinned") {
		t.Fatalf("impostor: %v, want EFORBIDDEN naming the pin", err)
	}
	if rpcs := impostor.RPCs(); len(rpcs) != 0 {
		t.Errorf("the impostor was logged in to: %v", rpcs)
	}
	if _, err := open(real.Addr).CSR(t.Context(), req); err != nil {
		t.Errorf("real device after an impostor: %v", err)
	}
	if b, _ := os.ReadFile(kh); len(b) != 0 {
		t.Errorf("known_hosts extended behind the operator's back: %s", b)
	}
}
