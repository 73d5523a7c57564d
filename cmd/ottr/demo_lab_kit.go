//go:build !nodemo

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	ottrdns "github.com/ottr-dev/ottr/dns"
	"go.yaml.in/yaml/v3"

	"github.com/ottr-dev/ottr"
)

// demoLabServe starts the demo's lab and leaves it running until ctx ends
// (Ctrl-C), with what an ottr serve needs to rotate its devices written
// into dir: the config sections that reach the lab, a route table, the
// credential sets and the inventory. It prints the commands that take a
// fresh machine from ottr init to a server rotating the devices.
func (a *app) demoLabServe(ctx context.Context, dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return ottr.Errorf(ottr.EINVALID, "--lab %q: %v", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return ottr.Errorf(ottr.EINVALID, "--lab: %v", err)
	}
	lab, err := startDemoLab(abs)
	if err != nil {
		return err
	}
	defer lab.Close()
	// The server's own DNS server (dns.listen) will answer the challenges:
	// reserve it a port now so the lab's resolver can delegate to it.
	pc, ln, err := ottrdns.ListenPair("127.0.0.1:0")
	if err != nil {
		return err
	}
	dnsAddr := pc.LocalAddr().String()
	pc.Close()
	ln.Close()
	lab.res.Delegate(demoZone, dnsAddr)

	if err := writeLab(abs, lab, dnsAddr); err != nil {
		return err
	}
	w := a.stdout
	fmt.Fprintf(w, "Demo lab running (Ctrl-C stops it): an ACME test CA at %s, a resolver at %s, and these devices:\n", lab.pebble.Directory, lab.res.Addr)
	for _, name := range lab.names {
		fmt.Fprintf(w, "  %-22s %s\n", name, lab.devices[name].Address)
	}
	for _, line := range lab.lines {
		fmt.Fprintf(w, "  %s\n", line)
	}
	fmt.Fprintf(w, "\nWritten to %s: %s (config for a server: CA, DNS, devices), %s, %s/ (one credential set per file), %s (the inventory).\n",
		abs, labFragment, labRoutes, labCreds, labAssets)
	fmt.Fprint(w, labNextCommands(abs, lab))
	<-ctx.Done()
	fmt.Fprintln(w, "Demo lab stopped.")
	return nil
}

// labNextCommands is the road from a fresh machine to a server rotating
// the lab's devices; README.md and docs/cli.md show the same commands and
// TestFreshStart runs them as printed.
func labNextCommands(dir string, lab *demoLab) string {
	q := shellQuote(dir)
	var b strings.Builder
	fmt.Fprintf(&b, "\nNext, in another shell (keep this one running):\n")
	fmt.Fprintf(&b, "  ottr init $HOME/ottr --from-demo %s\n", q)
	fmt.Fprintf(&b, "  export OTTR_CONFIG=$HOME/ottr/ottr.yaml\n")
	fmt.Fprintf(&b, "  ottr config check\n")
	creds := make([]string, 0, len(lab.creds))
	for name := range lab.creds {
		creds = append(creds, name)
	}
	slices.Sort(creds)
	for _, name := range creds {
		fmt.Fprintf(&b, "  ottr credential set %s -f %s\n", name, shellQuote(filepath.Join(dir, labCreds, name+".json")))
	}
	fmt.Fprintf(&b, "  ottr asset import %s\n", shellQuote(filepath.Join(dir, labAssets)))
	fmt.Fprintf(&b, "  ottr user add admin --role ADMIN          # asks for a password\n")
	fmt.Fprintf(&b, "  ottr serve                                # in a third shell: its router's first pass rotates the due devices\n")
	fmt.Fprintf(&b, "  ottr login --server http://127.0.0.1:8080 -u admin\n")
	fmt.Fprintf(&b, "  ottr status\n")
	fmt.Fprintf(&b, "  ottr rotations list\n")
	fmt.Fprintf(&b, "  ottr rotate fw01.example.com --wait       # once more, asked for, through the server\n")
	return b.String()
}

func writeLab(dir string, lab *demoLab, dnsAddr string) error {
	caDir := filepath.Join(dir, "ca")
	if err := os.MkdirAll(caDir, 0o700); err != nil {
		return err
	}
	dirCA, roots := filepath.Join(caDir, "directory-ca.pem"), filepath.Join(caDir, "roots.pem")
	if err := os.WriteFile(dirCA, lab.pebble.TLSRootPEM, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(roots, lab.pebble.RootPEM(), 0o644); err != nil {
		return err
	}

	assets := map[string]any{}
	for _, name := range lab.names {
		d := lab.devices[name]
		e := map[string]any{"address": d.Address}
		if d.Driver != "" {
			e["driver"] = d.Driver
		}
		if d.Credential != "" {
			e["credential"] = d.Credential
		}
		if d.Settings != nil {
			s, err := settingsMap(d.Settings)
			if err != nil {
				return fmt.Errorf("settings of %s: %w", name, err)
			}
			e["settings"] = s
		}
		assets[name] = e
	}
	fragment := map[string]any{
		"certificate_authorities": map[string]any{"lets_encrypt": map[string]any{
			"directory": lab.pebble.Directory, "email": "pki@example.com", "profile": "default",
			"directory_ca": dirCA, "trusted_roots": roots,
		}},
		"dns": map[string]any{
			"listen": dnsAddr, "zones": []string{demoZone},
			"resolvers": []string{lab.res.Addr}, "nameservers": []string{dnsAddr},
		},
		"devices": map[string]any{
			"platforms": map[string]any{"demo": map[string]any{"driver": "exec"}},
			"assets":    assets,
		},
	}
	var body bytes.Buffer
	enc := yaml.NewEncoder(&body)
	enc.SetIndent(2)
	if err := enc.Encode(fragment); err != nil {
		return err
	}
	header := "# Written by 'ottr demo --lab': how a server reaches the demo lab's CA,\n" +
		"# DNS and devices. 'ottr init DIR --from-demo' puts it into ottr.yaml.\n" +
		"# The addresses are the running lab's: they change with every start.\n"
	if err := os.WriteFile(filepath.Join(dir, labFragment), append([]byte(header), body.Bytes()...), 0o644); err != nil {
		return err
	}

	routes, err := labRouteTable()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, labRoutes), routes, 0o644); err != nil {
		return err
	}

	credDir := filepath.Join(dir, labCreds)
	if err := os.MkdirAll(credDir, 0o700); err != nil {
		return err
	}
	for name, cred := range lab.creds {
		raw, err := cred.Reveal()
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(credDir, name+".json"), raw, 0o600); err != nil {
			return err
		}
	}

	list := make([]*ottr.Asset, 0, len(lab.names))
	for _, name := range lab.names {
		list = append(list, lab.assets[name])
	}
	inv, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, labAssets), append(inv, '\n'), 0o644)
}

// labRouteTable is the example route table as the lab needs it: the test
// CA's certificates carry no issuer organization, which the example's list
// (Let's Encrypt, DigiCert) would reject, and the simulated SRX (Junos
// 18.2), FortiGate, iDRAC and NetScaler get routes.
func labRouteTable() ([]byte, error) {
	var rt map[string]any
	if err := json.Unmarshal(demoRoutes, &rt); err != nil {
		return nil, err
	}
	delete(rt, "certificate_authority_organization")
	platforms, _ := rt["platform"].(map[string]any)
	if platforms == nil {
		return nil, fmt.Errorf("the example route table has no platform map")
	}
	platforms["junos"] = map[string]any{"os": map[string]any{"18.2": map[string]any{
		"certificate_authority": map[string]any{"lets_encrypt": "ottr-junos-demo"}}}}
	// Platforms Ottr had no recipe for: the lab's devices settings choose
	// their drivers.
	platforms["fortigate"] = map[string]any{"os": map[string]any{"7.4": map[string]any{
		"certificate_authority": map[string]any{"lets_encrypt": "ottr-fortigate-demo"}}}}
	platforms["idrac"] = map[string]any{"os": map[string]any{"7.00": map[string]any{
		"certificate_authority": map[string]any{"lets_encrypt": "ottr-redfish-demo"}}}}
	platforms["netscaler"] = map[string]any{"os": map[string]any{"14.1": map[string]any{
		"certificate_authority": map[string]any{"lets_encrypt": "ottr-netscaler-demo"}}}}
	b, err := json.MarshalIndent(rt, "", "  ")
	return append(b, '\n'), err
}

// settingsMap is a driver's settings as its settings: block says them,
// without the fields left at their zero value.
func settingsMap(v any) (map[string]any, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	pruneZero(m)
	return m, nil
}

func pruneZero(m map[string]any) {
	for k, x := range m {
		if sub, ok := x.(map[string]any); ok {
			pruneZero(sub)
		}
		if x == nil || x == "0s" || reflect.ValueOf(x).IsZero() {
			delete(m, k)
		} else if rv := reflect.ValueOf(x); (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Map) && rv.Len() == 0 {
			delete(m, k)
		}
	}
}
