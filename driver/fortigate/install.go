package fortigate

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
)

// settings are where each thing Bind may name keeps its certificate.
var settings = map[string]struct{ path, attr, what string }{
	BindAdmin:  {"cmdb/system/global", "admin-server-cert", "the administration port"},
	BindSSLVPN: {"cmdb/vpn.ssl/settings", "servercert", "the SSL-VPN portal"},
}

// bound reads the certificate each configured binding names now.
func (d *Driver) bound(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, w := range d.c.Bind {
		s := settings[w]
		res, err := d.call(ctx, "GET", s.path, url.Values{"format": {s.attr}}, nil)
		if err != nil {
			return nil, err
		}
		var obj map[string]any
		if err := json.Unmarshal(res, &obj); err != nil {
			return nil, ottr.Errorf(ottr.EUNAVAILABLE, "FortiOS %s: %s is not an object", d.c.Address, s.path)
		}
		name, _ := obj[s.attr].(string)
		out[w] = name
	}
	return out, nil
}

func (d *Driver) set(ctx context.Context, what, cert string) error {
	s := settings[what]
	_, err := d.call(ctx, "PUT", s.path, nil, map[string]string{s.attr: cert})
	return err
}

// findKey finds the local certificate the chain's leaf belongs to: the one
// holding it already (imported), or the one whose pending request has its
// key. This driver's certificates are looked at first.
func (d *Driver) findKey(ctx context.Context, leaf *x509.Certificate) (name string, imported bool, err error) {
	list, err := d.names(ctx)
	if err != nil {
		return "", false, err
	}
	for _, ours := range []bool{true, false} {
		for _, n := range list {
			if strings.HasPrefix(n.Name, d.c.CertificatePrefix) != ours || n.Source == "factory" {
				continue
			}
			e, err := d.entry(ctx, n.Name)
			if err != nil {
				return "", false, err
			}
			if e == nil {
				continue
			}
			if holds(e, leaf) {
				return e.Name, true, nil
			}
			if strings.TrimSpace(e.CSR) != "" {
				if csr, err := ottr.ParseCSR([]byte(e.CSR)); err == nil && ottr.SamePublicKey(csr.PublicKey, leaf.PublicKey) {
					return e.Name, false, nil
				}
			}
		}
	}
	return "", false, nil
}

// holds reports whether the entry's certificate is c.
func holds(e *localEntry, c *x509.Certificate) bool {
	chain, err := ottr.ParseChain([]byte(e.Certificate))
	return err == nil && len(chain) > 0 && chain[0].Equal(c)
}

// Install imports the chain into the local certificate whose key the
// FortiGate made for it, points the configured bindings at it, and checks
// that the administration port (and the SSL-VPN portal) present it. A
// failure puts the bindings back. Older certificates this driver made are
// deleted afterwards, except the ones it replaced, kept for Restore.
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no certificate to install")
	}
	target, imported, err := d.findKey(ctx, chain[0])
	if err != nil {
		return err
	}
	if target == "" {
		return ottr.Errorf(ottr.EINVALID, "FortiOS %s: no key on the FortiGate matches this certificate; only a certificate for a request the FortiGate made can be installed", d.c.Address)
	}
	previous, err := d.bound(ctx)
	if err != nil {
		return err
	}
	done := true
	for _, w := range d.c.Bind {
		done = done && previous[w] == target
	}
	if imported && done && d.serving(ctx, chain[0]) {
		ottr.Logf(ctx, "the FortiGate already serves %s", target)
		return nil
	}
	if !imported {
		if err := d.importChain(ctx, target, chain); err != nil {
			return err
		}
	}
	if err := d.switchTo(ctx, target, previous, chain[0]); err != nil {
		return err
	}
	var keep []string
	replaced := false
	for _, w := range d.c.Bind {
		keep = append(keep, previous[w])
		replaced = replaced || previous[w] != target
	}
	if replaced {
		// Only the install that replaced a certificate prunes, keeping
		// that one for Restore: a repeated install cannot tell which
		// certificate the rotation replaced.
		d.prune(ctx, append(keep, target))
	}
	return nil
}

// importChain imports the chain (leaf and issuers, PEM) as a certificate
// for a request the FortiGate made: FortiOS stores it in the entry holding
// the request's key. An answer lost after the import was stored is
// recognised by FortiOS's refusal to import it again (-23) and the entry
// then holding it.
func (d *Driver) importChain(ctx context.Context, target string, chain []*x509.Certificate) error {
	body := map[string]string{"type": "local", "scope": "global",
		"file_content": base64.StdEncoding.EncodeToString(ottr.EncodeChain(chain))}
	_, err := d.call(ctx, "POST", "monitor/vpn-certificate/local/import", nil, body)
	if err != nil && fortiosCode(err) == -23 {
		if e, rerr := d.entry(ctx, target); rerr == nil && e != nil && holds(e, chain[0]) {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	ottr.Logf(ctx, "imported the chain into %s", target)
	return nil
}

// switchTo points every configured binding at cert and waits until it is
// served. If a binding is refused or the certificate is not served, the
// bindings changed are put back, so the FortiGate serves what it served.
func (d *Driver) switchTo(ctx context.Context, cert string, previous map[string]string, leaf *x509.Certificate) error {
	var changed []string
	for _, w := range d.c.Bind {
		if previous[w] == cert {
			continue
		}
		if err := d.set(ctx, w, cert); err != nil {
			d.putBack(ctx, previous, changed)
			return err
		}
		changed = append(changed, w)
		ottr.Logf(ctx, "%s (%s) now names %s", settings[w].attr, w, cert)
	}
	if err := d.waitServes(ctx, leaf); err != nil {
		d.putBack(ctx, previous, changed)
		return err
	}
	return nil
}

// putBack sets the bindings in changed to what previous says, with a
// context of its own: the rotation's may be what ended.
func (d *Driver) putBack(ctx context.Context, previous map[string]string, changed []string) {
	if len(changed) == 0 {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.c.RequestTimeout)
	defer cancel()
	for _, w := range changed {
		if err := d.set(rctx, w, previous[w]); err != nil {
			ottr.Logf(ctx, "warn: could not put %s back to %q: %s", settings[w].attr, previous[w], ottr.ErrorMessage(err))
			continue
		}
		ottr.Logf(ctx, "put %s back to %s", settings[w].attr, previous[w])
	}
}

// addresses are where each configured binding is served.
func (d *Driver) addresses(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	if d.binds(BindAdmin) {
		out[BindAdmin] = d.c.Address
	}
	if d.binds(BindSSLVPN) {
		addr, err := d.vpnAddress(ctx)
		if err != nil {
			return nil, err
		}
		out[BindSSLVPN] = addr
	}
	return out, nil
}

// vpnAddress is where the SSL-VPN portal answers: the setting, or the
// administration address's host on vpn.ssl settings' port.
func (d *Driver) vpnAddress(ctx context.Context) (string, error) {
	if d.c.SSLVPNAddress != "" {
		return d.c.SSLVPNAddress, nil
	}
	res, err := d.call(ctx, "GET", "cmdb/vpn.ssl/settings", url.Values{"format": {"port"}}, nil)
	if err != nil {
		return "", err
	}
	var obj struct {
		Port json.Number `json:"port"`
	}
	if err := json.Unmarshal(res, &obj); err != nil {
		return "", ottr.Errorf(ottr.EUNAVAILABLE, "FortiOS %s: vpn.ssl settings has no port", d.c.Address)
	}
	port, err := strconv.Atoi(obj.Port.String())
	if err != nil || port <= 0 || port > 65535 {
		return "", ottr.Errorf(ottr.EUNAVAILABLE, "FortiOS %s: vpn.ssl settings has no port", d.c.Address)
	}
	host, _, _ := net.SplitHostPort(d.c.Address)
	return net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// serving reports whether every binding presents leaf now.
func (d *Driver) serving(ctx context.Context, leaf *x509.Certificate) bool {
	addrs, err := d.addresses(ctx)
	if err != nil {
		return false
	}
	for _, a := range addrs {
		cur, err := d.probe(ctx, a, d.c.Asset.SystemName)
		if err != nil || len(cur) == 0 || !cur[0].Equal(leaf) {
			return false
		}
	}
	return true
}

// waitServes waits until every binding presents leaf: httpsd restarts
// after admin-server-cert changes.
func (d *Driver) waitServes(ctx context.Context, leaf *x509.Certificate) error {
	addrs, err := d.addresses(ctx)
	if err != nil {
		return err
	}
	for _, w := range d.c.Bind {
		addr := addrs[w]
		current := func(ctx context.Context) ([]*x509.Certificate, error) {
			return d.probe(ctx, addr, d.c.Asset.SystemName)
		}
		if err := served.Await(ctx, current, leaf, d.c.ServeTimeout, d.c.ServePoll); err != nil {
			if ctx.Err() != nil {
				return err
			}
			return ottr.Errorf(ottr.EUNAVAILABLE, "FortiOS %s: bound, but on %s (%s) %w", d.c.Address, settings[w].what, addr, err)
		}
		ottr.Logf(ctx, "%s serves serial %x", settings[w].what, leaf.SerialNumber)
	}
	return nil
}

// Current returns the chain the administration port presents (the
// SSL-VPN portal's when only ssl-vpn is bound). It reads, it does not
// trust: verification is the rotation's verify step.
func (d *Driver) Current(ctx context.Context) ([]*x509.Certificate, error) {
	addr := d.c.Address
	if !d.binds(BindAdmin) {
		var err error
		if addr, err = d.vpnAddress(ctx); err != nil {
			return nil, err
		}
	}
	return d.probe(ctx, addr, d.c.Asset.SystemName)
}

// prune deletes the local certificates this driver made (its prefix)
// except keep. FortiOS refuses to delete a certificate anything uses
// (error -23: an SSL inspection profile, a VPN, a binding made since);
// that refusal is logged and the certificate left. Certificates anyone
// else made are never touched; a failure is logged, not returned.
func (d *Driver) prune(ctx context.Context, keep []string) {
	list, err := d.names(ctx)
	if err != nil {
		ottr.Logf(ctx, "warn: listing certificates to prune: %s", ottr.ErrorMessage(err))
		return
	}
	for _, e := range list {
		if !strings.HasPrefix(e.Name, d.c.CertificatePrefix) || e.Source == "factory" || slices.Contains(keep, e.Name) {
			continue
		}
		_, err := d.call(ctx, "DELETE", localTable+"/"+url.PathEscape(e.Name), nil, nil)
		switch {
		case err == nil:
			ottr.Logf(ctx, "deleted old certificate %s", e.Name)
		case fortiosCode(err) == -23:
			ottr.Logf(ctx, "kept old certificate %s: the FortiGate says it is in use", e.Name)
		default:
			ottr.Logf(ctx, "warn: kept old certificate %s: %s", e.Name, ottr.ErrorMessage(err))
		}
	}
}

// Restore points the configured bindings back at the local certificate
// holding previous and waits until it is served; a failure puts the
// bindings back as they were. It finds the certificate on the FortiGate
// (Install keeps the one it replaced), so a driver opened in another
// process restores as well, and it may be repeated.
func (d *Driver) Restore(ctx context.Context, previous []*x509.Certificate) error {
	if len(previous) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no previous certificate to restore")
	}
	list, err := d.names(ctx)
	if err != nil {
		return err
	}
	// This driver's certificates first: the previous one is most often
	// one it made.
	slices.SortStableFunc(list, func(a, b localEntry) int {
		return boolRank(strings.HasPrefix(a.Name, d.c.CertificatePrefix)) - boolRank(strings.HasPrefix(b.Name, d.c.CertificatePrefix))
	})
	for _, n := range list {
		e, err := d.entry(ctx, n.Name)
		if err != nil {
			return err
		}
		if e == nil || !holds(e, previous[0]) {
			continue
		}
		bound, err := d.bound(ctx)
		if err != nil {
			return err
		}
		if err := d.switchTo(ctx, e.Name, bound, previous[0]); err != nil {
			return err
		}
		ottr.Logf(ctx, "restored %s", e.Name)
		return nil
	}
	return ottr.Errorf(ottr.ENOTFOUND, "FortiOS %s: the previous certificate (serial %x) is no longer on the FortiGate", d.c.Address, previous[0].SerialNumber)
}

func boolRank(b bool) int {
	if b {
		return 0
	}
	return 1
}
