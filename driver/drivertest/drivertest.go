// Package drivertest is the conformance suite every device driver's tests
// run against the driver's device (real or simulated):
//
//   - the CSR carries exactly the names asked for and a key of the type
//     asked for, with a valid signature, and a fresh key each time;
//   - after Install, Current returns the installed chain;
//   - Install is idempotent;
//   - a cancelled context makes every method return promptly with an error;
//   - a failing device gives an error, never a panic.
package drivertest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
)

// Harness tells the suite how to reach the driver's device.
type Harness struct {
	// New returns a driver for the device. It is called once per subtest.
	New func(t *testing.T) ottr.Driver
	// CommonName and SANs are the names the device's certificate carries.
	CommonName string
	SANs       []string
	// KeyTypes lists the CSRRequest.KeyType values the device supports;
	// default "p256".
	KeyTypes []string
	// Break makes the device fail from now on (stop it, drop its
	// connections, make its commands fail). Optional.
	Break func(t *testing.T)
	// Prompt bounds how long a method may take to notice a cancelled
	// context; default 2s.
	Prompt time.Duration
}

// Run runs the suite.
func Run(t *testing.T, h Harness) {
	if h.Prompt == 0 {
		h.Prompt = 2 * time.Second
	}
	if len(h.KeyTypes) == 0 {
		h.KeyTypes = []string{"p256"}
	}
	ca := testpki.NewCA("drivertest CA")
	req := ottr.CSRRequest{CommonName: h.CommonName, DNSNames: h.SANs}

	t.Run("CSR", func(t *testing.T) {
		d := h.New(t)
		m, ok := d.(ottr.CSRMaker)
		if !ok {
			t.Fatalf("%T does not make CSRs (ottr.CSRMaker)", d)
		}
		var keys [][]byte
		for _, kt := range h.KeyTypes {
			r := req
			r.KeyType = kt
			csr, err := m.CSR(t.Context(), r)
			if err != nil {
				t.Fatalf("CSR(%s): %v", kt, err)
			}
			if err := ottr.CheckCSR(csr, append([]string{h.CommonName}, h.SANs...), ottr.CSRPolicy{AllowEd25519: true}); err != nil {
				t.Errorf("CSR(%s): %v", kt, err)
			}
			if err := keyIs(csr, kt); err != nil {
				t.Errorf("CSR(%s): %v", kt, err)
			}
			pub, _ := x509.MarshalPKIXPublicKey(csr.PublicKey)
			keys = append(keys, pub)
		}
		again, err := m.CSR(t.Context(), ottr.CSRRequest{CommonName: h.CommonName, DNSNames: h.SANs, KeyType: h.KeyTypes[0]})
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := x509.MarshalPKIXPublicKey(again.PublicKey)
		if slices.ContainsFunc(keys, func(k []byte) bool { return string(k) == string(pub) }) {
			t.Error("a second CSR reuses a key: every rotation needs a fresh key")
		}
	})

	t.Run("InstallThenCurrent", func(t *testing.T) {
		d := h.New(t)
		chain := issue(t, d, ca, req)
		if err := d.Install(t.Context(), chain); err != nil {
			t.Fatalf("Install: %v", err)
		}
		cur, err := d.Current(t.Context())
		if err != nil {
			t.Fatalf("Current: %v", err)
		}
		if len(cur) == 0 || !cur[0].Equal(chain[0]) {
			t.Fatalf("Current returns %s, want the installed %s", describe(cur), describe(chain))
		}
		// Idempotent: the same chain again is fine and changes nothing.
		if err := d.Install(t.Context(), chain); err != nil {
			t.Fatalf("second Install of the same chain: %v", err)
		}
		if cur, err := d.Current(t.Context()); err != nil || !cur[0].Equal(chain[0]) {
			t.Fatalf("after second Install: %s, %v", describe(cur), err)
		}
		// A newer chain replaces it.
		next := issue(t, d, ca, req)
		if err := d.Install(t.Context(), next); err != nil {
			t.Fatal(err)
		}
		if cur, err := d.Current(t.Context()); err != nil || !cur[0].Equal(next[0]) {
			t.Fatalf("after installing a newer chain: %s, %v", describe(cur), err)
		}
	})

	t.Run("CancelledContext", func(t *testing.T) {
		d := h.New(t)
		chain := issue(t, d, ca, req)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		calls := map[string]func() error{
			"Install": func() error { return d.Install(ctx, chain) },
			"Current": func() error { _, err := d.Current(ctx); return err },
			"CSR":     func() error { _, err := d.(ottr.CSRMaker).CSR(ctx, req); return err },
		}
		for name, call := range calls {
			start := time.Now()
			err := call()
			if err == nil {
				t.Errorf("%s with a cancelled context succeeded", name)
			}
			if el := time.Since(start); el > h.Prompt {
				t.Errorf("%s took %v to notice the cancelled context", name, el)
			}
		}
	})

	if h.Break != nil {
		t.Run("DeviceFailure", func(t *testing.T) {
			d := h.New(t)
			chain := issue(t, d, ca, req)
			h.Break(t)
			for name, call := range map[string]func() error{
				"Install": func() error { return d.Install(t.Context(), chain) },
				"Current": func() error { _, err := d.Current(t.Context()); return err },
				"CSR":     func() error { _, err := d.(ottr.CSRMaker).CSR(t.Context(), req); return err },
			} {
				if err := noPanic(call); err == nil {
					t.Errorf("%s on a failing device succeeded", name)
				} else if pe, ok := err.(panicError); ok {
					t.Errorf("%s panicked: %v", name, pe.v)
				}
			}
		})
	}
}

type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprint("panic: ", p.v) }

func noPanic(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = panicError{v}
		}
	}()
	return f()
}

// issue has the device make a CSR and signs it with the test CA.
func issue(t *testing.T, d ottr.Driver, ca *testpki.CA, req ottr.CSRRequest) []*x509.Certificate {
	t.Helper()
	m, ok := d.(ottr.CSRMaker)
	if !ok {
		t.Fatalf("%T does not make CSRs", d)
	}
	csr, err := m.CSR(t.Context(), req)
	if err != nil {
		t.Fatalf("CSR: %v", err)
	}
	return ca.Sign(csr, 24*time.Hour)
}

func keyIs(csr *x509.CertificateRequest, kt string) error {
	switch kt {
	case "p256", "p384":
		k, ok := csr.PublicKey.(*ecdsa.PublicKey)
		want := elliptic.P256()
		if kt == "p384" {
			want = elliptic.P384()
		}
		if !ok || k.Curve != want {
			return fmt.Errorf("key is %T, want ECDSA %s", csr.PublicKey, kt)
		}
	case "rsa2048", "rsa3072", "rsa4096":
		k, ok := csr.PublicKey.(*rsa.PublicKey)
		bits := map[string]int{"rsa2048": 2048, "rsa3072": 3072, "rsa4096": 4096}[kt]
		if !ok || k.N.BitLen() != bits {
			return fmt.Errorf("key is %T, want RSA %d", csr.PublicKey, bits)
		}
	}
	return nil
}

func describe(chain []*x509.Certificate) string {
	if len(chain) == 0 {
		return "no certificate"
	}
	return fmt.Sprintf("serial %x (%s)", chain[0].SerialNumber, chain[0].Subject.CommonName)
}
