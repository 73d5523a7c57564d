package ottr_test

import (
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestNormalIP: what Ottr's ip_address check took (four decimal runs of
// digits at most 255, leading zeros included) is accepted and stored in
// its plain form; what it refused is refused.
func TestNormalIP(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.0.1": "10.0.0.1", "010.0.0.9": "10.0.0.9", "192.168.001.010": "192.168.1.10",
		"000.000.000.000": "0.0.0.0", "0010.0.0.255": "10.0.0.255", "2001:db8::1": "2001:db8::1",
	} {
		if got, ok := ottr.NormalIP(in); !ok || got != want {
			t.Errorf("NormalIP(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "10.0.0", "10.0.0.256", "010.0.0.0256", "10.0.0.-1", "10.0.0.+1", "10..0.1", " 10.0.0.1",
		"10.0.0.1 ", "10.0.0.1.", "0x0a.0.0.1", "10.0.0.١", "fe80::1%eth0", "None"} {
		if got, ok := ottr.NormalIP(bad); ok {
			t.Errorf("NormalIP(%q) = %q, accepted", bad, got)
		}
	}
	a := &ottr.Asset{SystemName: "fw01.example.com", CommonName: "fw01.example.com", CertificateAuthority: "lets_encrypt",
		HostPlatform: "panos", IPAddress: "010.000.000.009"}
	if err := ottr.ValidateAsset(a, nil); err != nil || a.IPAddress != "10.0.0.9" {
		t.Errorf("ValidateAsset: %v, ip_address %q; want 10.0.0.9", err, a.IPAddress)
	}
}
