package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	simpanos "github.com/ottr-dev/ottr/sim/panos"
)

// TestDiscoverThroughServer: after 'ottr login', discover's import goes
// through the server's API (checked against its route table: a dry run
// changes nothing there, --apply adds the asset with what the device
// serves), and --on-server has the server do the scan.
func TestDiscoverThroughServer(t *testing.T) {
	srv := newCLI(t)
	if _, stderr, err := srv.run("Adm1n.Passw0rd\n", "user", "create", "--username", "admin", "--role", "ADMIN", "--password-stdin"); err != nil {
		t.Fatalf("bootstrap: %v %s", err, stderr)
	}
	url := serveUnreachableCA(t, srv)
	fw, err := simpanos.Start("admin", "Adm1n.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer fw.Close()
	ca := testpki.NewCA("Old Internal CA")
	csr, key := testpki.CSR("fw01.example.com", "fw01.example.com")
	chain := ca.Sign(csr, 20*24*time.Hour)
	fw.Preload("corp", "ottr", key, chain)

	env := map[string]string{"HOME": t.TempDir()}
	ottrCmd := func(stdin string, args ...string) (string, string, error) {
		t.Helper()
		var out, errb bytes.Buffer
		err := run(t.Context(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errb)
		return out.String(), errb.String(), err
	}
	if _, errs, err := ottrCmd("Adm1n.Passw0rd\n", "login", "--server", url, "-u", "admin", "--password-stdin"); err != nil {
		t.Fatalf("login: %v\n%s", err, errs)
	}
	discovered := func(args ...string) discoverOutput {
		t.Helper()
		out, errs, err := ottrCmd("", append([]string{"discover", fw.Addr, "-o", "json"}, args...)...)
		if err != nil {
			t.Fatalf("discover %v: %v\n%s", args, err, errs)
		}
		var got discoverOutput
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return got
	}
	listed := func() []*ottr.Asset {
		t.Helper()
		out, errs, err := ottrCmd("", "asset", "list", "-o", "json")
		if err != nil {
			t.Fatalf("asset list: %v\n%s", err, errs)
		}
		var list []*ottr.Asset
		json.Unmarshal([]byte(out), &list)
		return list
	}

	dry := discovered("--import")
	if dry.Import == nil || dry.Import.Applied || len(dry.Import.Outcomes) != 1 || dry.Import.Outcomes[0].Action != ottr.ImportAdd ||
		dry.Import.Outcomes[0].SystemName != "fw01.example.com" {
		t.Fatalf("dry run through the server: %+v", dry.Import)
	}
	if got := listed(); len(got) != 0 {
		t.Fatalf("a dry run added %v", names(got))
	}
	done := discovered("--import", "--apply")
	if done.Import == nil || !done.Import.Applied || done.Import.Outcomes[0].Action != ottr.ImportAdd {
		t.Fatalf("import through the server: %+v", done.Import)
	}
	got := listed()
	if len(got) != 1 || got[0].SystemName != "fw01.example.com" || got[0].Origin != ottr.OriginDiscovery || got[0].HostPlatform != "panos" ||
		got[0].CertificateSerial != fmt.Sprintf("%x", chain[0].SerialNumber) || got[0].CertificateExpiration == nil || bool(got[0].CertificateValidation) {
		t.Fatalf("the server's inventory: %+v", got)
	}
	// The server records who imported it.
	if out, _, _ := ottrCmd("", "--server", url, "asset", "get", "fw01.example.com", "-o", "json"); !strings.Contains(out, `"origin": "discovery"`) {
		t.Errorf("asset get: %s", out)
	}

	on := discovered("--on-server")
	if len(on.Endpoints) != 1 || on.Endpoints[0].Platform != "panos" || on.Endpoints[0].Certificate == nil ||
		on.Endpoints[0].Certificate.Serial != fmt.Sprintf("%x", chain[0].SerialNumber) {
		t.Errorf("scan by the server: %+v", on)
	}
	if _, errs, err := ottrCmd("", "discover", "10.0.0.0/16", "--on-server"); exitCode(err) != exitFailed || !strings.Contains(errs, "targets[0]") || !strings.Contains(errs, "at most 4096") {
		t.Errorf("too large a scan for the server: exit %d\n%s", exitCode(err), errs)
	}
}
