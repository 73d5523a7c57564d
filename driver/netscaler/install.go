package netscaler

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"math/big"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
)

// pair is an sslcertkey as GET lists it.
type pair struct {
	Name    string `json:"certkey"`
	Cert    string `json:"cert"`
	Key     string `json:"key"`
	Serial  string `json:"serial"`
	Subject string `json:"subject"`
	Link    string `json:"linkcertkeyname"`
}

func (d *Driver) pairs(ctx context.Context) ([]pair, error) {
	var out struct {
		Pairs []pair `json:"sslcertkey"`
	}
	err := d.do(ctx, http.MethodGet, "sslcertkey", nil, &out)
	return out.Pairs, err
}

// certPath is the absolute path of a pair's cert or key argument.
func certPath(p string) string {
	if strings.HasPrefix(p, "/") {
		return path.Clean(p)
	}
	return path.Join(sslDir, p)
}

// holding finds the pair whose certificate is c (with a key, when
// withKey): listed pairs with c's serial number are read back and
// compared. The appliance refuses a second pair with the same
// certificate, so there is at most one.
func (d *Driver) holding(ctx context.Context, pairs []pair, c *x509.Certificate, withKey bool) (string, error) {
	for _, p := range pairs {
		n, ok := new(big.Int).SetString(p.Serial, 16)
		if !ok || n.Cmp(c.SerialNumber) != 0 || (withKey && p.Key == "") {
			continue
		}
		raw, err := d.readFile(ctx, certPath(p.Cert))
		if err != nil {
			if ottr.ErrorCode(err) == ottr.ENOTFOUND {
				continue
			}
			return "", err
		}
		if have, err := ottr.ParseChain(raw); err == nil && len(have) > 0 && have[0].Equal(c) {
			return p.Name, nil
		}
	}
	return "", nil
}

// keyFor finds the key the appliance made for leaf: the request this
// driver made last, then this driver's other requests on the appliance
// (newest first), whose public key is leaf's, so a resumed rotation in
// another process finds it too.
func (d *Driver) keyFor(ctx context.Context, leaf *x509.Certificate) (string, error) {
	files, err := d.listFiles(ctx)
	if err != nil {
		return "", err
	}
	var candidates []string
	for i := len(files) - 1; i >= 0; i-- {
		if n, ok := strings.CutSuffix(files[i], ".csr"); ok && strings.HasPrefix(n, d.c.Prefix) {
			candidates = append(candidates, n)
		}
	}
	d.mu.Lock()
	if d.pending != "" {
		candidates = append([]string{d.pending}, candidates...)
	}
	d.mu.Unlock()
	for _, n := range candidates {
		csr, err := d.readCSR(ctx, n)
		if err == nil && ottr.SamePublicKey(csr.PublicKey, leaf.PublicKey) {
			return n, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
	}
	return "", ottr.Errorf(ottr.EINVALID, "NetScaler %s: no key on the appliance matches this certificate; only a certificate for a request it made can be installed", d.c.Address)
}

// Install puts the chain in service on every configured virtual server:
// the certificate is uploaded and paired with the key the appliance made
// for it, each issuer is installed (or an installed pair holding it
// reused) and linked, the pair is bound in place of the one each virtual
// server had, the configuration is saved, and the first virtual server
// must present the certificate. Pairs this driver made earlier are then
// deleted, except the one just replaced.
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no certificate to install")
	}
	pairs, err := d.pairs(ctx)
	if err != nil {
		return err
	}
	name, err := d.holding(ctx, pairs, chain[0], true)
	if err != nil {
		return err
	}
	fresh := name == ""
	if fresh {
		if name, err = d.keyFor(ctx, chain[0]); err != nil {
			return err
		}
	}
	prev, err := d.installAndSwitch(ctx, name, fresh, chain, pairs)
	if err != nil {
		return err
	}
	if err := d.waitServes(ctx, chain[0]); err != nil {
		return err
	}
	if strings.HasPrefix(name, d.c.Prefix) {
		// The request has served its purpose once its pair exists.
		_ = d.deleteFile(ctx, name+".csr")
	}
	if prev != name {
		// Only the install that replaced prev prunes, keeping it for
		// Restore: a repeated install cannot tell which pair it replaced.
		d.prune(ctx, name, prev, chain[0])
	}
	return nil
}

// installAndSwitch makes the pair (when fresh) and its chain, then binds
// it. If anything fails, what this call made is deleted again, so nothing
// half-done waits in the running configuration for someone else's save;
// the key stays, so a retry installs the same certificate.
func (d *Driver) installAndSwitch(ctx context.Context, name string, fresh bool, chain []*x509.Certificate, pairs []pair) (prev string, err error) {
	var madePairs, madeFiles []string
	defer func() {
		if err == nil {
			return
		}
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.c.RequestTimeout)
		defer cancel()
		kept := map[string]bool{}
		for _, p := range madePairs {
			if d.do(rctx, http.MethodDelete, "sslcertkey/"+url.PathEscape(p), nil, nil) != nil {
				kept[p+".crt"] = true // still a pair (bound, if the rollback failed): its file stays with it
			}
		}
		for _, f := range madeFiles {
			if !kept[f] {
				_ = d.deleteFile(rctx, f)
			}
		}
	}()
	if fresh {
		if err := d.writeFile(ctx, name+".crt", ottr.EncodeChain(chain[:1])); err != nil {
			return "", err
		}
		madeFiles = append(madeFiles, name+".crt")
		if err := d.do(ctx, http.MethodPost, "sslcertkey", map[string]any{"sslcertkey": map[string]string{
			"certkey": name, "cert": name + ".crt", "key": name + ".key", "inform": "PEM"}}, nil); err != nil {
			return "", err
		}
		madePairs = append(madePairs, name)
		pairs = append(pairs, pair{Name: name, Cert: name + ".crt", Key: name + ".key"})
		ottr.Logf(ctx, "installed %s.crt as certificate key pair %s", name, name)
	}
	// Each certificate is linked to its issuer's pair, unless it already
	// links somewhere (an administrator's choice is left as it is).
	from := name
	for _, c := range chain[1:] {
		ca, made, err := d.issuer(ctx, pairs, c)
		if err != nil {
			return "", err
		}
		if made {
			madePairs = append(madePairs, ca)
			madeFiles = append(madeFiles, ca+".crt")
			pairs = append(pairs, pair{Name: ca, Cert: ca + ".crt"})
		}
		if linkOf(pairs, from) == "" {
			if err := d.do(ctx, http.MethodPost, "sslcertkey?action=link", map[string]any{"sslcertkey": map[string]string{
				"certkey": from, "linkcertkeyname": ca}}, nil); err != nil {
				return "", err
			}
			setLink(pairs, from, ca)
		} else if linkOf(pairs, from) != ca {
			break
		}
		from = ca
	}
	// madePairs is in the order they can be deleted in: the leaf, then
	// each issuer after the one linking to it.
	return d.switchTo(ctx, name)
}

func linkOf(pairs []pair, name string) string {
	for _, p := range pairs {
		if p.Name == name {
			return p.Link
		}
	}
	return ""
}

func setLink(pairs []pair, name, link string) {
	for i := range pairs {
		if pairs[i].Name == name {
			pairs[i].Link = link
		}
	}
}

// issuer returns the pair holding issuer certificate c: an installed one
// (whoever made it), or a new one named <prefix>ca-<sha-256 prefix>.
func (d *Driver) issuer(ctx context.Context, pairs []pair, c *x509.Certificate) (string, bool, error) {
	have, err := d.holding(ctx, pairs, c, false)
	if err != nil || have != "" {
		return have, false, err
	}
	sum := sha256.Sum256(c.Raw)
	name := d.c.Prefix + "ca-" + hex.EncodeToString(sum[:6])
	if err := d.writeFile(ctx, name+".crt", ottr.EncodeChain([]*x509.Certificate{c})); err != nil {
		return "", false, err
	}
	if err := d.do(ctx, http.MethodPost, "sslcertkey", map[string]any{"sslcertkey": map[string]string{
		"certkey": name, "cert": name + ".crt", "inform": "PEM"}}, nil); err != nil {
		_ = d.deleteFile(context.WithoutCancel(ctx), name+".crt")
		return "", false, err
	}
	ottr.Logf(ctx, "installed issuer %s as %s", c.Subject.CommonName, name)
	return name, true, nil
}

// boundTo returns the server certificate pair bound to a virtual server.
func (d *Driver) boundTo(ctx context.Context, vs string) ([]string, error) {
	var out struct {
		Bindings []struct {
			CertKey string `json:"certkeyname"`
			CA      bool   `json:"ca"`
			SNI     bool   `json:"snicert"`
		} `json:"sslvserver_sslcertkey_binding"`
	}
	if err := d.do(ctx, http.MethodGet, "sslvserver_sslcertkey_binding/"+url.PathEscape(vs), nil, &out); err != nil {
		return nil, err
	}
	var names []string
	for _, b := range out.Bindings {
		if !b.CA && !b.SNI {
			names = append(names, b.CertKey)
		}
	}
	return names, nil
}

// bind makes name the server certificate of vs. Binding replaces the
// server certificate a virtual server without SNI has; one the appliance
// kept beside it is unbound.
func (d *Driver) bind(ctx context.Context, vs, name string) error {
	if err := d.do(ctx, http.MethodPut, "sslvserver_sslcertkey_binding", map[string]any{"sslvserver_sslcertkey_binding": map[string]string{
		"vservername": vs, "certkeyname": name}}, nil); err != nil {
		return err
	}
	now, err := d.boundTo(ctx, vs)
	if err != nil {
		return err
	}
	for _, other := range now {
		if other != name {
			if err := d.unbind(ctx, vs, other); err != nil {
				return err
			}
		}
	}
	ottr.Logf(ctx, "SSL virtual server %s now uses %s", vs, name)
	return nil
}

func (d *Driver) unbind(ctx context.Context, vs, name string) error {
	return d.do(ctx, http.MethodDelete, "sslvserver_sslcertkey_binding/"+url.PathEscape(vs)+"?"+args("certkeyname", name), nil, nil)
}

// switchTo binds name to every virtual server and saves the
// configuration, and returns what the first one had. If a binding or the
// save fails, the virtual servers already changed get back what they had,
// so the running configuration is the saved one again and serves what it
// served.
func (d *Driver) switchTo(ctx context.Context, name string) (string, error) {
	before := make([]string, len(d.c.VServers))
	for i, vs := range d.c.VServers {
		bound, err := d.boundTo(ctx, vs)
		if err != nil {
			return "", err
		}
		if len(bound) > 0 {
			before[i] = bound[0]
		}
	}
	var err error
	var changed []int
	for i, vs := range d.c.VServers {
		if before[i] == name {
			continue
		}
		if err = d.bind(ctx, vs, name); err != nil {
			break
		}
		changed = append(changed, i)
	}
	if err == nil {
		if err = d.save(ctx); err == nil {
			return before[0], nil
		}
	}
	// The appliance may have gone quiet: put back with a context of its own.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.c.RequestTimeout)
	defer cancel()
	for _, i := range changed {
		vs := d.c.VServers[i]
		var rerr error
		if before[i] != "" {
			rerr = d.bind(rctx, vs, before[i])
		} else {
			rerr = d.unbind(rctx, vs, name)
		}
		if rerr != nil {
			ottr.Logf(ctx, "warn: could not give SSL virtual server %s back %s: %s", vs, before[i], ottr.ErrorMessage(rerr))
		}
	}
	return "", err
}

func (d *Driver) save(ctx context.Context) error {
	if err := d.do(ctx, http.MethodPost, "nsconfig?action=save", map[string]any{"nsconfig": map[string]any{}}, nil); err != nil {
		return err
	}
	ottr.Logf(ctx, "configuration saved")
	return nil
}

func (d *Driver) waitServes(ctx context.Context, leaf *x509.Certificate) error {
	if err := served.Await(ctx, d.Current, leaf, d.c.ServeTimeout, 200*time.Millisecond); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return ottr.Errorf(ottr.EUNAVAILABLE, "NetScaler %s: saved, but on %s (%s) %w", d.c.Address, d.c.Serve, d.c.VServers[0], err)
	}
	ottr.Logf(ctx, "%s serves serial %x", d.c.Serve, leaf.SerialNumber)
	return nil
}

// Restore binds the pair holding previous to every virtual server again
// and saves; a failure gives the virtual servers back what they had. It
// finds the pair on the appliance, so a driver opened in another process
// restores too, and it may be repeated. Install keeps the pair it
// replaced, so it is there.
func (d *Driver) Restore(ctx context.Context, previous []*x509.Certificate) error {
	if len(previous) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no previous certificate to restore")
	}
	pairs, err := d.pairs(ctx)
	if err != nil {
		return err
	}
	name, err := d.holding(ctx, pairs, previous[0], true)
	if err != nil {
		return err
	}
	if name == "" {
		return ottr.Errorf(ottr.ENOTFOUND, "NetScaler %s: the previous certificate (serial %x) is no longer installed", d.c.Address, previous[0].SerialNumber)
	}
	if _, err := d.switchTo(ctx, name); err != nil {
		return err
	}
	return d.waitServes(ctx, previous[0])
}
