package api_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

// TestOttrAddressAndNameForms: an ip_address with leading zeros, which
// Ottr's API took (read as decimal), is accepted and stored plain; names
// are stored lower-case and found by a search in any case; an address is
// found by either of its forms.
func TestOttrAddressAndNameForms(t *testing.T) {
	srv, _ := newServer(t)
	two := func(m, p, b, tok string) (int, string) { c, body, _ := request(t, srv, m, p, b, tok); return c, body }
	admin := login(t, two, "admin", "Passw0rd!")
	code, body := two("POST", "/api/v1/assets", `{"system_name":"FW09.Example.com","common_name":"FW09.Example.com",
		"certificate_authority":"lets_encrypt","host_platform":"panos","os_version":"9.1.0","device_model":"PA-XXXX","ip_address":"010.000.000.009"}`, admin)
	var a ottr.Asset
	if json.Unmarshal([]byte(body), &a); code != 201 || a.IPAddress != "10.0.0.9" || a.SystemName != "fw09.example.com" {
		t.Fatalf("create with ip 010.000.000.009: %d %s", code, body)
	}
	find := func(q string) []string {
		t.Helper()
		code, body := two("GET", "/api/v1/search?"+q, "", admin)
		var list []ottr.Asset
		if err := json.Unmarshal([]byte(body), &list); code != 200 || err != nil {
			t.Fatalf("search %s: %d %s", q, code, body)
		}
		var n []string
		for _, a := range list {
			n = append(n, a.SystemName+"@"+a.IPAddress)
		}
		return n
	}
	for _, q := range []string{"system_name=FW09.Example.com", "system_name=fw09.example.com", "system_name=FW09.EXAMPLE.COM.",
		"common_name=Fw09.Example.Com", "ip_address=010.0.0.9", "ip_address=10.0.0.9", "ip_address=10.0.0.009&system_name=FW09.example.com"} {
		if got := find(q); len(got) != 1 || got[0] != "fw09.example.com@10.0.0.9" {
			t.Errorf("search %s: %v, want [fw09.example.com@10.0.0.9]", q, got)
		}
	}
	for _, q := range []string{"system_name=fw9.example.com", "ip_address=10.0.0.90", "ip_address=" + url.QueryEscape("10.0.0.9 ")} {
		if got := find(q); len(got) != 0 {
			t.Errorf("search %s: %v, want nothing", q, got)
		}
	}
	code, body = two("PUT", "/api/v1/assets", `{"system_name":"fw09.EXAMPLE.com","common_name":"fw09.example.com",
		"certificate_authority":"lets_encrypt","host_platform":"panos","os_version":"9.1.0","device_model":"PA-XXXX","ip_address":"10.0.0.010"}`, admin)
	if code != 200 || !strings.Contains(body, `"ip_address":"10.0.0.10"`) {
		t.Errorf("update with ip 10.0.0.010: %d %s", code, body)
	}
	if code, body := two("POST", "/api/v1/assets", `{"system_name":"fw10.example.com","common_name":"fw10.example.com",
		"certificate_authority":"lets_encrypt","host_platform":"panos","ip_address":"010.0.0.256"}`, admin); code != 400 || !strings.Contains(body, "ip_address") {
		t.Errorf("ip 010.0.0.256: %d %s, want 400 naming ip_address", code, body)
	}
}
