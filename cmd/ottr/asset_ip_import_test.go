package main

import (
	"strings"
	"testing"
)

// TestImportLeadingZeroIP: Ottr's API stored ip_address as written, and
// took leading zeros ("010.0.0.9", read as decimal); a scan holding such
// items imports them, the address in its plain form.
func TestImportLeadingZeroIP(t *testing.T) {
	c := newCLI(t)
	scan := `{"Items":[{"system_name":{"S":"fw09.example.com"},"common_name":{"S":"fw09.example.com"},"ip_address":{"S":"010.000.000.009"},
"certificate_authority":{"S":"lets_encrypt"},"host_platform":{"S":"panos"},"os_version":{"S":"9.1.0"},"device_model":{"S":"PA-XXXX"},
"data_center":{"S":"DC1"},"origin":{"S":"API"},"subject_alternative_name":{"L":[{"S":"fw09.example.com"}]},
"certificate_expiration":{"S":"None"},"certificate_validation":{"S":"True"}}],"Count":1,"ScannedCount":1}`
	if _, errs, err := c.run(scan, "asset", "import", "-"); err != nil {
		t.Fatalf("import: %v\n%s", err, errs)
	}
	got := c.assets()
	if len(got) != 1 || got[0].IPAddress != "10.0.0.9" {
		t.Fatalf("imported %+v, want fw09.example.com at 10.0.0.9", got)
	}
	if _, errs, err := c.run(strings.ReplaceAll(scan, "010.000.000.009", "010.0.0.256"), "asset", "import", "-", "--update"); err == nil || !strings.Contains(errs, "ip_address") {
		t.Errorf("import of 010.0.0.256: %v\n%s", err, errs)
	}
}

// TestAssetListFindsAnyCase: on the database directly, as through the
// API, a name or address filter finds the asset however it is written.
func TestAssetListFindsAnyCase(t *testing.T) {
	c := newCLI(t)
	c.ok("asset", "add", "FW01.Example.com", "--platform", "panos", "--os", "9.1.0", "--model", "PA-XXXX", "--ca", "lets_encrypt", "--ip", "010.0.0.9")
	for _, args := range [][]string{{"--system-name", "FW01.EXAMPLE.COM"}, {"--system-name", "fw01.example.com."}, {"--ip-address", "10.0.0.009"}} {
		out := c.ok(append([]string{"asset", "list", "-o", "json"}, args...)...)
		if !strings.Contains(out, `"system_name":"fw01.example.com"`) || !strings.Contains(out, `"ip_address":"10.0.0.9"`) {
			t.Errorf("asset list %v: %s", args, out)
		}
	}
}
