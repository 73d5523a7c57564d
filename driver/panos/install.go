package panos

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"encoding/xml"
	"net/url"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
)

// Install imports the chain onto the key the firewall made for it, points
// the profile (and the management interface) at it, commits, and checks
// the management interface serves it. Older certificates this driver made
// are deleted afterwards, except the one it replaced, kept for Restore.
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no certificate to install")
	}
	entries, err := d.certs(ctx)
	if err != nil {
		return err
	}
	previous, err := d.bound(ctx)
	if err != nil {
		return err
	}
	target := ""
	for _, e := range entries {
		if e.PublicKey != "" && sameCert(e.PublicKey, chain[0]) {
			target = e.Name // already imported (a retried or resumed rotation)
			break
		}
		// The key the firewall made for this certificate: by its request,
		// or by an earlier import onto the same key (a retry).
		if target == "" && e.PrivateKey != "" && (pemKeyMatches(e.CSR, chain[0].PublicKey) || pemKeyMatches(e.PublicKey, chain[0].PublicKey)) {
			target = e.Name
		}
	}
	if target == "" {
		return ottr.Errorf(ottr.EINVALID, "PAN-OS %s: no key on the firewall matches this certificate; only a certificate for a request the firewall made can be installed", d.c.Address)
	}
	if cur, err := d.Current(ctx); err == nil && len(cur) > 0 && cur[0].Equal(chain[0]) && previous == target {
		ottr.Logf(ctx, "the firewall already serves %s", target)
		return nil
	}
	if _, _, err := d.postFile(ctx, target, ottr.EncodeChain(chain)); err != nil {
		return err
	}
	ottr.Logf(ctx, "imported the chain into %s", target)
	if err := d.switchTo(ctx, target); err != nil {
		return err
	}
	if err := d.waitServes(ctx, chain[0]); err != nil {
		return err
	}
	if previous != target {
		// Only the install that replaced previous prunes, keeping it for
		// Restore: a repeated install (previous already target) cannot
		// tell which certificate the rotation replaced.
		d.prune(ctx, target, previous)
	}
	return nil
}

// switchTo binds cert (profile, management interface) and commits. If
// binding or the commit fails, the candidate configuration's profile and
// management binding are put back as they were, so no later commit — by
// Ottr or another administrator — pushes the half-done change, and the
// running configuration keeps serving what it served.
func (d *Driver) switchTo(ctx context.Context, cert string) error {
	prevCert, err := d.bound(ctx)
	if err != nil {
		return err
	}
	prevMgmt, err := d.mgmtProfile(ctx)
	if err != nil {
		return err
	}
	err = d.bind(ctx, cert)
	if err == nil {
		err = d.commit(ctx)
	}
	if err == nil {
		return nil
	}
	// The device may be unreachable now: put back with a context of its
	// own, and say so if that fails too.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.c.RequestTimeout)
	defer cancel()
	if rerr := d.unbind(rctx, prevCert, prevMgmt); rerr != nil {
		ottr.Logf(ctx, "warn: could not put the candidate configuration back (profile %s -> %q, management -> %q): %s", d.c.Profile, prevCert, prevMgmt, ottr.ErrorMessage(rerr))
	} else {
		ottr.Logf(ctx, "put the candidate configuration back: profile %s names %q again", d.c.Profile, prevCert)
	}
	return err
}

// mgmtProfile is the profile the candidate configuration gives the
// management interface ("" if none).
func (d *Driver) mgmtProfile(ctx context.Context) (string, error) {
	r, err := d.call(ctx, url.Values{"type": {"config"}, "action": {"get"}, "xpath": {systemPath + "/ssl-tls-service-profile"}})
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(r.Result.Profile), nil
}

// unbind puts back the profile's certificate and the management
// interface's profile as they were before bind.
func (d *Driver) unbind(ctx context.Context, cert, mgmt string) error {
	if cert != "" {
		if err := d.setProfile(ctx, cert); err != nil {
			return err
		}
	}
	if d.c.SkipManagement {
		return nil
	}
	if mgmt == "" {
		_, err := d.call(ctx, url.Values{"type": {"config"}, "action": {"delete"}, "xpath": {systemPath + "/ssl-tls-service-profile"}})
		return err
	}
	_, err := d.call(ctx, url.Values{"type": {"config"}, "action": {"set"}, "xpath": {systemPath},
		"element": {"<ssl-tls-service-profile>" + x(mgmt) + "</ssl-tls-service-profile>"}})
	return err
}

func (d *Driver) postFile(ctx context.Context, name string, file []byte) (*response, []byte, error) {
	if err := d.login(ctx); err != nil {
		return nil, nil, err
	}
	return d.post(ctx, url.Values{"type": {"import"}, "category": {"certificate"}, "certificate-name": {name}, "format": {"pem"}}, file)
}

// setProfile points the profile at cert. Only a profile it creates gets
// Ottr's TLS 1.2 floor: set merges, so sending protocol settings to an
// existing profile would overwrite what its administrator chose (a
// profile tightened to TLS 1.3 would drop back to 1.2 at every rotation).
func (d *Driver) setProfile(ctx context.Context, cert string) error {
	xpath := profilePath + "/entry[@name='" + d.c.Profile + "']"
	r, err := d.call(ctx, url.Values{"type": {"config"}, "action": {"get"}, "xpath": {xpath}})
	if err != nil {
		return err
	}
	element := "<certificate>" + x(cert) + "</certificate>"
	if len(r.Result.Entry) == 0 {
		element = "<protocol-settings><min-version>tls1-2</min-version><max-version>max</max-version></protocol-settings>" + element
	}
	_, err = d.call(ctx, url.Values{"type": {"config"}, "action": {"set"}, "xpath": {xpath}, "element": {element}})
	return err
}

// bind points the profile at cert and, unless told not to, the
// management interface at the profile.
func (d *Driver) bind(ctx context.Context, cert string) error {
	if err := d.setProfile(ctx, cert); err != nil {
		return err
	}
	if !d.c.SkipManagement {
		if _, err := d.call(ctx, url.Values{"type": {"config"}, "action": {"set"}, "xpath": {systemPath},
			"element": {"<ssl-tls-service-profile>" + x(d.c.Profile) + "</ssl-tls-service-profile>"}}); err != nil {
			return err
		}
	}
	ottr.Logf(ctx, "profile %s now names %s", d.c.Profile, cert)
	return nil
}

// commit commits the candidate configuration (this administrator's
// changes when logged in by name) and waits for the job to finish.
func (d *Driver) commit(ctx context.Context) error {
	cmd := "<commit></commit>"
	if u := d.c.Credential.Get("username"); !u.IsZero() {
		cmd = "<commit><partial><admin><member>" + x(u.Reveal()) + "</member></admin></partial></commit>"
	}
	r, err := d.call(ctx, url.Values{"type": {"commit"}, "cmd": {cmd}})
	if err != nil {
		return err
	}
	id := strings.TrimSpace(r.Result.Job.ID)
	if id == "" {
		ottr.Logf(ctx, "commit: %s", r.text()) // "There are no changes to commit."
		return nil
	}
	ottr.Logf(ctx, "commit job %s enqueued", id)
	deadline := time.Now().Add(d.c.CommitTimeout)
	for {
		j, err := d.call(ctx, url.Values{"type": {"op"}, "cmd": {"<show><jobs><id>" + id + "</id></jobs></show>"}})
		if err != nil {
			return err
		}
		if j.Result.Job.Status == "FIN" {
			if j.Result.Job.Result != "OK" {
				return ottr.Errorf(ottr.EUNAVAILABLE, "PAN-OS %s: commit job %s failed: %s", d.c.Address, id, j.Result.Job.Details.String())
			}
			ottr.Logf(ctx, "commit job %s finished: %s", id, j.Result.Job.Details.String())
			return nil
		}
		if time.Now().After(deadline) {
			return ottr.Errorf(ottr.EUNAVAILABLE, "PAN-OS %s: commit job %s still %s after %s", d.c.Address, id, j.Result.Job.Status, d.c.CommitTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d.c.CommitPoll):
		}
	}
}

// waitServes waits until the management interface presents leaf: its
// web server restarts after a commit.
func (d *Driver) waitServes(ctx context.Context, leaf *x509.Certificate) error {
	if err := served.Await(ctx, d.Current, leaf, 2*time.Minute, d.c.CommitPoll); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return ottr.Errorf(ottr.EUNAVAILABLE, "PAN-OS %s: committed, but on the management interface %w", d.c.Address, err)
	}
	ottr.Logf(ctx, "the management interface serves serial %x", leaf.SerialNumber)
	return nil
}

// ours reports whether a certificate is one prune may delete: made by
// Ottr (otter_panos_…) or by this driver, under either naming.
func (d *Driver) ours(name string) bool {
	return strings.HasPrefix(name, ottrPrefix) || strings.HasPrefix(name, ownPrefix) ||
		(d.c.CertificatePrefix != "" && strings.HasPrefix(name, d.c.CertificatePrefix))
}

// referenced lists the certificates the candidate's SSL/TLS service
// profiles name: an administrator may have pointed another profile (one a
// GlobalProtect portal uses, say) at a certificate Ottr made.
func (d *Driver) referenced(ctx context.Context) (map[string]bool, error) {
	if err := d.login(ctx); err != nil {
		return nil, err
	}
	_, raw, err := d.post(ctx, url.Values{"type": {"config"}, "action": {"get"}, "xpath": {profilePath}}, nil)
	if err != nil {
		return nil, err
	}
	var r struct {
		Profiles []entry `xml:"result>ssl-tls-service-profile>entry"`
	}
	if err := xml.Unmarshal(raw, &r); err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "PAN-OS %s: reading the SSL/TLS service profiles: %w", d.c.Address, err)
	}
	refs := map[string]bool{}
	for _, p := range r.Profiles {
		refs[strings.TrimSpace(p.Certificate)] = true
	}
	return refs, nil
}

// prune deletes certificates Ottr or this driver made, except keep (just
// installed), previous (for Restore) and any a profile still names, and
// commits. The firewall itself refuses to delete a certificate something
// else refers to (a GlobalProtect portal, a decryption rule); that refusal
// is logged and the certificate left. Certificates made by anyone else are
// never touched; a failure is logged, not returned.
func (d *Driver) prune(ctx context.Context, keep, previous string) {
	entries, err := d.certs(ctx)
	if err != nil {
		ottr.Logf(ctx, "warn: listing certificates to prune: %s", ottr.ErrorMessage(err))
		return
	}
	refs, err := d.referenced(ctx)
	if err != nil {
		ottr.Logf(ctx, "warn: listing the profiles' certificates, nothing pruned: %s", ottr.ErrorMessage(err))
		return
	}
	deleted := 0
	for _, e := range entries {
		if !d.ours(e.Name) || e.Name == keep || e.Name == previous {
			continue
		}
		if refs[e.Name] {
			ottr.Logf(ctx, "kept old certificate %s: an SSL/TLS service profile still names it", e.Name)
			continue
		}
		if _, err := d.call(ctx, url.Values{"type": {"config"}, "action": {"delete"}, "xpath": {certEntry(e.Name)}}); err != nil {
			ottr.Logf(ctx, "warn: kept old certificate %s: %s", e.Name, ottr.ErrorMessage(err))
			continue
		}
		deleted++
		ottr.Logf(ctx, "deleted old certificate %s", e.Name)
	}
	if deleted > 0 {
		if err := d.commit(ctx); err != nil {
			ottr.Logf(ctx, "warn: committing the deletions: %s", ottr.ErrorMessage(err))
		}
	}
}

// Restore points the profile (and the management interface) back at the
// certificate entry holding previous and commits; a failure puts the
// candidate configuration back as it was. It finds the entry on the
// firewall, so a driver opened in another process restores as well, and
// a repeated Restore commits nothing new. Install keeps the entry it
// replaced, so it is there.
func (d *Driver) Restore(ctx context.Context, previous []*x509.Certificate) error {
	if len(previous) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no previous certificate to restore")
	}
	entries, err := d.certs(ctx)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.PublicKey != "" && e.PrivateKey != "" && sameCert(e.PublicKey, previous[0]) {
			if err := d.switchTo(ctx, e.Name); err != nil {
				return err
			}
			return d.waitServes(ctx, previous[0])
		}
	}
	return ottr.Errorf(ottr.ENOTFOUND, "PAN-OS %s: the previous certificate (serial %x) is no longer on the firewall with its key", d.c.Address, previous[0].SerialNumber)
}

func pemKeyMatches(pemText string, pub any) bool {
	block, _ := pem.Decode([]byte(pemText))
	if block == nil {
		return false
	}
	var key any
	switch block.Type {
	case "CERTIFICATE":
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return false
		}
		key = c.PublicKey
	case "CERTIFICATE REQUEST":
		c, err := x509.ParseCertificateRequest(block.Bytes)
		if err != nil {
			return false
		}
		key = c.PublicKey
	default:
		return false
	}
	return ottr.SamePublicKey(key, pub)
}

func sameCert(pemText string, c *x509.Certificate) bool {
	block, _ := pem.Decode([]byte(pemText))
	return block != nil && bytes.Equal(block.Bytes, c.Raw)
}
