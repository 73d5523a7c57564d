package ottr_test

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/ottr-dev/ottr"
)

// FuzzAssetJSON decodes an asset in Ottr's JSON form and validates it: no
// input panics; a valid asset's problems are none, an invalid one's are
// EINVALID problems that each name a field; a valid asset survives
// encoding and decoding unchanged and stays valid.
func FuzzAssetJSON(f *testing.F) {
	seed, err := os.ReadFile("testdata/seed-asset.json")
	if err != nil {
		f.Fatal(err)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(seed, &list); err == nil {
		for _, a := range list {
			f.Add([]byte(a))
		}
	} else {
		f.Add(seed)
	}
	for _, s := range []string{
		`{"system_name":"fw01.example.com","common_name":"fw01.example.com","subject_alternative_name":["fw01.example.com","*.fw.example.com"],` +
			`"certificate_authority":"lets_encrypt","certificate_expiration":"2030-01-01T00:00:00","certificate_validation":"False",` +
			`"host_platform":"panos","os_version":"9.1.0","ip_address":"10.0.0.1","port":443,"labels":{"env":"prod"}}`,
		`{"system_name":"a.example.com","certificate_expiration":"None","certificate_validation":true,"labels":{"":"x"}}`,
		`{"system_name":"B\u00fccher.Example.COM.","port":70000,"ip_address":"fe80::1%eth0","certificate_expiration":1}`,
		`{"system_name":null,"subject_alternative_name":"x","labels":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a ottr.Asset
		if err := json.Unmarshal(b, &a); err != nil {
			return // syntax and type errors are the decoder's
		}
		err := ottr.ValidateAsset(&a, nil)
		if err != nil {
			checkUserError(t, err, b)
			for _, p := range ottr.ErrorProblems(err) {
				if p.Field == "" || p.Message == "" {
					t.Fatalf("problem %+v does not name its field and what is wrong", p)
				}
			}
			return
		}
		out, err := json.Marshal(&a)
		if err != nil {
			t.Fatalf("a valid asset does not encode: %v", err)
		}
		var back ottr.Asset
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("%s does not decode: %v", out, err)
		}
		// Empty and absent labels or names are the same asset.
		if d := cmp.Diff(a, back, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round trip changed the asset (-before +after):\n%s", d)
		}
		if err := ottr.ValidateAsset(&back, nil); err != nil {
			t.Fatalf("a valid asset is invalid after a round trip: %v", err)
		}
	})
}
