package bigip

import (
	"context"
	"crypto/x509"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
)

// Install uploads and installs the certificate under the name of the key
// the device made for it (and the intermediates as <name>-chain.crt),
// points every profile's certKeyChain at them, saves the configuration,
// and checks the virtual server presents the new certificate. Objects this
// driver made earlier are deleted, except the ones just replaced.
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no certificate to install")
	}
	name, err := d.keyFor(ctx, chain[0])
	if err != nil {
		return err
	}
	prev, err := d.profile(ctx, d.c.Profiles[0])
	if err != nil {
		return err
	}
	want := binding{Cert: "/Common/" + name + ".crt", Key: "/Common/" + name + ".key", Chain: "none"}
	if err := d.put(ctx, name+".crt", ottr.EncodeChain(chain[:1])); err != nil {
		return err
	}
	if len(chain) > 1 {
		want.Chain = "/Common/" + name + "-chain.crt"
		if err := d.put(ctx, name+"-chain.crt", ottr.EncodeChain(chain[1:])); err != nil {
			return err
		}
	}
	ottr.Logf(ctx, "installed %s with its chain", want.Cert)
	if err := d.bind(ctx, want); err != nil {
		return err
	}
	if err := d.do(ctx, http.MethodPost, "/mgmt/tm/sys/config", map[string]string{"command": "save"}, nil); err != nil {
		return err
	}
	ottr.Logf(ctx, "configuration saved")
	if err := d.waitServes(ctx, chain[0]); err != nil {
		return err
	}
	d.prune(ctx, want, prev)
	return nil
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

// put uploads a file and installs it as a certificate object.
func (d *Driver) put(ctx context.Context, name string, pemData []byte) error {
	var up struct {
		LocalFilePath string `json:"localFilePath"`
	}
	if err := d.do(ctx, http.MethodPost, "/mgmt/shared/file-transfer/uploads/"+name, upload(pemData), &up); err != nil {
		return err
	}
	if up.LocalFilePath == "" {
		up.LocalFilePath = "/var/config/rest/downloads/" + name
	}
	return d.do(ctx, http.MethodPost, "/mgmt/tm/sys/crypto/cert", map[string]string{"command": "install", "name": name, "from-local-file": up.LocalFilePath}, nil)
}

func (d *Driver) bind(ctx context.Context, b binding) error {
	for _, p := range d.c.Profiles {
		if err := d.do(ctx, http.MethodPatch, "/mgmt/tm/ltm/profile/client-ssl/"+urlName(p), map[string]any{
			"certKeyChain": []map[string]string{{"name": "default", "cert": b.Cert, "key": b.Key, "chain": b.Chain}}}, nil); err != nil {
			return err
		}
		ottr.Logf(ctx, "client-ssl profile %s now uses %s", p, b.Cert)
	}
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

// Restore binds the certificate object holding previous (with the key of
// the same name and its chain) again and saves.
func (d *Driver) Restore(ctx context.Context, previous []*x509.Certificate) error {
	if len(previous) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no previous certificate to restore")
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
		if err := d.bind(ctx, b); err != nil {
			return err
		}
		if err := d.do(ctx, http.MethodPost, "/mgmt/tm/sys/config", map[string]string{"command": "save"}, nil); err != nil {
			return err
		}
		return d.waitServes(ctx, previous[0])
	}
	return ottr.Errorf(ottr.ENOTFOUND, "BIG-IP %s: the previous certificate (serial %x) is no longer installed", d.c.Address, previous[0].SerialNumber)
}
