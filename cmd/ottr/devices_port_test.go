package main

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/internal/testpki"
	simlighthouse "github.com/ottr-dev/ottr/sim/lighthouse"
	simpanos "github.com/ottr-dev/ottr/sim/panos"
)

// TestRecipeDriverUsesTheAssetPort: with no devices settings, the driver
// an Ottr recipe picks reaches the device on the asset's port (not 443)
// for the rotation and for the reachability check before it.
func TestRecipeDriverUsesTheAssetPort(t *testing.T) {
	c := newCLI(t)
	ca := testpki.NewCA("Old CA")

	fw, err := simpanos.Start("ottr-api", "Fw.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fw.Close() })
	csr, key := testpki.CSR("fw01.example.com", "fw01.example.com")
	fwChain := ca.Sign(csr, 24*time.Hour)
	fw.Preload("otter_panos_2021_01_01", "otter", key, fwChain)

	lh, err := simlighthouse.Start("root", "Lh.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lh.Close() })
	csr, key = testpki.CSR("console01.example.com", "console01.example.com")
	lhChain := ca.Sign(csr, 24*time.Hour)
	lh.Preload(key, lhChain)

	port := func(addr string) string {
		_, p, _ := net.SplitHostPort(addr)
		return p
	}
	c.ok("asset", "add", "fw01.example.com", "--platform", "panos", "--os", "9.1.0", "--model", "PA-XXXX", "--ca", "lets_encrypt",
		"--ip", "127.0.0.1", "--port", port(fw.Addr), "--certificate-validation", "False")
	c.ok("asset", "add", "console01.example.com", "--platform", "lighthouse", "--os", "21.Q2.0", "--ca", "lets_encrypt",
		"--ip", "127.0.0.1", "--port", port(lh.Addr), "--certificate-validation", "False")
	if _, errs, err := c.run("username=ottr-api\npassword=Fw.Passw0rd\n", "credential", "set", "panos"); err != nil {
		t.Fatalf("credential set: %v %s", err, errs)
	}
	if _, errs, err := c.run("username=root\npassword=Lh.Passw0rd\n", "credential", "set", "lighthouse"); err != nil {
		t.Fatalf("credential set: %v %s", err, errs)
	}

	a := &app{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard}
	a.rootCmd()
	defer a.close()
	// A CA and a zone are configured, never used: the rotator needs them.
	cfg := writeConfig(t, "certificate_authorities:\n  lets_encrypt: {directory: \"https://127.0.0.1:9/directory\"}\ndns: {zones: [acme.example.net]}\n")
	for flag, v := range map[string]string{"data-dir": c.dataDir, "routes": "../../testdata/route.json", "config": cfg} {
		if err := a.flags.Set(flag, v); err != nil {
			t.Fatal(err)
		}
	}
	db, err := a.store(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rot, err := a.rotator(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"fw01.example.com": fwChain[0].SerialNumber.String(), "console01.example.com": lhChain[0].SerialNumber.String()} {
		as, err := db.GetAsset(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		if got, wantAddr := rot.Address(as), "127.0.0.1:"+strconv.Itoa(as.Port); got != wantAddr {
			t.Errorf("%s: reachability checked at %q, want %q", name, got, wantAddr)
		}
		d, err := a.openDriver(t.Context(), as)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cur, err := d.Current(t.Context())
		if err != nil {
			t.Errorf("%s: reading the served certificate on port %d: %v", name, as.Port, err)
			continue
		}
		if len(cur) == 0 || cur[0].SerialNumber.String() != want {
			t.Errorf("%s: read %v, want serial %s from the device on the asset's port", name, cur, want)
		}
	}
}
