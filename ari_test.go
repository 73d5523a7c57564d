package ottr_test

import (
	"crypto/x509"
	"math/big"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
)

// The example of RFC 9773 §4.1: a serial whose top bit is set keeps its
// leading zero octet.
func TestARICertID(t *testing.T) {
	leaf := &x509.Certificate{
		AuthorityKeyId: []byte{0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3, 0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4},
		SerialNumber:   big.NewInt(0x87654321),
	}
	id, err := ottr.ARICertID(leaf)
	if err != nil || id != "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE" {
		t.Fatalf("ARICertID = %q, %v", id, err)
	}
	back, err := ottr.ParseARICertID(id)
	if err != nil || back.SerialNumber.Cmp(leaf.SerialNumber) != 0 || string(back.AuthorityKeyId) != string(leaf.AuthorityKeyId) {
		t.Fatalf("ParseARICertID = %+v, %v", back, err)
	}
	if again, _ := ottr.ARICertID(back); again != id {
		t.Errorf("round trip %q", again)
	}
	if _, err := ottr.ARICertID(&x509.Certificate{SerialNumber: big.NewInt(1)}); err == nil {
		t.Error("certificate without AKI accepted")
	}
	for _, bad := range []string{"", "nodot", ".AIdlQyE", "aYhba4dGQEHhs3uEe6CuLN4ByNQ.", "a+b.c/d"} {
		if _, err := ottr.ParseARICertID(bad); ottr.ErrorCode(err) != ottr.EINVALID {
			t.Errorf("ParseARICertID(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestRenewalWindowScheduleCheck(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		retryAfter time.Duration // 0: none
		want       time.Duration
	}{
		{0, 6 * time.Hour},
		{3 * time.Hour, 3 * time.Hour},
		{10 * time.Second, time.Minute},
		{-time.Hour, time.Minute},
		{72 * time.Hour, 24 * time.Hour},
	} {
		w := ottr.RenewalWindow{}
		if tc.retryAfter != 0 {
			w.CheckAfter = ottr.Time{Time: now.Add(tc.retryAfter)}
		}
		w.ScheduleCheck(now)
		if got := w.CheckAfter.Sub(now); got != tc.want {
			t.Errorf("Retry-After %v: next check in %v, want %v", tc.retryAfter, got, tc.want)
		}
	}
}

func TestCloneCopiesRenewalWindow(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a := &ottr.Asset{SystemName: "h.example.com", RenewalWindow: &ottr.RenewalWindow{Start: *ottr.NewTime(now), End: *ottr.NewTime(now.Add(time.Hour)), CertID: "a.b"}}
	c := a.Clone()
	c.RenewalWindow.CertID = "changed"
	if a.RenewalWindow.CertID != "a.b" {
		t.Error("the clone shares its renewal window with the original")
	}
}
