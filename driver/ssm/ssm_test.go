package ssm_test

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/drivertest"
	"github.com/ottr-dev/ottr/driver/ssm"
	"github.com/ottr-dev/ottr/internal/rotatetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	simssm "github.com/ottr-dev/ottr/sim/ssm"
)

const akid, secret = "AKIDOTTRTEST", "c2VjcmV0LWtleQ"

var cred = ottr.Credential{"access_key_id": akid, "secret_access_key": secret}

func webAsset() *ottr.Asset {
	return &ottr.Asset{SystemName: "web01.example.com", CommonName: "web01.example.com",
		SubjectAlternativeName: []string{"web01.example.com", "www.example.com"}, HostPlatform: "Ubuntu", OSVersion: "20.04", CertificateAuthority: "pebble"}
}

type host struct {
	svc  *simssm.Service
	inst *simssm.Instance
	dir  string
	ca   *testpki.CA
}

// startHost is a managed instance serving a certificate from an old CA.
func startHost(t *testing.T) *host {
	t.Helper()
	if _, err := os.Stat("/usr/bin/openssl"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("openssl is needed on the simulated instance")
		}
		t.Skip("no openssl")
	}
	dir := t.TempDir()
	ca := testpki.NewCA("Old CA")
	csr, key := testpki.CSR("web01.example.com", "web01.example.com")
	keyPEM, _ := testpki.MarshalKey(key)
	os.WriteFile(filepath.Join(dir, "web.key"), keyPEM, 0o600)
	os.WriteFile(filepath.Join(dir, "web.crt"), ottr.EncodeChain(ca.Sign(csr, 30*24*time.Hour)), 0o644)
	svc := simssm.Start(akid, secret)
	t.Cleanup(svc.Close)
	// Tagged as Ottr found it: Name is the first label of the system name.
	inst, err := svc.AddInstance("web01", filepath.Join(dir, "web.crt"), filepath.Join(dir, "web.key"))
	if err != nil {
		t.Fatal(err)
	}
	return &host{svc: svc, inst: inst, dir: dir, ca: ca}
}

func (h *host) config(a *ottr.Asset, c ottr.Credential) ssm.Config {
	return ssm.Config{Endpoint: h.svc.URL, Credential: c, Asset: a, CertPath: h.inst.CertPath, KeyPath: h.inst.KeyPath,
		Serve: h.inst.Addr, Poll: 10 * time.Millisecond, Timeout: time.Minute,
		PreHook: filepath.Join(h.dir, "hooks", "pre"), PostHook: filepath.Join(h.dir, "hooks", "post")}
}

func (h *host) driver(t *testing.T) *ssm.Driver {
	t.Helper()
	d, err := ssm.New(h.config(webAsset(), cred))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestConformance(t *testing.T) {
	t.Parallel()
	var h *host
	drivertest.Run(t, drivertest.Harness{
		New: func(t *testing.T) ottr.Driver {
			h = startHost(t)
			return h.driver(t)
		},
		CommonName: "web01.example.com",
		SANs:       []string{"web01.example.com", "www.example.com"},
		KeyTypes:   []string{"p256", "rsa2048"},
		Break:      func(*testing.T) { h.svc.Close() },
	})
}

func TestPebbleRotationWithHooks(t *testing.T) {
	t.Parallel()
	h := startHost(t)
	os.MkdirAll(filepath.Join(h.dir, "hooks"), 0o755)
	for _, hook := range []string{"pre", "post"} {
		os.WriteFile(filepath.Join(h.dir, "hooks", hook), []byte("#!/bin/sh\necho ran >> "+filepath.Join(h.dir, hook+".ran")+"\necho "+hook+" hook ran >&2\n"), 0o755)
	}
	env := rotatetest.New(t, "web01.example.com", "www.example.com")
	open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) { return ssm.New(h.config(a, cred)) }
	rot, err := env.Rotate(t, webAsset(), h.inst.Addr, open)
	if err != nil || rot.State != ottr.StateSucceeded {
		t.Fatalf("rotation %s: %v\n%s", rot.State, err, rotatetest.Log(rot))
	}
	cur, _ := h.driver(t).Current(t.Context())
	if cur[0].SerialNumber.Text(16) != rot.NewSerial {
		t.Errorf("serves %x, recorded %s", cur[0].SerialNumber, rot.NewSerial)
	}
	for _, hook := range []string{"pre", "post"} {
		if _, err := os.Stat(filepath.Join(h.dir, hook+".ran")); err != nil {
			t.Errorf("%s hook did not run", hook)
		}
	}
	if st, _ := os.Stat(h.inst.KeyPath); st.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", st.Mode().Perm())
	}
	if log := rotatetest.Log(rot); !strings.Contains(log, "pre hook ran") || !strings.Contains(log, "made a new key") {
		t.Errorf("log:\n%s", log)
	}
}

func TestFaults(t *testing.T) {
	t.Parallel()
	t.Run("instance lookup", func(t *testing.T) {
		h := startHost(t)
		req := ottr.CSRRequest{CommonName: "web01.example.com"}
		// Ottr looked for the first label of the system name, then of each
		// SAN: none tagged is not found, naming each tag tried.
		a := webAsset()
		a.SystemName, a.SubjectAlternativeName = "db01.example.com", []string{"db01.example.com", "db.example.com"}
		d, _ := ssm.New(h.config(a, cred))
		_, err := d.CSR(t.Context(), req)
		if ottr.ErrorCode(err) != ottr.ENOTFOUND || !strings.Contains(err.Error(), "Name=db01 or Name=db in") {
			t.Errorf("untagged: %v", err)
		}
		// A SAN's first label finds the instance when the system name's
		// does not.
		a.SubjectAlternativeName = []string{"db01.example.com", "web01.example.org"}
		d, _ = ssm.New(h.config(a, cred))
		if _, err := d.CSR(t.Context(), req); err != nil {
			t.Errorf("found by a SAN: %v", err)
		}
		// The whole name is a tag only with name_match: whole.
		whole := startHost(t)
		whole.svc.Tag(whole.inst.ID, "Name", "web01.example.com")
		_, err = whole.driver(t).CSR(t.Context(), req)
		if ottr.ErrorCode(err) != ottr.ENOTFOUND || !strings.Contains(err.Error(), "Name=web01 or Name=www in") {
			t.Errorf("tagged with the whole name, default match: %v", err)
		}
		c := whole.config(webAsset(), cred)
		c.NameMatch = ssm.MatchWhole
		d, err = ssm.New(c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.CSR(t.Context(), req); err != nil {
			t.Errorf("name_match whole: %v", err)
		}
		// A tag on two instances is an error, not a reason to try the next.
		h.svc.AddInstance("web01", h.inst.CertPath, h.inst.KeyPath)
		_, err = h.driver(t).CSR(t.Context(), req)
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "2 instances are tagged Name=web01 ") {
			t.Errorf("two instances: %v", err)
		}
	})
	t.Run("agent offline", func(t *testing.T) {
		h := startHost(t)
		h.svc.SetOnline(h.inst.ID, false)
		_, err := h.driver(t).CSR(t.Context(), ottr.CSRRequest{CommonName: "web01.example.com"})
		if ottr.ErrorCode(err) != ottr.EUNAVAILABLE || !strings.Contains(err.Error(), "ConnectionLost") {
			t.Errorf("offline: %v", err)
		}
	})
	t.Run("refused credentials are permanent", func(t *testing.T) {
		h := startHost(t)
		d, _ := ssm.New(h.config(webAsset(), ottr.Credential{"access_key_id": "AKIDWRONG", "secret_access_key": "x"}))
		_, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "web01.example.com"})
		if ottr.ErrorCode(err) != ottr.EUNAUTHORIZED || !ottr.IsPermanent(err) || strings.Contains(err.Error(), "AKIDWRONG") {
			t.Errorf("bad key: %v", err)
		}
	})
	t.Run("throttling is retried", func(t *testing.T) {
		h := startHost(t)
		h.svc.FailNextCommand("ThrottlingException")
		if _, err := h.driver(t).CSR(t.Context(), ottr.CSRRequest{CommonName: "web01.example.com"}); err != nil || h.svc.Sends() != 2 {
			t.Errorf("one throttled call: %v after %d sends", err, h.svc.Sends())
		}
	})
	t.Run("a chain for another key is refused and changes nothing", func(t *testing.T) {
		h := startHost(t)
		d := h.driver(t)
		before, _ := d.Current(t.Context())
		if _, err := d.CSR(t.Context(), ottr.CSRRequest{CommonName: "web01.example.com"}); err != nil {
			t.Fatal(err)
		}
		other, _ := testpki.CSR("web01.example.com", "web01.example.com")
		err := d.Install(t.Context(), h.ca.Sign(other, time.Hour))
		if ottr.ErrorCode(err) != ottr.EINVALID || !strings.Contains(err.Error(), "no key on the host matches") {
			t.Errorf("foreign chain: %v", err)
		}
		if cur, _ := d.Current(t.Context()); !cur[0].Equal(before[0]) {
			t.Error("the served certificate changed")
		}
	})
}

func TestFailedRotations(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		breakHost func(h *host)
		cred      ottr.Credential
		want      string
	}{
		{"agent offline", func(h *host) { h.svc.SetOnline(h.inst.ID, false) }, cred, "ConnectionLost"},
		{"refused credentials", func(*host) {}, ottr.Credential{"access_key_id": "AKIDWRONG", "secret_access_key": "x"}, "security token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := startHost(t)
			d := h.driver(t)
			before, _ := d.Current(t.Context())
			tc.breakHost(h)
			env := rotatetest.New(t, "web01.example.com", "www.example.com")
			open := func(_ context.Context, a *ottr.Asset) (ottr.Driver, error) { return ssm.New(h.config(a, tc.cred)) }
			env.Failed(t, webAsset(), h.inst.Addr, open, tc.want, before[0], func() (*x509.Certificate, error) {
				cur, err := d.Current(t.Context())
				if err != nil {
					return nil, err
				}
				return cur[0], nil
			})
		})
	}
}

// Paths that cannot be used safely in a host script are refused when the
// driver is configured, naming the field.
func TestUnsafePathsRefused(t *testing.T) {
	t.Parallel()
	_, err := ssm.New(ssm.Config{Asset: webAsset(), Credential: cred, KeyPath: "/etc/ssl/web.key\ntouch /tmp/x", CertPath: "certs/web.crt"})
	probs := ottr.ErrorProblems(err)
	if ottr.ErrorCode(err) != ottr.EINVALID || len(probs) != 2 || probs[0].Field != "cert_path" || probs[1].Field != "key_path" {
		t.Errorf("New: %v, problems %v", err, probs)
	}
}
