package junos

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
)

// CSR has the device make a key pair and a request with the subject
// fields. Junos puts one domain-name in a request, so an asset with more
// names is refused.
func (d *Driver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	if d.c.KeyOffDevice {
		return d.offDeviceCSR(ctx, req)
	}
	if req.Subject.Email != "" {
		// Junos's subject string has no email attribute; its email option
		// puts the address in the subject alternative names, which the CSR
		// policy and ACME CAs refuse.
		return nil, ottr.Errorf(ottr.EINVALID, "Junos %s cannot put the subject email %s in the request it makes (only as an alternative name, which CAs refuse): "+
			"set key_off_device in its junos settings to make the request in Ottr, or drop the email from the subject", d.c.Address, req.Subject.Email)
	}
	dn, err := subjectDN(req)
	if err != nil {
		return nil, err
	}
	if extra := req.OtherNames(); len(extra) > 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "Junos %s can put one domain name in its request (%s), and this asset also needs %s: "+
			"set key_off_device in its junos settings to make the key in Ottr and put it on the device with the certificate, or drop the names",
			d.c.Address, req.CommonName, strings.Join(extra, ", "))
	}
	if !quoteSafe.MatchString(req.CommonName) {
		return nil, ottr.Errorf(ottr.EINVALID, "common name %q cannot go into a Junos command", req.CommonName)
	}
	typ, size := "ecdsa", "256"
	switch req.KeyType {
	case "", "p256":
	case "p384":
		size = "384"
	case "rsa2048", "rsa3072", "rsa4096":
		typ, size = "rsa", strings.TrimPrefix(req.KeyType, "rsa")
	default:
		return nil, ottr.Errorf(ottr.EINVALID, "Junos cannot make a %q key", req.KeyType)
	}
	id := newID()
	var csr *x509.CertificateRequest
	err = d.with(ctx, func(s *session) error {
		s.cleanTmp(ctx)
		out, err := s.command(fmt.Sprintf("request security pki generate-key-pair certificate-id %s size %s type %s", id, size, typ))
		if err != nil {
			return err
		}
		ottr.Logf(ctx, "Junos: %s", firstLine(out))
		out, err = s.command(fmt.Sprintf(`request security pki generate-certificate-request certificate-id %s subject "%s" domain-name %s digest sha-256`, id, dn, req.CommonName))
		if err != nil {
			return err
		}
		if csr, err = ottr.ParseCSR([]byte(out)); err != nil {
			return ottr.Errorf(ottr.EUNAVAILABLE, "Junos %s: the request printed no certificate request: %w", d.c.Address, err)
		}
		if bad := subjectMissing(req, csr); len(bad) > 0 {
			return ottr.Errorf(ottr.EINVALID, "Junos %s: the request the device made leaves out %s; nothing was ordered", d.c.Address, strings.Join(bad, "; "))
		}
		return nil
	})
	return csr, err
}

// dnValue is what a subject field may hold inside the quoted subject
// string: Junos splits it at commas and its CLI at quotes.
var dnValue = regexp.MustCompile(`^[A-Za-z0-9 .&'()/:_+@-]+$`)

// subjectDN is the subject string of generate-certificate-request:
// CN=…,OU=…,O=…,L=…,ST=…,C=… with the fields the request asks for.
func subjectDN(req ottr.CSRRequest) (string, error) {
	parts := []string{"CN=" + req.CommonName}
	for _, f := range []struct{ attr, field, v string }{{"OU", "subject.organizational_unit", req.Subject.OrganizationalUnit},
		{"O", "subject.organization", req.Subject.Organization}, {"L", "subject.locality", req.Subject.Locality},
		{"ST", "subject.state", req.Subject.State}, {"C", "subject.country", req.Subject.Country}} {
		if f.v == "" {
			continue
		}
		if !dnValue.MatchString(f.v) || (f.attr == "C" && len(f.v) != 2) {
			return "", ottr.Invalid("Junos request", ottr.Problem{Field: f.field,
				Message: fmt.Sprintf("%q cannot go into a Junos subject string (letters, digits, spaces and .&'()/:_+@- only; a country is two letters)", f.v)})
		}
		parts = append(parts, f.attr+"="+f.v)
	}
	return strings.Join(parts, ","), nil
}

// newID names a key pair this driver makes: ottr-<time>-<random>.
func newID() string {
	suffix := make([]byte, 2)
	_, _ = rand.Read(suffix)
	return prefix + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(suffix)
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

func serialOf(c *x509.Certificate) string { return strings.TrimLeft(c.SerialNumber.Text(16), "0") }

// loaded maps certificate ids with a loaded certificate to their serials.
func (s *session) loaded() (map[string]string, error) {
	out, err := s.command("show security pki local-certificate detail")
	if err != nil {
		return nil, err
	}
	ids := map[string]string{}
	blocks := certID.FindAllStringSubmatchIndex(out, -1)
	for i, b := range blocks {
		end := len(out)
		if i+1 < len(blocks) {
			end = blocks[i+1][0]
		}
		id := out[b[2]:b[3]]
		if m := serialRow.FindStringSubmatch(out[b[0]:end]); m != nil {
			ids[id] = strings.ToLower(strings.TrimLeft(m[1], "0"))
		}
	}
	return ids, nil
}

func (s *session) bound() (string, error) {
	out, err := s.command("show configuration system services web-management | display set")
	if err != nil {
		return "", err
	}
	if m := webLine.FindStringSubmatch(out); m != nil {
		return m[1], nil
	}
	return "", nil
}

// Install uploads the chain, loads the intermediates into a CA profile
// and the leaf onto the key pair the device made, points J-Web at it,
// commits, and waits until J-Web serves it; older ottr- certificates are
// cleared, except the one replaced.
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no certificate to install")
	}
	var id, previous string
	err := d.with(ctx, func(s *session) error {
		s.cleanTmp(ctx)
		ids, err := s.loaded()
		if err != nil {
			return err
		}
		if previous, err = s.bound(); err != nil {
			return err
		}
		for i, serial := range ids {
			if serial == serialOf(chain[0]) {
				id = i // already loaded: a retried or resumed rotation
			}
		}
		if id == "" {
			if id, err = d.load(ctx, s, chain); err != nil {
				return err
			}
		}
		if previous != id {
			if err := s.configure("set system services web-management https pki-local-certificate " + id); err != nil {
				return err
			}
			ottr.Logf(ctx, "J-Web now uses %s (committed)", id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := d.waitServes(ctx, chain[0]); err != nil {
		return err
	}
	if previous != id {
		// Only the install that replaced previous prunes, keeping it for
		// Restore: a repeated install (previous already id) cannot tell
		// which certificate the rotation replaced.
		d.prune(ctx, id, previous)
	}
	return nil
}

// cleanTmp deletes the files an interrupted run of this driver left in
// /var/tmp — a certificate, its chain, a key made off the device: a run
// whose session dropped could not delete them. Failures are logged.
func (s *session) cleanTmp(ctx context.Context) {
	out, err := s.command("file list /var/tmp/")
	if err != nil {
		ottr.Logf(ctx, "warn: listing /var/tmp: %s", ottr.ErrorMessage(err))
		return
	}
	for _, line := range strings.Split(out, "\n") {
		name := strings.TrimSpace(line)
		if !strings.HasPrefix(name, prefix) || !quoteSafe.MatchString(name) {
			continue
		}
		if _, err := s.command("file delete /var/tmp/" + name); err != nil {
			ottr.Logf(ctx, "warn: deleting /var/tmp/%s: %s", name, ottr.ErrorMessage(err))
			continue
		}
		ottr.Logf(ctx, "deleted /var/tmp/%s, left by an interrupted run", name)
	}
}

// load puts the files on the device and loads them: the intermediates
// into their own CA profile, the leaf onto the matching key pair.
func (d *Driver) load(ctx context.Context, s *session, chain []*x509.Certificate) (string, error) {
	ids, err := s.loaded()
	if err != nil {
		return "", err
	}
	out, err := s.command("show security pki key-pair")
	if err != nil {
		return "", err
	}
	d.keyMu.Lock()
	offKey, offID := d.offKey, d.offID
	d.keyMu.Unlock()
	if offKey != nil && ottr.SamePublicKey(offKey.Public(), chain[0].PublicKey) {
		return d.loadWithKey(ctx, s, offID, offKey, chain)
	}
	// Candidates: key pairs this driver made whose certificate is not
	// loaded yet, newest first; the device refuses a certificate for
	// another key, so the right one is found even after a restart.
	var cands []string
	for _, m := range certID.FindAllStringSubmatch(out, -1) {
		if _, done := ids[m[1]]; strings.HasPrefix(m[1], prefix) && !done {
			cands = append(cands, m[1])
		}
	}
	slices.Sort(cands)
	slices.Reverse(cands)
	if len(cands) == 0 {
		return "", ottr.Errorf(ottr.EINVALID, "Junos %s: no key pair made by Ottr is waiting for a certificate; only a certificate for a request the device made can be installed", d.c.Address)
	}
	leafFile := "/var/tmp/ottr-leaf.pem"
	if err := s.putFile(leafFile, ottr.EncodeChain(chain[:1])); err != nil {
		return "", err
	}
	defer s.command("file delete " + leafFile) //nolint:errcheck // best effort; /var/tmp is cleaned at reboot
	for _, id := range cands {
		if err := d.loadCA(s, id, chain); err != nil {
			return "", err
		}
		if _, err := s.command(fmt.Sprintf("request security pki local-certificate load certificate-id %s filename %s", id, leafFile)); err != nil {
			// Junos refuses a certificate for another key pair with an
			// rpc-error: try the next candidate.
			if strings.Contains(err.Error(), "does not match") {
				continue
			}
			return "", err
		}
		ottr.Logf(ctx, "Junos: loaded the certificate onto key pair %s", id)
		return id, nil
	}
	return "", ottr.Errorf(ottr.EINVALID, "Junos %s: no key pair on the device matches this certificate", d.c.Address)
}

func (d *Driver) waitServes(ctx context.Context, leaf *x509.Certificate) error {
	if err := served.Await(ctx, d.Current, leaf, 2*time.Minute, 200*time.Millisecond); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return ottr.Errorf(ottr.EUNAVAILABLE, "Junos %s: committed, but on J-Web (%s) %w", d.c.Address, d.c.Serve, err)
	}
	ottr.Logf(ctx, "J-Web serves serial %x", leaf.SerialNumber)
	return nil
}

// prune clears certificates and key pairs this driver made, except keep
// and previous, and their CA profiles. Failures are logged.
func (d *Driver) prune(ctx context.Context, keep, previous string) {
	err := d.with(ctx, func(s *session) error {
		ids, err := s.loaded()
		if err != nil {
			return err
		}
		var lines []string
		for id := range ids {
			if !strings.HasPrefix(id, prefix) || id == keep || id == previous {
				continue
			}
			if _, err := s.command("clear security pki local-certificate certificate-id " + id); err != nil {
				return err
			}
			if _, err := s.command("clear security pki key-pair certificate-id " + id); err != nil {
				return err
			}
			lines = append(lines, "delete security pki ca-profile "+id+"-ca ca-identity "+id+"-ca")
			ottr.Logf(ctx, "cleared old certificate %s", id)
		}
		if len(lines) > 0 {
			return s.configure(lines...)
		}
		return nil
	})
	if err != nil {
		ottr.Logf(ctx, "warn: clearing old certificates: %s", ottr.ErrorMessage(err))
	}
}

// Restore points J-Web back at the certificate holding previous and
// commits (a failed commit changes nothing: the candidate's changes go
// with the lock). It finds the certificate on the device by its serial,
// so a driver opened in another process restores as well, and it may be
// repeated. Install keeps the certificate it replaced, so it is there.
func (d *Driver) Restore(ctx context.Context, previous []*x509.Certificate) error {
	if len(previous) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no previous certificate to restore")
	}
	err := d.with(ctx, func(s *session) error {
		ids, err := s.loaded()
		if err != nil {
			return err
		}
		for id, serial := range ids {
			if serial == serialOf(previous[0]) {
				return s.configure("set system services web-management https pki-local-certificate " + id)
			}
		}
		return ottr.Errorf(ottr.ENOTFOUND, "Junos %s: the previous certificate (serial %x) is no longer loaded", d.c.Address, previous[0].SerialNumber)
	})
	if err != nil {
		return err
	}
	return d.waitServes(ctx, previous[0])
}

// offDeviceCSR makes the key and a CSR with every name here
// (key_off_device), after checking the device answers.
func (d *Driver) offDeviceCSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	if err := d.with(ctx, func(s *session) error {
		s.cleanTmp(ctx)
		_, err := s.command("show security pki local-certificate detail")
		return err
	}); err != nil {
		return nil, err
	}
	key, csr, err := ottr.MakeCSR(req)
	if err != nil {
		return nil, err
	}
	d.keyMu.Lock()
	d.offKey, d.offID = key, newID()
	d.keyMu.Unlock()
	ottr.Logf(ctx, "made the key and a request for %s in Ottr (key_off_device)", strings.Join(req.Names(), ", "))
	return csr, nil
}

// loadWithKey puts a key made here and its certificate on the device,
// loads them as id, and deletes the key file.
func (d *Driver) loadWithKey(ctx context.Context, s *session, id string, key crypto.Signer, chain []*x509.Certificate) (string, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", err
	}
	keyFile, leafFile := "/var/tmp/"+id+".key", "/var/tmp/"+id+".pem"
	defer s.command("file delete " + keyFile) //nolint:errcheck // also attempted below; /var/tmp is cleaned at reboot
	if err := s.putFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})); err != nil {
		return "", err
	}
	if err := s.putFile(leafFile, ottr.EncodeChain(chain[:1])); err != nil {
		return "", err
	}
	defer s.command("file delete " + leafFile) //nolint:errcheck // best effort
	if err := d.loadCA(s, id, chain); err != nil {
		return "", err
	}
	if _, err := s.command(fmt.Sprintf("request security pki local-certificate load certificate-id %s filename %s key %s", id, leafFile, keyFile)); err != nil {
		return "", err
	}
	ottr.Logf(ctx, "Junos: loaded the certificate and the key made in Ottr as %s", id)
	return id, nil
}

// loadCA loads the chain's intermediates into a CA profile of their own
// (<id>-ca), committed first, as Junos requires.
func (d *Driver) loadCA(s *session, id string, chain []*x509.Certificate) error {
	if len(chain) < 2 {
		return nil
	}
	profile := id + "-ca"
	caFile := "/var/tmp/" + profile + ".pem"
	if err := s.putFile(caFile, ottr.EncodeChain(chain[1:])); err != nil {
		return err
	}
	defer s.command("file delete " + caFile) //nolint:errcheck // best effort
	if err := s.configure(fmt.Sprintf("set security pki ca-profile %s ca-identity %s", profile, profile)); err != nil {
		return err
	}
	_, err := s.command(fmt.Sprintf("request security pki ca-certificate load ca-profile %s filename %s", profile, caFile))
	return err
}

// subjectMissing lists the requested subject fields the device's request
// lacks; the email aside: Junos puts the email in an alternative name, not the subject.
func subjectMissing(req ottr.CSRRequest, csr *x509.CertificateRequest) []string {
	want := req.Subject
	want.Email = ""
	return want.Missing(csr.Subject)
}
