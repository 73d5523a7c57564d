package bigip

import (
	"cmp"
	"context"
	"crypto/x509"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
)

// Install puts the certificate in service: for the management GUI see
// guiInstall; for client-ssl profiles it uploads and installs the
// certificate under the name of the key the device made for it (and the intermediates as <name>-chain.crt),
// points every profile's certKeyChain at them, saves the configuration,
// and checks the virtual server presents the new certificate. Objects this
// driver made earlier are deleted, except the ones just replaced.
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no certificate to install")
	}
	if d.target == TargetManagementGUI {
		return d.guiInstall(ctx, chain)
	}
	name, err := d.keyFor(ctx, chain[0])
	if err != nil {
		return err
	}
	want := binding{Cert: "/Common/" + name + ".crt", Key: "/Common/" + name + ".key", Chain: "none"}
	if len(chain) > 1 {
		want.Chain = "/Common/" + name + "-chain.crt"
	}
	prev, err := d.installAndSwitch(ctx, name, chain, want)
	if err != nil {
		return err
	}
	if err := d.waitServes(ctx, chain[0]); err != nil {
		return err
	}
	if prev != want {
		// Only the install that replaced prev prunes, keeping it for
		// Restore: a repeated install (prev already want) cannot tell which
		// certificate the rotation replaced.
		d.prune(ctx, want, prev)
	}
	return nil
}

// installAndSwitch installs the certificate objects for want and switches
// the profiles to them. If that fails, the objects are deleted again:
// unbound, they would linger unsaved in the running configuration. The
// key stays, so a retry installs them again.
func (d *Driver) installAndSwitch(ctx context.Context, name string, chain []*x509.Certificate, want binding) (prev binding, err error) {
	defer func() {
		if err == nil {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.c.RequestTimeout)
		defer cancel()
		for _, o := range []string{want.Cert, want.Chain} {
			if o != "none" {
				_ = d.do(rctx, http.MethodDelete, "/mgmt/tm/sys/file/ssl-cert/"+urlName(o), nil, nil)
			}
		}
	}()
	if err := d.put(ctx, name+".crt", ottr.EncodeChain(chain[:1])); err != nil {
		return binding{}, err
	}
	if len(chain) > 1 {
		if err := d.put(ctx, name+"-chain.crt", ottr.EncodeChain(chain[1:])); err != nil {
			return binding{}, err
		}
	}
	ottr.Logf(ctx, "installed %s with its chain", want.Cert)
	return d.switchTo(ctx, want)
}

// switchTo points every profile at b and saves the configuration, and
// returns the first profile's binding before. If a profile refuses or the
// save fails, the profiles already changed are pointed back at what they
// had (each binding is a pair the device checked), so the running
// configuration stays as the saved one and serves what it served.
func (d *Driver) switchTo(ctx context.Context, b binding) (binding, error) {
	before := make([]binding, len(d.c.Profiles))
	for i, p := range d.c.Profiles {
		var err error
		if before[i], err = d.profile(ctx, p); err != nil {
			return binding{}, err
		}
	}
	var err error
	changed := 0
	for _, p := range d.c.Profiles {
		if err = d.bindProfile(ctx, p, b); err != nil {
			break
		}
		changed++
	}
	if err == nil {
		if err = d.do(ctx, http.MethodPost, "/mgmt/tm/sys/config", map[string]string{"command": "save"}, nil); err == nil {
			ottr.Logf(ctx, "configuration saved")
			return before[0], nil
		}
	}
	// The device may have gone quiet: put back with a context of its own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.c.RequestTimeout)
	defer cancel()
	for i, p := range d.c.Profiles[:changed] {
		if rerr := d.bindProfile(rctx, p, before[i]); rerr != nil {
			ottr.Logf(ctx, "warn: could not point client-ssl profile %s back at %s: %s", p, before[i].Cert, ottr.ErrorMessage(rerr))
		}
	}
	return binding{}, err
}

// keyFor finds the key the device made for leaf: the ottr- key whose CSR
// has leaf's public key, found by reading the requests back (the one
// this driver made last first), so a resumed rotation finds it too.
func (d *Driver) keyFor(ctx context.Context, leaf *x509.Certificate) (string, error) {
	var keys struct {
		Items []struct {
			Name string `json:"name"`
		} `json:"items"`
	}
	if err := d.do(ctx, http.MethodGet, "/mgmt/tm/sys/file/ssl-key", nil, &keys); err != nil && ottr.ErrorCode(err) != ottr.ENOTFOUND {
		return "", err
	}
	var candidates []string
	for _, k := range keys.Items {
		if n := strings.TrimSuffix(k.Name, ".key"); strings.HasPrefix(n, prefix) {
			candidates = append(candidates, n)
		}
	}
	slices.Sort(candidates)
	slices.Reverse(candidates) // newest first
	d.mu.Lock()
	if d.pending != "" { // the request this driver just made goes first
		candidates = append([]string{d.pending}, candidates...)
	}
	d.mu.Unlock()
	for _, n := range candidates {
		if csr, err := d.fetchCSR(ctx, n); err == nil && ottr.SamePublicKey(csr.PublicKey, leaf.PublicKey) {
			return n, nil
		}
	}
	return "", ottr.Errorf(ottr.EINVALID, "BIG-IP %s: no key on the device matches this certificate; only a certificate for a request the device made can be installed", d.c.Address)
}

// put uploads a file and installs it as a certificate object. The upload
// is removed from the device's download area afterwards, also when the
// install fails.
func (d *Driver) put(ctx context.Context, name string, pemData []byte) error {
	var up struct {
		LocalFilePath string `json:"localFilePath"`
	}
	defer func() {
		_ = d.do(context.WithoutCancel(ctx), http.MethodPost, "/mgmt/tm/util/unix-rm", map[string]string{"command": "run", "utilCmdArgs": "/var/config/rest/downloads/" + name}, nil)
	}()
	if err := d.do(ctx, http.MethodPost, "/mgmt/shared/file-transfer/uploads/"+name, upload(pemData), &up); err != nil {
		return err
	}
	if up.LocalFilePath == "" {
		up.LocalFilePath = "/var/config/rest/downloads/" + name
	}
	return d.do(ctx, http.MethodPost, "/mgmt/tm/sys/crypto/cert", map[string]string{"command": "install", "name": name, "from-local-file": up.LocalFilePath}, nil)
}

func (d *Driver) bindProfile(ctx context.Context, p string, b binding) error {
	if err := d.do(ctx, http.MethodPatch, "/mgmt/tm/ltm/profile/client-ssl/"+urlName(p), map[string]any{
		"certKeyChain": []map[string]string{{"name": "default", "cert": b.Cert, "key": b.Key, "chain": cmp.Or(b.Chain, "none")}}}, nil); err != nil {
		return err
	}
	ottr.Logf(ctx, "client-ssl profile %s now uses %s", p, b.Cert)
	return nil
}

func (d *Driver) waitServes(ctx context.Context, leaf *x509.Certificate) error {
	if err := served.Await(ctx, d.Current, leaf, time.Minute, 200*time.Millisecond); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: saved, but on virtual server %s %w", d.c.Address, d.c.Serve, err)
	}
	ottr.Logf(ctx, "virtual server %s serves serial %x", d.c.Serve, leaf.SerialNumber)
	return nil
}

// prune deletes certificates, chains and keys this driver made, except
// the binding just made and the one it replaced. Failures are logged.
func (d *Driver) prune(ctx context.Context, keep, prev binding) {
	certs, err := d.installed(ctx)
	if err != nil {
		ottr.Logf(ctx, "warn: listing certificates to prune: %s", ottr.ErrorMessage(err))
		return
	}
	spare := map[string]bool{keep.Cert: true, keep.Chain: true, prev.Cert: true, prev.Chain: true}
	for _, c := range certs {
		if !strings.HasPrefix(c.Name, prefix) || spare[c.FullPath] {
			continue
		}
		if err := d.do(ctx, http.MethodDelete, "/mgmt/tm/sys/file/ssl-cert/"+urlName(c.FullPath), nil, nil); err != nil {
			ottr.Logf(ctx, "warn: deleting %s: %s", c.FullPath, ottr.ErrorMessage(err))
			continue
		}
		ottr.Logf(ctx, "deleted old certificate %s", c.FullPath)
		if strings.HasSuffix(c.Name, ".crt") && !strings.HasSuffix(c.Name, "-chain.crt") {
			key := strings.TrimSuffix(c.FullPath, ".crt") + ".key"
			if key != keep.Key && key != prev.Key {
				_ = d.do(ctx, http.MethodDelete, "/mgmt/tm/sys/file/ssl-key/"+urlName(key), nil, nil)
			}
		}
	}
	_ = d.do(ctx, http.MethodPost, "/mgmt/tm/sys/config", map[string]string{"command": "save"}, nil)
}

// Restore brings previous back: for the management GUI see guiRestore;
// for client-ssl profiles it binds the certificate object holding previous (with the key of
// the same name and its chain) again and saves; a failure points the
// profiles back at what they had. It finds the objects on the device, so
// a driver opened in another process restores as well, and it may be
// repeated. Install keeps the objects it replaced, so they are there.
func (d *Driver) Restore(ctx context.Context, previous []*x509.Certificate) error {
	if len(previous) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no previous certificate to restore")
	}
	if d.target == TargetManagementGUI {
		return d.guiRestore(ctx, previous)
	}
	certs, err := d.installed(ctx)
	if err != nil {
		return err
	}
	for _, c := range certs {
		if !c.is(previous[0]) || strings.HasSuffix(c.Name, "-chain.crt") {
			continue
		}
		base := strings.TrimSuffix(c.FullPath, ".crt")
		b := binding{Cert: c.FullPath, Key: base + ".key", Chain: "none"}
		for _, o := range certs {
			if o.FullPath == base+"-chain.crt" {
				b.Chain = o.FullPath
			}
		}
		if _, err := d.switchTo(ctx, b); err != nil {
			return err
		}
		return d.waitServes(ctx, previous[0])
	}
	return ottr.Errorf(ottr.ENOTFOUND, "BIG-IP %s: the previous certificate (serial %x) is no longer installed", d.c.Address, previous[0].SerialNumber)
}
