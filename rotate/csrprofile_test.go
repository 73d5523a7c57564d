package rotate_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/sim/memdevice"
)

var ottrSubject = ottr.Subject{Country: "US", State: "CA", Locality: "San Francisco", Organization: "Example, Inc",
	OrganizationalUnit: "Security", Email: "security@example.com"}

// profileFixture rotates memdevices, asking them for what profile returns
// and remembering the recipes it was asked about.
func profileFixture(t *testing.T) (*fixture, map[string]*memdevice.Device, *[]string) {
	f := newFixture(t)
	var mu sync.Mutex
	devices := map[string]*memdevice.Device{}
	var recipes []string
	f.rot.Address = nil
	f.rot.Open = func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) {
		mu.Lock()
		defer mu.Unlock()
		if devices[a.SystemName] == nil {
			devices[a.SystemName] = &memdevice.Device{}
		}
		if f.wrap != nil {
			return f.wrap(devices[a.SystemName]), nil
		}
		return devices[a.SystemName], nil
	}
	f.rot.CSRProfile = func(a *ottr.Asset, recipe string) (string, ottr.Subject) {
		mu.Lock()
		recipes = append(recipes, recipe)
		mu.Unlock()
		if strings.HasPrefix(recipe, "otter-") {
			return "rsa2048", ottrSubject
		}
		return "p384", ottr.Subject{}
	}
	return f, devices, &recipes
}

func memAsset(t *testing.T, f *fixture, name string) *ottr.Asset {
	t.Helper()
	cn := name + ".example.com"
	a := &ottr.Asset{SystemName: cn, CommonName: cn, SubjectAlternativeName: []string{cn},
		CertificateAuthority: "pebble", HostPlatform: "panos", OSVersion: "9.1.0"}
	if err := f.db.CreateAsset(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// The device is asked for the profile of the rotation's recipe; the CSR
// it made, the certificate issued and what it serves carry that key type
// and subject.
func TestRotationGetsCSRProfile(t *testing.T) {
	t.Parallel()
	f, devices, recipes := profileFixture(t)
	a := memAsset(t, f, "web1")
	r := &ottr.Rotation{SystemName: a.SystemName, State: ottr.StateQueued, Trigger: ottr.TriggerRouter, Recipe: "otter-panos-9x-lets-encrypt"}
	if err := f.db.CreateRotation(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	if err := f.rot.Run(t.Context(), r.ID); err != nil {
		_, log := f.get(t, r.ID)
		t.Fatalf("Run: %v\n%s", err, log)
	}
	got, log := f.get(t, r.ID)
	if got.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s\n%s", got.State, log)
	}
	if len(*recipes) != 1 || (*recipes)[0] != "otter-panos-9x-lets-encrypt" {
		t.Errorf("profile asked for recipes %q", *recipes)
	}
	block, _ := pem.Decode([]byte(got.CSR))
	csr, err := x509.ParseCertificateRequest(block.Bytes)
	if err != nil {
		t.Fatalf("stored CSR: %v", err)
	}
	if kt := ottr.KeyTypeOf(csr.PublicKey); kt != "rsa2048" {
		t.Errorf("CSR key %s, want rsa2048", kt)
	}
	if s := csr.Subject.String(); !strings.Contains(s, "OU=Security,O=Example\\, Inc,L=San Francisco,ST=CA,C=US") || !strings.Contains(s, "CN=web1.example.com") {
		t.Errorf("CSR subject %s", s)
	}
	served, err := devices[a.SystemName].Current(t.Context())
	if err != nil || ottr.KeyTypeOf(served[0].PublicKey) != "rsa2048" || served[0].SerialNumber.Text(16) != got.NewSerial {
		t.Errorf("device serves %v (%v), want the new RSA 2048 certificate %s", served, err, got.NewSerial)
	}
	if want := "csr info asking for key rsa2048, subject C=US, ST=CA, L=San Francisco, O=Example, Inc, OU=Security, emailAddress=security@example.com (recipe otter-panos-9x-lets-encrypt)"; !strings.Contains(log, want) {
		t.Errorf("log lacks %q:\n%s", want, log)
	}
	if !strings.Contains(log, "CSR passes the policy: web1.example.com, RSA 2048 key") {
		t.Errorf("log:\n%s", log)
	}
}

// A rotation queued without a recipe (ottr rotate) gets its asset's route's.
func TestCSRProfileRecipeFromRoute(t *testing.T) {
	t.Parallel()
	f, devices, recipes := profileFixture(t)
	f.rot.Routes = routes(t)
	f.rot.Routes.CertificateAuthorityOrganization = nil // Pebble's chains name none
	if err := f.rot.Routes.Platforms["panos"].OS["9.1.0"].CertificateAuthority["pebble"]; err != "" {
		t.Fatalf("testdata routes pebble already: %s", err)
	}
	f.rot.Routes.Platforms["panos"].OS["9.1.0"].CertificateAuthority["pebble"] = "otter-panos-9x-pebble"
	f.rot.Routes.Platforms["panos"].OS["9.1.0"].Model = nil
	a := memAsset(t, f, "web2")
	r := f.queue(t, a)
	if err := f.rot.Run(t.Context(), r.ID); err != nil {
		_, log := f.get(t, r.ID)
		t.Fatalf("Run: %v\n%s", err, log)
	}
	if len(*recipes) != 1 || (*recipes)[0] != "otter-panos-9x-pebble" {
		t.Errorf("profile asked for recipes %q, want the route's", *recipes)
	}
	if cur, _ := devices[a.SystemName].Current(t.Context()); len(cur) == 0 || ottr.KeyTypeOf(cur[0].PublicKey) != "rsa2048" {
		t.Errorf("device serves %v", cur)
	}

	// No route: the profile is asked with no recipe.
	*recipes = nil
	b := memAsset(t, f, "web3")
	b.HostPlatform = "nowhere"
	if _, err := f.db.UpdateAsset(t.Context(), b.SystemName, func(x *ottr.Asset) error { x.HostPlatform = "nowhere"; return nil }); err != nil {
		t.Fatal(err)
	}
	r = f.queue(t, b)
	if err := f.rot.Run(t.Context(), r.ID); err != nil {
		_, log := f.get(t, r.ID)
		t.Fatalf("Run: %v\n%s", err, log)
	}
	if len(*recipes) != 1 || (*recipes)[0] != "" {
		t.Errorf("profile asked for recipes %q, want none", *recipes)
	}
	if cur, _ := devices[b.SystemName].Current(t.Context()); len(cur) == 0 || ottr.KeyTypeOf(cur[0].PublicKey) != "p384" {
		t.Errorf("device serves %v", cur)
	}
}

// deafDevice makes its CSR as if nothing but the names had been asked for.
type deafDevice struct{ *memdevice.Device }

func (d deafDevice) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	return d.Device.CSR(ctx, ottr.CSRRequest{CommonName: req.CommonName, DNSNames: req.DNSNames})
}

// A device that ignores the key type and subject fails at the CSR step,
// saying what it did not do, and nothing is ordered.
func TestDeviceIgnoringCSRProfileFails(t *testing.T) {
	t.Parallel()
	f, _, _ := profileFixture(t)
	f.wrap = func(d ottr.Driver) ottr.Driver { return deafDevice{d.(*memdevice.Device)} }
	a := memAsset(t, f, "web4")
	r := &ottr.Rotation{SystemName: a.SystemName, State: ottr.StateQueued, Trigger: ottr.TriggerAPI, Recipe: "otter-f5-14x-lets-encrypt"}
	if err := f.db.CreateRotation(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	err := f.rot.Run(t.Context(), r.ID)
	got, log := f.get(t, r.ID)
	for _, want := range []string{"csr.key: ECDSA P-256 key; rsa2048 was requested", `csr.subject.country: missing; "US" was requested`,
		`csr.subject.email: missing; "security@example.com" was requested`} {
		if err == nil || !strings.Contains(got.Error, want) {
			t.Errorf("rotation error %q (%v) lacks %q\n%s", got.Error, err, want, log)
		}
	}
	if got.Step != ottr.StepCSR || f.issuer.n != 0 {
		t.Errorf("stopped at %s after %d orders, want the CSR step and none", got.Step, f.issuer.n)
	}
}
