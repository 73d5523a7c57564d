//go:build !nodemo

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	bigipdriver "github.com/ottr-dev/ottr/driver/bigip"
	execdriver "github.com/ottr-dev/ottr/driver/exec"
	fortigatedriver "github.com/ottr-dev/ottr/driver/fortigate"
	junosdriver "github.com/ottr-dev/ottr/driver/junos"
	lighthousedriver "github.com/ottr-dev/ottr/driver/lighthouse"
	linuxdriver "github.com/ottr-dev/ottr/driver/linux"
	netscalerdriver "github.com/ottr-dev/ottr/driver/netscaler"
	panosdriver "github.com/ottr-dev/ottr/driver/panos"
	redfishdriver "github.com/ottr-dev/ottr/driver/redfish"
	ssmdriver "github.com/ottr-dev/ottr/driver/ssm"
	"github.com/ottr-dev/ottr/internal/acmetest"
	"github.com/ottr-dev/ottr/internal/testpki"
	simbigip "github.com/ottr-dev/ottr/sim/bigip"
	simfortigate "github.com/ottr-dev/ottr/sim/fortigate"
	simjunos "github.com/ottr-dev/ottr/sim/junos"
	simlighthouse "github.com/ottr-dev/ottr/sim/lighthouse"
	"github.com/ottr-dev/ottr/sim/linuxhost"
	simnetscaler "github.com/ottr-dev/ottr/sim/netscaler"
	simpanos "github.com/ottr-dev/ottr/sim/panos"
	simredfish "github.com/ottr-dev/ottr/sim/redfish"
	"github.com/ottr-dev/ottr/sim/resolver"
	simssm "github.com/ottr-dev/ottr/sim/ssm"
	"github.com/ottr-dev/ottr/sim/tlsdir"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/ottr-dev/ottr"
)

const demoZone = "acme.demo.test"

var demoDevices = []string{"app1.example.com", "app2.example.com", "app3.example.com", "vpn.example.com"}

// demoLab is the demo's world: simulated devices serving certificates from
// an old internal CA, an ACME test CA and a recursive resolver holding the
// devices' _acme-challenge CNAMEs. It is the same whether the demo rotates
// the devices itself or leaves them running for an ottr serve (--lab).
type demoLab struct {
	names   []string                   // in rotation order
	assets  map[string]*ottr.Asset     // inventory record per device
	creds   map[string]ottr.Credential // credential sets by name
	devices map[string]DeviceConfig    // devices.assets entries
	res     *resolver.Resolver
	pebble  *acmetest.Pebble
	lines   []string // what each device is, for the user
	closers []func()
}

func (l *demoLab) Close() {
	for i := len(l.closers) - 1; i >= 0; i-- {
		l.closers[i]()
	}
}

// caConfig is the lets_encrypt entry that points at the lab's CA.
func (l *demoLab) caConfig() CAConfig {
	return CAConfig{Directory: l.pebble.Directory, DirectoryCA: string(l.pebble.TLSRootPEM), TrustedRoots: string(l.pebble.RootPEM()),
		Email: "pki@example.com", Profile: "default"}
}

// add records one device: its inventory record, its devices entry and the
// CNAME that sends its DNS-01 challenge into the delegate zone.
func (l *demoLab) add(as *ottr.Asset, dev DeviceConfig, line string) {
	name := as.SystemName
	if as.CommonName == "" {
		as.CommonName = name
	}
	as.SubjectAlternativeName = []string{name}
	as.CertificateAuthority = "lets_encrypt"
	as.Origin = ottr.OriginCLI
	l.assets[name] = as
	l.devices[name] = dev
	l.names = append(l.names, name)
	l.res.CNAME("_acme-challenge."+name, "_acme-challenge."+strings.SplitN(name, ".", 2)[0]+"."+demoZone)
	if line != "" {
		l.lines = append(l.lines, line)
	}
}

// startDemoLab starts the lab with its files (device directories, scripts,
// known_hosts) under dir. The caller delegates demoZone on l.res to the DNS
// server that answers the challenges.
func startDemoLab(dir string) (l *demoLab, err error) {
	l = &demoLab{assets: map[string]*ottr.Asset{}, creds: map[string]ottr.Credential{}, devices: map[string]DeviceConfig{}}
	defer func() {
		if err != nil {
			l.Close()
			l = nil
		}
	}()
	scripts := filepath.Join(dir, "exec-template")
	if err := writeScripts(scripts); err != nil {
		return nil, err
	}
	// Production DNS lives in a simulated recursive resolver: each device
	// name's _acme-challenge is a CNAME into the delegate zone.
	if l.res, err = resolver.Start(); err != nil {
		return nil, err
	}
	l.closers = append(l.closers, l.res.Close)
	if l.pebble, err = acmetest.Start(acmetest.Options{Resolver: l.res.Addr}); err != nil {
		return nil, err
	}
	l.closers = append(l.closers, func() { l.pebble.Close() })
	old := testpki.NewCA("Old Internal CA")

	for _, name := range demoDevices {
		dev, err := tlsdir.Start(filepath.Join(dir, "devices", name))
		if err != nil {
			return nil, err
		}
		l.closers = append(l.closers, func() { dev.Close() })
		// Each device starts out serving a certificate from an old internal CA.
		csr, key := testpki.CSR(name, name)
		chain := old.Sign(csr, 20*24*time.Hour)
		keyPEM, _ := testpki.MarshalKey(key)
		if err := os.WriteFile(filepath.Join(dev.Dir, "served.pem"), append(keyPEM, testpki.EncodeChain(chain)...), 0o600); err != nil {
			return nil, err
		}
		l.add(&ottr.Asset{SystemName: name, HostPlatform: "demo", OSVersion: "1.0",
			CertificateExpiration: ottr.NewTime(chain[0].NotAfter), CertificateValidation: true},
			DeviceConfig{Driver: "exec", Address: dev.Addr, Settings: execdriver.Config{
				CSR:      []string{filepath.Join(scripts, "csr.sh")},
				Install:  []string{filepath.Join(scripts, "install.sh")},
				Rollback: []string{filepath.Join(scripts, "rollback.sh")},
				Env:      map[string]string{"DEVICE_DIR": dev.Dir},
				Timeout:  time.Minute,
			}}, "")
	}

	// A PAN-OS firewall (simulated, speaking the XML API), in service with a
	// certificate from the old CA bound to its management interface. The
	// example inventory's fw01 (panos 9.1.0, Ottr's otter-panos-9x recipe).
	// Its certificate comes from a CA this machine does not trust:
	// certificate_validation "False", as in Ottr.
	const fw = "fw01.example.com"
	pan, err := simpanos.Start("ottr-api", "Demo.Firewall.Passw0rd")
	if err != nil {
		return nil, err
	}
	l.closers = append(l.closers, func() { pan.Close() })
	fwCSR, fwKey := testpki.CSR(fw, fw)
	fwChain := old.Sign(fwCSR, 20*24*time.Hour)
	pan.Preload("corp-mgmt", "ottr", fwKey, fwChain)
	l.creds["demo-panos"] = ottr.Credential{"username": "ottr-api", "password": "Demo.Firewall.Passw0rd"}
	l.add(&ottr.Asset{SystemName: fw, HostPlatform: "panos", OSVersion: "9.1.0", DeviceModel: "PA-XXXX", DataCenter: "DC1",
		CertificateExpiration: ottr.NewTime(fwChain[0].NotAfter)},
		DeviceConfig{Driver: "panos", Credential: "demo-panos", Address: pan.Addr,
			Settings: panosdriver.Config{CommitPoll: 20 * time.Millisecond}},
		fmt.Sprintf("PAN-OS firewall (simulated XML API): https://%s/api/", pan.Addr))

	// A BIG-IP (simulated, iControl REST): the example inventory's lb02,
	// whose certificate expired, behind a virtual server.
	const lb = "lb02.example.com"
	f5, err := simbigip.Start("ottr", "Demo.Bigip.Passw0rd", "clientssl-lb02")
	if err != nil {
		return nil, err
	}
	l.closers = append(l.closers, func() { f5.Close() })
	lbCSR, lbKey := testpki.CSR(lb, lb)
	lbChain := old.Sign(lbCSR, 20*24*time.Hour)
	f5.Preload("corp-lb02", lbKey, lbChain)
	l.creds["demo-bigip"] = ottr.Credential{"username": "ottr", "password": "Demo.Bigip.Passw0rd"}
	l.add(&ottr.Asset{SystemName: lb, HostPlatform: "f5", OSVersion: "14.1.0", DataCenter: "DC1",
		CertificateExpiration: ottr.NewTime(lbChain[0].NotAfter)},
		DeviceConfig{Driver: "bigip", Credential: "demo-bigip", Address: f5.VirtualAddr,
			Settings: bigipdriver.Config{Address: f5.Addr, Profiles: []string{"/Common/clientssl-lb02"}}},
		fmt.Sprintf("BIG-IP (simulated iControl REST): https://%s/mgmt/, virtual server %s", f5.Addr, f5.VirtualAddr))

	// An Opengear Lighthouse (simulated REST API): the example inventory's
	// console01. Its own requests carry the name in the subject only, which
	// the in-process CA refuses, so Ottr makes the key (key_off_device).
	const lhName = "console01.example.com"
	lh, err := simlighthouse.Start("root", "Demo.Console.Passw0rd")
	if err != nil {
		return nil, err
	}
	l.closers = append(l.closers, func() { lh.Close() })
	l.creds["demo-lighthouse"] = ottr.Credential{"username": "root", "password": "Demo.Console.Passw0rd"}
	l.add(&ottr.Asset{SystemName: lhName, HostPlatform: "lighthouse", OSVersion: "21.Q2.0", DataCenter: "DC1",
		CertificateExpiration: ottr.NewTime(time.Now().Add(25 * 24 * time.Hour))},
		DeviceConfig{Driver: "lighthouse", Credential: "demo-lighthouse", Address: lh.Addr,
			Settings: lighthousedriver.Config{KeyOffDevice: true}},
		fmt.Sprintf("Lighthouse (simulated REST API): https://%s/api/v3.7/", lh.Addr))

	// A Juniper SRX (simulated, NETCONF over SSH), serving J-Web with a
	// certificate from the old CA.
	const srx = "srx1.example.com"
	jun, err := simjunos.Start("ottr", "Demo.Junos.Passw0rd")
	if err != nil {
		return nil, err
	}
	l.closers = append(l.closers, func() { jun.Close() })
	srxCSR, srxKey := testpki.CSR(srx, srx)
	srxChain := old.Sign(srxCSR, 20*24*time.Hour)
	jun.Preload("corp-web", srxKey, srxChain)
	knownHosts := filepath.Join(dir, "known_hosts.junos")
	if err := os.WriteFile(knownHosts, []byte(knownhosts.Line([]string{knownhosts.Normalize(jun.Addr)}, jun.HostKey)+"\n"), 0o600); err != nil {
		return nil, err
	}
	l.creds["demo-junos"] = ottr.Credential{"username": "ottr", "password": "Demo.Junos.Passw0rd"}
	l.add(&ottr.Asset{SystemName: srx, HostPlatform: "junos", OSVersion: "18.2", DeviceModel: "SRX5600",
		CertificateExpiration: ottr.NewTime(srxChain[0].NotAfter), CertificateValidation: true},
		DeviceConfig{Driver: "junos", Credential: "demo-junos", Address: jun.WebAddr,
			Settings: junosdriver.Config{Address: jun.Addr, KnownHosts: knownHosts}},
		fmt.Sprintf("Juniper SRX (simulated NETCONF over SSH): %s, J-Web on https://%s", jun.Addr, jun.WebAddr))

	// A FortiGate (simulated FortiOS REST API, API token), its admin GUI
	// and SSL-VPN portal serving a certificate from the old CA.
	const fgt = "fgt1.example.com"
	forti, err := simfortigate.Start("demo-fortios-token-0123456789")
	if err != nil {
		return nil, err
	}
	l.closers = append(l.closers, func() { forti.Close() })
	fgtCSR, fgtKey := testpki.CSR(fgt, fgt)
	fgtChain := old.Sign(fgtCSR, 20*24*time.Hour)
	forti.Preload("corp-gui", fgtKey, fgtChain)
	if err := forti.Bind("corp-gui", "corp-gui"); err != nil {
		return nil, err
	}
	l.creds["demo-fortigate"] = ottr.Credential{"api_token": "demo-fortios-token-0123456789"}
	l.add(&ottr.Asset{SystemName: fgt, HostPlatform: "fortigate", OSVersion: "7.4", DeviceModel: "FortiGate-100F", DataCenter: "DC1",
		CertificateExpiration: ottr.NewTime(fgtChain[0].NotAfter)},
		DeviceConfig{Driver: "fortigate", Credential: "demo-fortigate", Address: forti.Addr,
			Settings: fortigatedriver.Config{Bind: []string{"admin", "ssl-vpn"}, SSLVPNAddress: forti.VPNAddr, ServePoll: 50 * time.Millisecond}},
		fmt.Sprintf("FortiGate (simulated FortiOS REST API): https://%s/api/v2/, SSL-VPN on https://%s", forti.Addr, forti.VPNAddr))

	// A NetScaler ADC (simulated NITRO REST API): the SSL virtual server
	// of www2 serving a certificate from the old CA. The asset's address
	// is the virtual server; the appliance's NSIP is the settings'.
	const ns = "www2.example.com"
	adc, err := simnetscaler.Start("nsroot", "Demo.Adc.Passw0rd", "vs_www2_ssl")
	if err != nil {
		return nil, err
	}
	l.closers = append(l.closers, func() { adc.Close() })
	nsCSR, nsKey := testpki.CSR(ns, ns)
	nsChain := old.Sign(nsCSR, 20*24*time.Hour)
	if err := adc.Preload("corp-www2", nsKey, nsChain); err != nil {
		return nil, err
	}
	l.creds["demo-netscaler"] = ottr.Credential{"username": "nsroot", "password": "Demo.Adc.Passw0rd"}
	l.add(&ottr.Asset{SystemName: ns, HostPlatform: "netscaler", OSVersion: "14.1", DeviceModel: "MPX", DataCenter: "DC1",
		CertificateExpiration: ottr.NewTime(nsChain[0].NotAfter)},
		DeviceConfig{Driver: "netscaler", Credential: "demo-netscaler", Address: adc.VServer("vs_www2_ssl"),
			Settings: netscalerdriver.Config{Address: adc.Addr, VServers: []string{"vs_www2_ssl"}, Serve: adc.VServer("vs_www2_ssl"),
				Subject: ottr.Subject{Country: "US", State: "California", Organization: "Example Inc"}}},
		fmt.Sprintf("NetScaler ADC (simulated NITRO): https://%s/nitro/v1/, virtual server on https://%s", adc.Addr, adc.VServer("vs_www2_ssl")))

	// A server's BMC (simulated Dell iDRAC over DMTF Redfish): the key is
	// made on the controller, which restarts its web server to serve the
	// new certificate.
	const bmc = "r740-01-idrac.example.com"
	idrac, err := simredfish.Start("ottr", "Demo.Idrac.Passw0rd", simredfish.Options{Profile: simredfish.Profiles["idrac"]})
	if err != nil {
		return nil, err
	}
	l.closers = append(l.closers, func() { idrac.Close() })
	bmcCSR, bmcKey := testpki.CSR(bmc, bmc)
	bmcChain := old.Sign(bmcCSR, 20*24*time.Hour)
	idrac.Preload(bmcKey, bmcChain)
	l.creds["demo-idrac"] = ottr.Credential{"username": "ottr", "password": "Demo.Idrac.Passw0rd"}
	l.add(&ottr.Asset{SystemName: bmc, HostPlatform: "idrac", OSVersion: "7.00", DeviceModel: "PowerEdge R740", DataCenter: "DC1",
		CertificateExpiration: ottr.NewTime(bmcChain[0].NotAfter)},
		DeviceConfig{Driver: "redfish", Credential: "demo-idrac", Address: idrac.Addr,
			Settings: redfishdriver.Config{TaskPoll: 50 * time.Millisecond, ServePoll: 50 * time.Millisecond}},
		fmt.Sprintf("Dell iDRAC (simulated Redfish BMC): https://%s/redfish/v1/", idrac.Addr))

	// An EC2 instance reached through AWS Systems Manager (simulated SSM
	// API; the commands run here): the example inventory's web01, Ottr's
	// otter-linux-aws-ssm recipe. It needs openssl on this machine.
	if _, err := exec.LookPath("openssl"); err == nil {
		const ec2 = "web01.example.com"
		ssmDir := filepath.Join(dir, "ssm-instance")
		if err := os.MkdirAll(ssmDir, 0o700); err != nil {
			return nil, err
		}
		ec2CSR, ec2Key := testpki.CSR(ec2, ec2)
		ec2KeyPEM, _ := testpki.MarshalKey(ec2Key)
		ec2Chain := old.Sign(ec2CSR, 20*24*time.Hour)
		certPath, keyPath := filepath.Join(ssmDir, "web01.crt"), filepath.Join(ssmDir, "web01.key")
		if err := os.WriteFile(keyPath, ec2KeyPEM, 0o600); err != nil {
			return nil, err
		}
		if err := os.WriteFile(certPath, testpki.EncodeChain(ec2Chain), 0o644); err != nil {
			return nil, err
		}
		aws := simssm.Start("AKIDDEMO", "demo-secret")
		l.closers = append(l.closers, func() { aws.Close() })
		// Tagged as Ottr's instances are: Name is the first label.
		inst, err := aws.AddInstance("web01", certPath, keyPath)
		if err != nil {
			return nil, err
		}
		l.creds["demo-aws"] = ottr.Credential{"access_key_id": "AKIDDEMO", "secret_access_key": "demo-secret"}
		l.add(&ottr.Asset{SystemName: ec2, HostPlatform: "Ubuntu", OSVersion: "20.04", DataCenter: "DC1",
			CertificateExpiration: ottr.NewTime(ec2Chain[0].NotAfter), CertificateValidation: true},
			DeviceConfig{Driver: "ssm", Credential: "demo-aws", Address: inst.Addr,
				Settings: ssmdriver.Config{Endpoint: aws.URL, CertPath: certPath, KeyPath: keyPath, Poll: 50 * time.Millisecond}},
			fmt.Sprintf("EC2 instance via Systems Manager (simulated SSM API, commands run here): %s, TLS on %s", inst.ID, inst.Addr))
	}

	// A real Linux host too, when this machine can run one: sshd and nginx
	// started here, rotated over SSH by the linux driver.
	if len(linuxhost.Missing()) == 0 && os.Geteuid() == 0 {
		const name = "web.example.com"
		csr, key := testpki.CSR(name, name)
		h, err := linuxhost.Start(filepath.Join(dir, "linux-host"), key, old.Sign(csr, 20*24*time.Hour))
		if err != nil {
			l.lines = append(l.lines, fmt.Sprintf("no Linux host (%v)", err))
		} else {
			l.closers = append(l.closers, func() { h.Close() })
			l.creds["demo-ssh"] = ottr.Credential{"username": ottr.Secret(h.User), "private_key": ottr.Secret(h.ClientKey)}
			l.add(&ottr.Asset{SystemName: name, HostPlatform: "demo", OSVersion: "1.0", CertificateValidation: true},
				DeviceConfig{Driver: "linux", Credential: "demo-ssh", Address: h.HTTPSAddr,
					Settings: linuxdriver.Config{Address: h.SSHAddr, KnownHosts: h.KnownHosts, CertPath: h.CertPath,
						KeyPath: h.KeyPath, Reload: h.ReloadCommand(), Serve: h.HTTPSAddr}},
				fmt.Sprintf("Linux host: sshd on %s, nginx on https://%s", h.SSHAddr, h.HTTPSAddr))
		}
	}
	return l, nil
}
