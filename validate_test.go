package ottr_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
)

func validAsset() *ottr.Asset {
	return &ottr.Asset{
		SystemName: "subdomain.example.com", CommonName: "subdomain.example.com",
		SubjectAlternativeName: []string{"test.example.com"}, CertificateAuthority: "lets_encrypt",
		HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX", IPAddress: "10.0.0.1",
		DataCenter: "DC1", CertificateValidation: true,
	}
}

func TestValidateAssetAccepts(t *testing.T) {
	rt := loadRoutes(t)
	for name, mod := range map[string]func(a *ottr.Asset){
		"Ottr's example":               func(*ottr.Asset) {},
		"PENDING platform":             func(a *ottr.Asset) { a.HostPlatform = "Windows" },
		"unrouted os version accepted": func(a *ottr.Asset) { a.OSVersion = "0.0.1" },
		"unlisted model accepted":      func(a *ottr.Asset) { a.DeviceModel = "PA-ZZZZ" },
		"IPv6":                         func(a *ottr.Asset) { a.IPAddress = "2001:db8::1" },
		"no IP":                        func(a *ottr.Asset) { a.IPAddress = "" },
		"wildcard SAN":                 func(a *ottr.Asset) { a.SubjectAlternativeName = []string{"*.example.com"} },
		"apex in zone":                 func(a *ottr.Asset) { a.SubjectAlternativeName = []string{"example.com"} },
		"labels":                       func(a *ottr.Asset) { a.Labels = map[string]string{"team": "netops", "k8s.io/zone": "a"} },
	} {
		t.Run(name, func(t *testing.T) {
			a := validAsset()
			mod(a)
			if err := ottr.ValidateAsset(a, rt); err != nil {
				t.Errorf("ValidateAsset: %v", err)
			}
		})
	}
}

func TestValidateAssetNormalises(t *testing.T) {
	a := validAsset()
	a.SystemName = "  SubDomain.Example.COM. "
	a.SubjectAlternativeName = []string{"Test.Example.com."}
	if err := ottr.ValidateAsset(a, loadRoutes(t)); err != nil {
		t.Fatal(err)
	}
	if a.SystemName != "subdomain.example.com" || a.SubjectAlternativeName[0] != "test.example.com" {
		t.Errorf("names not normalised: %q %q", a.SystemName, a.SubjectAlternativeName)
	}
}

func TestValidateAssetRejects(t *testing.T) {
	rt := loadRoutes(t)
	tests := []struct {
		name  string
		mod   func(a *ottr.Asset)
		field string
		frag  string
	}{
		{"Ottr: ip INVALID", func(a *ottr.Asset) { a.IPAddress = "INVALID" }, "ip_address", `"INVALID" is not a valid IPv4 or IPv6 address`},
		{"Ottr: ip octet > 255", func(a *ottr.Asset) { a.IPAddress = "10.0.0.300" }, "ip_address", "10.0.0.300"},
		{"Ottr: ip letter", func(a *ottr.Asset) { a.IPAddress = "10.0.0.A" }, "ip_address", "10.0.0.A"},
		{"Ottr: ip three parts", func(a *ottr.Asset) { a.IPAddress = "10.0.1" }, "ip_address", "10.0.1"},
		{"ip with zone", func(a *ottr.Asset) { a.IPAddress = "fe80::1%eth0" }, "ip_address", "fe80"},
		{"Ottr: system_name not FQDN", func(a *ottr.Asset) { a.SystemName = "INVALID" }, "system_name", "not a fully qualified domain name"},
		{"Ottr: system_name outside zones", func(a *ottr.Asset) { a.SystemName = "test.sample.com" }, "system_name", "not within a hosted zone of the route table ['example.com']"},
		{"system_name wildcard", func(a *ottr.Asset) { a.SystemName = "*.example.com" }, "system_name", "wildcard"},
		{"system_name empty", func(a *ottr.Asset) { a.SystemName = "" }, "system_name", "is required"},
		{"Ottr: CA invalid", func(a *ottr.Asset) { a.CertificateAuthority = "INVALID" }, "certificate_authority", `"INVALID" not supported, valid parameters include: ['lets_encrypt', 'digicert']`},
		{"Ottr: platform invalid", func(a *ottr.Asset) { a.HostPlatform = "INVALID" }, "host_platform", `['Ubuntu', 'Windows', 'f5', 'ios', 'lighthouse', 'nxos', 'panos']`},
		{"Ottr: common_name outside zones", func(a *ottr.Asset) { a.CommonName = "test.sample.com" }, "common_name", "hosted zone"},
		{"Ottr: common_name invalid", func(a *ottr.Asset) { a.CommonName = "INVALID" }, "common_name", "fully qualified"},
		{"Ottr: SAN outside zones", func(a *ottr.Asset) { a.SubjectAlternativeName = []string{"test.sample.com"} }, "subject_alternative_name[0]", "hosted zone"},
		{"Ottr: SAN bare *", func(a *ottr.Asset) { a.SubjectAlternativeName = []string{"*"} }, "subject_alternative_name[0]", "fully qualified"},
		{"wildcard not leftmost", func(a *ottr.Asset) { a.SubjectAlternativeName = []string{"a.*.example.com"} }, "subject_alternative_name[0]", "not the leftmost"},
		{"partial wildcard label", func(a *ottr.Asset) { a.SubjectAlternativeName = []string{"a*.example.com"} }, "subject_alternative_name[0]", "not a whole label"},
		{"wildcard under TLD", func(a *ottr.Asset) { a.CommonName = "*.com" }, "common_name", "top-level"},
		{"label too long", func(a *ottr.Asset) { a.CommonName = strings.Repeat("a", 64) + ".example.com" }, "common_name", "63"},
		{"underscore", func(a *ottr.Asset) { a.CommonName = "a_b.example.com" }, "common_name", "not allowed"},
		{"hyphen edge", func(a *ottr.Asset) { a.CommonName = "-a.example.com" }, "common_name", "not allowed"},
		{"numeric TLD", func(a *ottr.Asset) { a.CommonName = "10.0.0.1" }, "common_name", "all-numeric"},
		{"injection", func(a *ottr.Asset) { a.CommonName = "a.example.com'; DROP TABLE assets;--" }, "common_name", "not allowed"},
		{"port range", func(a *ottr.Asset) { a.Port = 70000 }, "port", "70000"},
		{"label key", func(a *ottr.Asset) { a.Labels = map[string]string{"bad key": "v"} }, "labels", `"bad key"`},
		{"control chars", func(a *ottr.Asset) { a.DataCenter = "DC\n1" }, "data_center", "control"},
		{"bad dns_zone", func(a *ottr.Asset) { a.DNSZone = "nodots" }, "dns_zone", "nodots"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := validAsset()
			tc.mod(a)
			err := ottr.ValidateAsset(a, rt)
			if ottr.ErrorCode(err) != ottr.EINVALID {
				t.Fatalf("ValidateAsset = %v, want an invalid error", err)
			}
			for _, p := range ottr.ErrorProblems(err) {
				if p.Field == tc.field && strings.Contains(p.Message, tc.frag) {
					return
				}
			}
			t.Errorf("problems %v: none for field %q containing %q", ottr.ErrorProblems(err), tc.field, tc.frag)
		})
	}
}

func TestValidateAssetReportsEveryProblem(t *testing.T) {
	a := &ottr.Asset{SystemName: "x", CommonName: "y", IPAddress: "nope"}
	err := ottr.ValidateAsset(a, loadRoutes(t))
	got := map[string]bool{}
	for _, p := range ottr.ErrorProblems(err) {
		got[p.Field] = true
	}
	for _, f := range []string{"system_name", "common_name", "certificate_authority", "host_platform", "ip_address"} {
		if !got[f] {
			t.Errorf("no problem reported for %s in %v", f, err)
		}
	}
}

func TestValidateAssetWithoutTable(t *testing.T) {
	a := validAsset()
	a.SystemName, a.CertificateAuthority, a.HostPlatform = "host.sample.org", "any_ca", "anything"
	if err := ottr.ValidateAsset(a, nil); err != nil {
		t.Errorf("without a route table only syntax is checked; got %v", err)
	}
}

// TestValidateAssetSANLimit: more names than the limit is one problem on
// subject_alternative_name giving the limit, not one problem per name.
func TestValidateAssetSANLimit(t *testing.T) {
	sans := func(n int) []string {
		l := make([]string, n)
		for i := range l {
			l[i] = fmt.Sprintf("n%d.example.com", i)
		}
		return l
	}
	tests := []struct {
		name  string
		lim   ottr.AssetLimits
		n     int
		limit string // "" when valid
	}{
		{"default at the limit", ottr.AssetLimits{}, ottr.DefaultMaxSANs, ""},
		{"default over", ottr.AssetLimits{}, ottr.DefaultMaxSANs + 1, "100"},
		{"default far over", ottr.AssetLimits{}, 10000, "100"},
		{"configured at the limit", ottr.AssetLimits{MaxSANs: 5}, 5, ""},
		{"configured over", ottr.AssetLimits{MaxSANs: 5}, 6, "5"},
		{"configured above the default", ottr.AssetLimits{MaxSANs: 200}, 150, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := validAsset()
			a.SubjectAlternativeName = sans(tc.n)
			err := tc.lim.Validate(a, nil)
			if tc.limit == "" {
				if err != nil {
					t.Fatalf("%.300v", err)
				}
				return
			}
			probs := ottr.ErrorProblems(err)
			if ottr.ErrorCode(err) != ottr.EINVALID || len(probs) != 1 || probs[0].Field != "subject_alternative_name" ||
				!strings.Contains(probs[0].Message, tc.limit) {
				t.Errorf("%.300v; want one problem on subject_alternative_name giving the limit %s", err, tc.limit)
			}
		})
	}
	// ValidateAsset applies the default limit.
	a := validAsset()
	a.SubjectAlternativeName = sans(ottr.DefaultMaxSANs + 1)
	if ottr.ErrorCode(ottr.ValidateAsset(a, nil)) != ottr.EINVALID {
		t.Error("ValidateAsset accepted more names than DefaultMaxSANs")
	}
}
