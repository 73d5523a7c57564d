package ottr_test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
)

func TestSeedAssetRoundTrips(t *testing.T) {
	raw, err := os.ReadFile("testdata/seed-asset.json")
	if err != nil {
		t.Fatal(err)
	}
	var a ottr.Asset
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	want := time.Date(2021, 10, 31, 1, 49, 35, 0, time.UTC)
	if a.CertificateExpiration == nil || !a.CertificateExpiration.Equal(want) {
		t.Errorf("expiration = %v, want %v (naive Ottr time is UTC)", a.CertificateExpiration, want)
	}
	if !a.CertificateValidation {
		t.Error("missing certificate_validation must default to True, as Ottr creates assets")
	}
	if err := ottr.ValidateAsset(&a, loadRoutes(t)); err != nil {
		t.Errorf("the seed's example asset is invalid: %v", err)
	}
	out, err := json.Marshal(&a)
	if err != nil {
		t.Fatal(err)
	}
	var back ottr.Asset
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(a, back); d != "" {
		t.Errorf("round trip changed the asset:\n%s", d)
	}
	// Every Ottr field keeps its name and JSON type.
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"system_name", "common_name", "certificate_authority", "certificate_expiration", "certificate_validation",
		"data_center", "device_model", "host_platform", "ip_address", "origin", "os_version"} {
		if _, ok := m[f].(string); !ok {
			t.Errorf("field %s = %#v, want a JSON string", f, m[f])
		}
	}
	if m["certificate_validation"] != "True" {
		t.Errorf("certificate_validation = %v, want \"True\"", m["certificate_validation"])
	}
	if _, ok := m["subject_alternative_name"].([]any); !ok {
		t.Errorf("subject_alternative_name = %#v, want a list", m["subject_alternative_name"])
	}
}

func TestAssetJSONOttrConventions(t *testing.T) {
	for in, want := range map[string]string{
		`"None"`:                       "null",
		`null`:                         "null",
		`""`:                           "null",
		`"2021-01-01T00:00:00"`:        `"2021-01-01T00:00:00Z"`,
		`"2021-01-01T02:00:00+02:00"`:  `"2021-01-01T00:00:00Z"`,
		`"2021-01-01T00:00:00.123456"`: `"2021-01-01T00:00:00Z"`,
		`"2021-01-01"`:                 `"2021-01-01T00:00:00Z"`,
	} {
		var a ottr.Asset
		if err := json.Unmarshal([]byte(`{"certificate_expiration":`+in+`}`), &a); err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		out, _ := json.Marshal(a.CertificateExpiration)
		if string(out) != want {
			t.Errorf("expiration %s → %s, want %s", in, out, want)
		}
	}
	for in, want := range map[string]ottr.BoolString{`"True"`: true, `"False"`: false, `"false"`: false, `true`: true, `false`: false} {
		var a ottr.Asset
		if err := json.Unmarshal([]byte(`{"certificate_validation":`+in+`}`), &a); err != nil {
			t.Errorf("%s: %v", in, err)
		} else if a.CertificateValidation != want {
			t.Errorf("validation %s → %v, want %v", in, a.CertificateValidation, want)
		}
	}
	for _, bad := range []string{`{"certificate_expiration":"2021-13-01"}`, `{"certificate_expiration":5}`, `{"certificate_validation":"maybe"}`, `{"port":"x"}`} {
		var a ottr.Asset
		err := json.Unmarshal([]byte(bad), &a)
		if err == nil {
			t.Errorf("%s accepted", bad)
			continue
		}
		field := strings.Split(strings.Trim(bad, "{}"), `"`)[1]
		if !strings.Contains(err.Error(), field) {
			t.Errorf("%s: error %q does not name %s", bad, err, field)
		}
	}
}

func TestSecretNeverPrints(t *testing.T) {
	s := ottr.Secret("hunter2")
	type cfg struct{ Password ottr.Secret }
	outs := []string{fmt.Sprint(s), fmt.Sprintf("%v %s %q %#v %+v", s, s, s, s, cfg{s}), s.String()}
	j, _ := json.Marshal(cfg{s})
	outs = append(outs, string(j))
	for _, o := range outs {
		if strings.Contains(o, "hunter2") {
			t.Errorf("secret leaked: %s", o)
		}
	}
	if s.Reveal() != "hunter2" {
		t.Error("Reveal lost the value")
	}
}

func TestRoles(t *testing.T) {
	if !ottr.RoleAdmin.Includes(ottr.RolePrivileged) || !ottr.RolePrivileged.Includes(ottr.RoleDeveloper) {
		t.Error("ADMIN ⊃ PRIVILEGED ⊃ DEVELOPER broken")
	}
	if ottr.RoleDeveloper.Includes(ottr.RolePrivileged) || ottr.Role("ROOT").Includes(ottr.RoleDeveloper) {
		t.Error("a lesser or unknown role was granted more")
	}
	if _, err := ottr.ParseRole("INVALID"); ottr.ErrorCode(err) != ottr.EINVALID {
		t.Errorf("ParseRole(INVALID) = %v", err)
	}
	u := ottr.User{Username: "u", Role: ottr.RoleAdmin, PasswordHash: "$argon2id$secret"}
	j, _ := json.Marshal(u)
	if strings.Contains(string(j), "argon") || !strings.Contains(string(j), `"timestamp"`) {
		t.Errorf("user JSON %s", j)
	}
}
