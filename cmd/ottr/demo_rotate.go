//go:build !nodemo

package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	exectemplate "github.com/ottr-dev/ottr/contrib/exec-template"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/api"
)

// demoRotate runs the rotation half of the demo and returns how many
// rotations failed.
func (a *app) demoRotate(ctx context.Context, dir string, once bool, listen string) (int, error) {
	w := a.stdout
	fmt.Fprintf(w, "\nRotating the demo's own devices end to end (in-process ACME CA, built-in DNS):\n")
	c, err := a.config()
	if err != nil {
		return 0, err
	}
	// The summary says what happened; keep the service log to warnings.
	a.log = newLogger(a.stderr, LogConfig{Level: "warn", Format: c.Log.Format})
	lab, err := startDemoLab(dir)
	if err != nil {
		return 0, err
	}
	defer lab.Close()
	// The built-in DNS server answers the challenges the lab's resolver
	// delegates to it.
	c.DNS.Zones = []string{demoZone}
	c.DNS.Resolvers = []string{lab.res.Addr}
	srv, err := a.dnsServer(ctx)
	if err != nil {
		return 0, err
	}
	if err := srv.Listen(ctx, "127.0.0.1:0"); err != nil {
		return 0, err
	}
	defer srv.Close()
	lab.res.Delegate(demoZone, srv.Addr())
	c.DNS.Nameservers = []string{srv.Addr()}
	c.CertificateAuthorities = map[string]CAConfig{"lets_encrypt": lab.caConfig()}

	db, err := a.store(ctx)
	if err != nil {
		return 0, err
	}
	// Pebble's certificates carry no issuer organization; the example
	// route table's list (Let's Encrypt, DigiCert) would reject them.
	if rt, err := a.routeTable(); err == nil && rt != nil {
		rt.CertificateAuthorityOrganization = nil
	}
	c.Devices.Platforms = map[string]DeviceConfig{"demo": {Driver: "exec"}}
	c.Devices.Assets = lab.devices
	for name, cred := range lab.creds {
		raw, err := cred.Reveal()
		if err != nil {
			return 0, err
		}
		if err := db.PutSecret(ctx, credentialPrefix+name, raw); err != nil {
			return 0, err
		}
	}
	names := lab.names
	for _, name := range names {
		as := lab.assets[name]
		// The inventory's own records of the same devices (fw01, lb02,
		// console01, web01) stay, with the names and validation the
		// devices need.
		_, err := db.UpdateAsset(ctx, name, func(cur *ottr.Asset) error {
			cur.SubjectAlternativeName, cur.CertificateValidation = as.SubjectAlternativeName, as.CertificateValidation
			return nil
		})
		if ottr.ErrorCode(err) == ottr.ENOTFOUND {
			err = db.CreateAsset(ctx, as)
		}
		if err != nil {
			return 0, err
		}
	}
	for _, line := range lab.lines {
		fmt.Fprintln(w, line)
	}
	const fw = "fw01.example.com"
	pebble := lab.pebble

	a.pollInterval = 50 * time.Millisecond
	eng, err := a.engine(ctx, false)
	if err != nil {
		return 0, err
	}
	if err := eng.Start(ctx); err != nil {
		return 0, err
	}
	defer func() {
		stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = eng.Stop(stop)
	}()
	start := time.Now()
	var ids []string
	for _, name := range names {
		r := &ottr.Rotation{SystemName: name, Trigger: ottr.TriggerCLI, RequestedBy: "demo"}
		if _, err := eng.Enqueue(ctx, r); err != nil {
			return 0, err
		}
		ids = append(ids, r.ID)
	}
	var done []*ottr.Rotation
	quiet := a.quiet
	a.quiet = true
	for _, id := range ids {
		r, err := a.follow(ctx, db.GetRotation, id, 5*time.Minute)
		if err != nil {
			return 0, err
		}
		done = append(done, r)
	}
	a.quiet = quiet
	tw := newTable(w)
	fmt.Fprintln(tw, "ASSET\tSTATE\tOLD → NEW SERIAL\tEXPIRES\tTOOK\tERROR")
	failed := 0
	for _, r := range done {
		exp, took := "-", "-"
		if r.NewExpiration != nil {
			exp = r.NewExpiration.Format(time.DateTime)
		}
		if r.StartedAt != nil && r.FinishedAt != nil {
			took = r.FinishedAt.Sub(*r.StartedAt).Round(time.Millisecond).String()
		}
		if r.State != ottr.StateSucceeded {
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.SystemName, r.State, serials(r), exp, took, r.Error)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d of %d rotations succeeded in %s (each: key and CSR made on the device, console01's in Ottr as its key_off_device setting asks; ACME order with DNS-01 via CNAME, install, verify over TLS, record).\n",
		len(done)-failed, len(done), time.Since(start).Round(time.Millisecond))
	if first, err := db.GetRotation(ctx, ids[slices.Index(names, fw)]); err == nil {
		fmt.Fprintf(w, "\nWhat the rotation of %s did (ottr rotations show ID):\n", first.SystemName)
		for _, l := range first.Log {
			fmt.Fprintf(w, "  %-9s %s\n", l.Step, l.Message)
		}
	}
	if once {
		return failed, nil
	}
	dash, pw, stop, err := a.demoDashboard(ctx, listen, eng)
	if err != nil {
		return failed, err
	}
	defer stop()
	fmt.Fprintf(w, "\nStill running (Ctrl-C stops):\n")
	fmt.Fprintf(w, "  dashboard        %s/  (user admin, password %s)\n", dash, pw)
	fmt.Fprintf(w, "  rotation page    %s/rotations/%s\n", dash, ids[slices.Index(names, fw)])
	fmt.Fprintf(w, "  ACME directory   %s\n  DNS server       %s (zone %s)\n", pebble.Directory, srv.Addr(), demoZone)
	for _, name := range names {
		fmt.Fprintf(w, "  device %-18s https://%s  (openssl s_client -connect %s -servername %s)\n", name, c.Devices.Assets[name].Address, c.Devices.Assets[name].Address, name)
	}
	fmt.Fprintf(w, "  rotation logs    ottr rotations list --data-dir %s   (with --keep)\n", dir)
	<-ctx.Done()
	return failed, nil
}

// demoDashboard serves the API and the dashboard over the demo's
// inventory and rotation engine, with an ADMIN user whose password is made
// up now and printed; it returns the URL, the password and how to stop.
// The demo's router is off, so the dashboard says it is paused; rotations
// started from the pages run.
func (a *app) demoDashboard(ctx context.Context, listen string, eng rotationEngine) (string, string, func(), error) {
	b := make([]byte, 6)
	rand.Read(b)
	pw := "Ottr." + hex.EncodeToString(b) + "Demo1"
	hash, err := api.HashPassword(pw)
	if err != nil {
		return "", "", nil, err
	}
	db, err := a.store(ctx)
	if err != nil {
		return "", "", nil, err
	}
	if err := db.CreateUser(ctx, &ottr.User{Username: "admin", Role: ottr.RoleAdmin, PasswordHash: hash}); err != nil {
		return "", "", nil, err
	}
	url, stop, err := a.serveAPI(ctx, listen, "", "", false, eng, serveState{paused: true})
	if err != nil {
		return "", "", nil, err
	}
	return url, pw, stop, nil
}

func writeScripts(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return fs.WalkDir(exectemplate.Scripts, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := exectemplate.Scripts.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, p), b, 0o700)
	})
}
