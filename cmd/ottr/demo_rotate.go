//go:build !nodemo

package main

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	exectemplate "github.com/ottr-dev/ottr/contrib/exec-template"
	bigipdriver "github.com/ottr-dev/ottr/driver/bigip"
	execdriver "github.com/ottr-dev/ottr/driver/exec"
	junosdriver "github.com/ottr-dev/ottr/driver/junos"
	lighthousedriver "github.com/ottr-dev/ottr/driver/lighthouse"
	linuxdriver "github.com/ottr-dev/ottr/driver/linux"
	panosdriver "github.com/ottr-dev/ottr/driver/panos"
	ssmdriver "github.com/ottr-dev/ottr/driver/ssm"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	simbigip "github.com/ottr-dev/ottr/sim/bigip"
	simjunos "github.com/ottr-dev/ottr/sim/junos"
	simlighthouse "github.com/ottr-dev/ottr/sim/lighthouse"
	"github.com/ottr-dev/ottr/sim/linuxhost"
	simpanos "github.com/ottr-dev/ottr/sim/panos"
	"github.com/ottr-dev/ottr/sim/resolver"
	simssm "github.com/ottr-dev/ottr/sim/ssm"
	"github.com/ottr-dev/ottr/sim/tlsdir"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ottr-dev/ottr"
)

const demoZone = "acme.demo.test"

var demoDevices = []string{"app1.example.com", "app2.example.com", "app3.example.com", "vpn.example.com"}

// demoRotate runs the rotation half of the demo and returns how many
// rotations failed.
func (a *app) demoRotate(ctx context.Context, dir string, once bool) (int, error) {
	w := a.stdout
	fmt.Fprintf(w, "\nRotating the demo's own devices end to end (in-process ACME CA, built-in DNS):\n")
	c, err := a.config()
	if err != nil {
		return 0, err
	}
	// The summary says what happened; keep the service log to warnings.
	a.log = newLogger(a.stderr, LogConfig{Level: "warn", Format: c.Log.Format})
	scripts := filepath.Join(dir, "exec-template")
	if err := writeScripts(scripts); err != nil {
		return 0, err
	}

	// Production DNS lives in a simulated recursive resolver: each device
	// name's _acme-challenge is a CNAME into the delegate zone, which the
	// built-in DNS server answers.
	res, err := resolver.Start()
	if err != nil {
		return 0, err
	}
	defer res.Close()
	c.DNS.Zones = []string{demoZone}
	c.DNS.Resolvers = []string{res.Addr}
	srv, err := a.dnsServer(ctx)
	if err != nil {
		return 0, err
	}
	if err := srv.Listen(ctx, "127.0.0.1:0"); err != nil {
		return 0, err
	}
	defer srv.Close()
	res.Delegate(demoZone, srv.Addr())
	c.DNS.Nameservers = []string{srv.Addr()}

	pebble, err := acmetest.Start(acmetest.Options{Resolver: res.Addr})
	if err != nil {
		return 0, err
	}
	defer pebble.Close()
	c.CertificateAuthorities = map[string]CAConfig{"lets_encrypt": {
		Directory: pebble.Directory, DirectoryCA: string(pebble.TLSRootPEM), TrustedRoots: string(pebble.RootPEM()),
		Email: "pki@example.com", Profile: "default",
	}}

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
	c.Devices.Assets = map[string]DeviceConfig{}
	old := testpki.NewCA("Old Internal CA")
	for _, name := range demoDevices {
		dev, err := tlsdir.Start(filepath.Join(dir, "devices", name))
		if err != nil {
			return 0, err
		}
		defer dev.Close()
		// Each device starts out serving a certificate from an old internal CA.
		csr, key := testpki.CSR(name, name)
		chain := old.Sign(csr, 20*24*time.Hour)
		keyPEM, _ := testpki.MarshalKey(key)
		if err := os.WriteFile(filepath.Join(dev.Dir, "served.pem"), append(keyPEM, testpki.EncodeChain(chain)...), 0o600); err != nil {
			return 0, err
		}
		c.Devices.Assets[name] = DeviceConfig{Address: dev.Addr, Settings: execdriver.Config{
			CSR:      []string{filepath.Join(scripts, "csr.sh")},
			Install:  []string{filepath.Join(scripts, "install.sh")},
			Rollback: []string{filepath.Join(scripts, "rollback.sh")},
			Env:      map[string]string{"DEVICE_DIR": dev.Dir},
			Timeout:  time.Minute,
		}}
		res.CNAME("_acme-challenge."+name, "_acme-challenge."+strings.SplitN(name, ".", 2)[0]+"."+demoZone)
		as := &ottr.Asset{SystemName: name, CommonName: name, SubjectAlternativeName: []string{name},
			CertificateAuthority: "lets_encrypt", HostPlatform: "demo", OSVersion: "1.0", Origin: ottr.OriginCLI,
			CertificateExpiration: ottr.NewTime(chain[0].NotAfter), CertificateValidation: true}
		if err := db.CreateAsset(ctx, as); err != nil {
			return 0, err
		}
	}

	names := slices.Clone(demoDevices)

	// A PAN-OS firewall (simulated, speaking the XML API), in service with a
	// certificate from the old CA bound to its management interface.
	const fw = "fw01.example.com"
	pan, err := simpanos.Start("ottr-api", "Demo.Firewall.Passw0rd")
	if err != nil {
		return 0, err
	}
	defer pan.Close()
	fwCSR, fwKey := testpki.CSR(fw, fw)
	pan.Preload("corp-mgmt", "ottr", fwKey, old.Sign(fwCSR, 20*24*time.Hour))
	panCred, _ := ottr.Credential{"username": "ottr-api", "password": "Demo.Firewall.Passw0rd"}.Reveal()
	if err := db.PutSecret(ctx, credentialPrefix+"demo-panos", panCred); err != nil {
		return 0, err
	}
	c.Devices.Assets[fw] = DeviceConfig{Driver: "panos", Credential: "demo-panos", Address: pan.Addr,
		Settings: panosdriver.Config{CommitPoll: 20 * time.Millisecond}}
	res.CNAME("_acme-challenge."+fw, "_acme-challenge.fw01."+demoZone)
	// The example inventory's fw01 (panos 9.1.0, Ottr's otter-panos-9x
	// recipe) is this firewall. Its certificate comes from a CA this
	// machine does not trust: certificate_validation "False", as in Ottr.
	if _, err := db.UpdateAsset(ctx, fw, func(as *ottr.Asset) error {
		as.SubjectAlternativeName, as.CertificateValidation = []string{fw}, false
		return nil
	}); err != nil {
		return 0, err
	}
	names = append(names, fw)
	fmt.Fprintf(w, "PAN-OS firewall (simulated XML API): https://%s/api/\n", pan.Addr)

	// A BIG-IP (simulated, iControl REST): the example inventory's lb02,
	// whose certificate expired, behind a virtual server.
	const lb = "lb02.example.com"
	f5, err := simbigip.Start("ottr", "Demo.Bigip.Passw0rd", "clientssl-lb02")
	if err != nil {
		return 0, err
	}
	defer f5.Close()
	lbCSR, lbKey := testpki.CSR(lb, lb)
	f5.Preload("corp-lb02", lbKey, old.Sign(lbCSR, 20*24*time.Hour))
	f5Cred, _ := ottr.Credential{"username": "ottr", "password": "Demo.Bigip.Passw0rd"}.Reveal()
	if err := db.PutSecret(ctx, credentialPrefix+"demo-bigip", f5Cred); err != nil {
		return 0, err
	}
	c.Devices.Assets[lb] = DeviceConfig{Driver: "bigip", Credential: "demo-bigip", Address: f5.VirtualAddr,
		Settings: bigipdriver.Config{Address: f5.Addr, Profiles: []string{"/Common/clientssl-lb02"}}}
	res.CNAME("_acme-challenge."+lb, "_acme-challenge.lb02."+demoZone)
	if _, err := db.UpdateAsset(ctx, lb, func(as *ottr.Asset) error {
		as.SubjectAlternativeName, as.CertificateValidation = []string{lb}, false
		return nil
	}); err != nil {
		return 0, err
	}
	names = append(names, lb)
	fmt.Fprintf(w, "BIG-IP (simulated iControl REST): https://%s/mgmt/, virtual server %s\n", f5.Addr, f5.VirtualAddr)

	// An Opengear Lighthouse (simulated REST API): the example inventory's
	// console01. Its own requests carry the name in the subject only, which
	// the in-process CA refuses, so Ottr makes the key (key_off_device).
	const lhName = "console01.example.com"
	lh, err := simlighthouse.Start("root", "Demo.Console.Passw0rd")
	if err != nil {
		return 0, err
	}
	defer lh.Close()
	lhCred, _ := ottr.Credential{"username": "root", "password": "Demo.Console.Passw0rd"}.Reveal()
	if err := db.PutSecret(ctx, credentialPrefix+"demo-lighthouse", lhCred); err != nil {
		return 0, err
	}
	c.Devices.Assets[lhName] = DeviceConfig{Driver: "lighthouse", Credential: "demo-lighthouse", Address: lh.Addr,
		Settings: lighthousedriver.Config{KeyOffDevice: true}}
	res.CNAME("_acme-challenge."+lhName, "_acme-challenge.console01."+demoZone)
	if _, err := db.UpdateAsset(ctx, lhName, func(as *ottr.Asset) error {
		as.SubjectAlternativeName, as.CertificateValidation = []string{lhName}, false
		return nil
	}); err != nil {
		return 0, err
	}
	names = append(names, lhName)
	fmt.Fprintf(w, "Lighthouse (simulated REST API): https://%s/api/v3.7/\n", lh.Addr)

	// A Juniper SRX (simulated, NETCONF over SSH), serving J-Web with a
	// certificate from the old CA.
	const srx = "srx1.example.com"
	jun, err := simjunos.Start("ottr", "Demo.Junos.Passw0rd")
	if err != nil {
		return 0, err
	}
	defer jun.Close()
	srxCSR, srxKey := testpki.CSR(srx, srx)
	srxChain := old.Sign(srxCSR, 20*24*time.Hour)
	jun.Preload("corp-web", srxKey, srxChain)
	knownHosts := filepath.Join(dir, "known_hosts.junos")
	if err := os.WriteFile(knownHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(jun.Addr)}, jun.HostKey)+"\n"), 0o600); err != nil {
		return 0, err
	}
	junCred, _ := ottr.Credential{"username": "ottr", "password": "Demo.Junos.Passw0rd"}.Reveal()
	if err := db.PutSecret(ctx, credentialPrefix+"demo-junos", junCred); err != nil {
		return 0, err
	}
	c.Devices.Assets[srx] = DeviceConfig{Driver: "junos", Credential: "demo-junos", Address: jun.WebAddr,
		Settings: junosdriver.Config{Address: jun.Addr, KnownHosts: knownHosts}}
	res.CNAME("_acme-challenge."+srx, "_acme-challenge.srx1."+demoZone)
	if err := db.CreateAsset(ctx, &ottr.Asset{SystemName: srx, CommonName: srx, SubjectAlternativeName: []string{srx},
		CertificateAuthority: "lets_encrypt", HostPlatform: "junos", OSVersion: "18.2", DeviceModel: "SRX5600", Origin: ottr.OriginCLI,
		CertificateExpiration: ottr.NewTime(srxChain[0].NotAfter), CertificateValidation: true}); err != nil {
		return 0, err
	}
	names = append(names, srx)
	fmt.Fprintf(w, "Juniper SRX (simulated NETCONF over SSH): %s, J-Web on https://%s\n", jun.Addr, jun.WebAddr)

	// An EC2 instance reached through AWS Systems Manager (simulated SSM
	// API; the commands run here): the example inventory's web01, Ottr's
	// otter-linux-aws-ssm recipe. It needs openssl on this machine.
	if _, err := exec.LookPath("openssl"); err == nil {
		const ec2 = "web01.example.com"
		ssmDir := filepath.Join(dir, "ssm-instance")
		if err := os.MkdirAll(ssmDir, 0o700); err != nil {
			return 0, err
		}
		ec2CSR, ec2Key := testpki.CSR(ec2, ec2)
		ec2KeyPEM, _ := testpki.MarshalKey(ec2Key)
		certPath, keyPath := filepath.Join(ssmDir, "web01.crt"), filepath.Join(ssmDir, "web01.key")
		if err := os.WriteFile(keyPath, ec2KeyPEM, 0o600); err != nil {
			return 0, err
		}
		if err := os.WriteFile(certPath, testpki.EncodeChain(old.Sign(ec2CSR, 20*24*time.Hour)), 0o644); err != nil {
			return 0, err
		}
		aws := simssm.Start("AKIDDEMO", "demo-secret")
		defer aws.Close()
		// Tagged as Ottr's instances are: Name is the first label.
		inst, err := aws.AddInstance("web01", certPath, keyPath)
		if err != nil {
			return 0, err
		}
		awsCred, _ := ottr.Credential{"access_key_id": "AKIDDEMO", "secret_access_key": "demo-secret"}.Reveal()
		if err := db.PutSecret(ctx, credentialPrefix+"demo-aws", awsCred); err != nil {
			return 0, err
		}
		c.Devices.Assets[ec2] = DeviceConfig{Driver: "ssm", Credential: "demo-aws", Address: inst.Addr,
			Settings: ssmdriver.Config{Endpoint: aws.URL, CertPath: certPath, KeyPath: keyPath, Poll: 50 * time.Millisecond}}
		res.CNAME("_acme-challenge."+ec2, "_acme-challenge.web01."+demoZone)
		if _, err := db.UpdateAsset(ctx, ec2, func(as *ottr.Asset) error {
			as.SubjectAlternativeName = []string{ec2}
			return nil
		}); err != nil {
			return 0, err
		}
		names = append(names, ec2)
		fmt.Fprintf(w, "EC2 instance via Systems Manager (simulated SSM API, commands run here): %s, TLS on %s\n", inst.ID, inst.Addr)
	}

	// A real Linux host too, when this machine can run one: sshd and nginx
	// started here, rotated over SSH by the linux driver.
	if len(linuxhost.Missing()) == 0 && os.Geteuid() == 0 {
		const name = "web.example.com"
		csr, key := testpki.CSR(name, name)
		h, err := linuxhost.Start(filepath.Join(dir, "linux-host"), key, old.Sign(csr, 20*24*time.Hour))
		if err != nil {
			a.progress("demo: no Linux host (%v)", err)
		} else {
			defer h.Close()
			cred, _ := ottr.Credential{"username": ottr.Secret(h.User), "private_key": ottr.Secret(h.ClientKey)}.Reveal()
			if err := db.PutSecret(ctx, credentialPrefix+"demo-ssh", cred); err != nil {
				return 0, err
			}
			c.Devices.Assets[name] = DeviceConfig{Driver: "linux", Credential: "demo-ssh", Address: h.HTTPSAddr,
				Settings: linuxdriver.Config{Address: h.SSHAddr, KnownHosts: h.KnownHosts, CertPath: h.CertPath,
					KeyPath: h.KeyPath, Reload: h.ReloadCommand(), Serve: h.HTTPSAddr}}
			res.CNAME("_acme-challenge."+name, "_acme-challenge.web."+demoZone)
			if err := db.CreateAsset(ctx, &ottr.Asset{SystemName: name, CommonName: name, SubjectAlternativeName: []string{name},
				CertificateAuthority: "lets_encrypt", HostPlatform: "demo", OSVersion: "1.0", Origin: ottr.OriginCLI,
				CertificateValidation: true}); err != nil {
				return 0, err
			}
			names = append(names, name)
			fmt.Fprintf(w, "Linux host: sshd on %s, nginx on https://%s\n", h.SSHAddr, h.HTTPSAddr)
		}
	}

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
	fmt.Fprintf(w, "\nStill running (Ctrl-C stops):\n")
	fmt.Fprintf(w, "  ACME directory   %s\n  DNS server       %s (zone %s)\n", pebble.Directory, srv.Addr(), demoZone)
	for _, name := range names {
		fmt.Fprintf(w, "  device %-18s https://%s  (openssl s_client -connect %s -servername %s)\n", name, c.Devices.Assets[name].Address, c.Devices.Assets[name].Address, name)
	}
	fmt.Fprintf(w, "  rotation logs    ottr rotations list --data-dir %s   (with --keep)\n", dir)
	<-ctx.Done()
	return failed, nil
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
