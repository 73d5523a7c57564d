package ssm

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/hostscript"
)

// With no paths set, the driver writes where Ottr's recipe did
// (platforms/linux-aws-ssm/src/app.py: remote_path /opt/otter, certs/,
// <cn>.key from generate_csr, fullchain.cer, ca.cer and <cn>.cer from
// import_certificate) and runs its hook directories; setting cert_path or
// key_path chooses another layout, with leaf and issuer files only where
// asked.
func TestDefaultsAreOttrsLayout(t *testing.T) {
	t.Parallel()
	a := &ottr.Asset{SystemName: "web01.example.com", CommonName: "www.example.com"}
	cred := ottr.Credential{"access_key_id": "AKID", "secret_access_key": "secret"}
	for _, tc := range []struct {
		name string
		c    Config
		want hostscript.Files
	}{
		{"Ottr's", Config{}, hostscript.Files{KeyPath: "/opt/otter/certs/www.example.com.key", CertPath: "/opt/otter/certs/fullchain.cer",
			LeafPath: "/opt/otter/certs/www.example.com.cer", CAPath: "/opt/otter/certs/ca.cer", CertMode: "0644",
			PreHook: "/opt/otter/hooks/pre", PostHook: "/opt/otter/hooks/post", InheritOwner: true, InheritMode: true}},
		{"own paths", Config{CertPath: "/etc/nginx/tls/site.crt", KeyPath: "/etc/nginx/tls/site.key", PreHook: "/usr/local/bin/pre", Owner: "www-data"},
			hostscript.Files{KeyPath: "/etc/nginx/tls/site.key", CertPath: "/etc/nginx/tls/site.crt", CertMode: "0644", Owner: "www-data",
				PreHook: "/usr/local/bin/pre", PostHook: "/opt/otter/hooks/post", InheritMode: true}},
		{"own paths with leaf", Config{CertPath: "/etc/tls/chain.pem", LeafPath: "/etc/tls/leaf.pem", CertMode: "0640"},
			hostscript.Files{KeyPath: "/etc/ssl/ottr/www.example.com.key", CertPath: "/etc/tls/chain.pem", LeafPath: "/etc/tls/leaf.pem", CertMode: "0640",
				PreHook: "/opt/otter/hooks/pre", PostHook: "/opt/otter/hooks/post", InheritOwner: true}},
	} {
		c := tc.c
		c.Asset, c.Credential = a, cred
		d, err := New(c)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if diff := cmp.Diff(tc.want, d.files); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// Ottr looked the instance up by the first label of the system name and
// then of each SAN; name_match whole uses the whole names, name one tag.
func TestTagNames(t *testing.T) {
	t.Parallel()
	a := &ottr.Asset{SystemName: "web01.example.com", SubjectAlternativeName: []string{"web01.example.com", "www.example.com", "web01.example.org"}}
	for _, tc := range []struct {
		c    Config
		want []string
	}{
		{Config{}, []string{"web01", "www"}},
		{Config{NameMatch: MatchWhole}, []string{"web01.example.com", "www.example.com", "web01.example.org"}},
		{Config{Name: "i-web", NameMatch: MatchWhole}, []string{"i-web"}},
	} {
		tc.c.Asset = a
		if diff := cmp.Diff(tc.want, tc.c.tagNames()); diff != "" {
			t.Errorf("%+v (-want +got):\n%s", tc.c, diff)
		}
	}
	probs := Config{NameMatch: "label"}.Check()
	if len(probs) != 1 || probs[0].Field != "name_match" {
		t.Errorf("name_match label: %v", probs)
	}
}
