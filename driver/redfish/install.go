package redfish

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

// member is one certificate of the HTTPS collection.
type member struct {
	uri   string
	chain []*x509.Certificate
}

// members reads the HTTPS collection's certificates.
func (d *Driver) members(ctx context.Context, svc *service) ([]member, error) {
	var coll struct {
		Members []odataID `json:"Members"`
	}
	if err := d.getJSON(ctx, svc.collection, "HTTPS certificate collection", &coll); err != nil {
		return nil, err
	}
	var out []member
	for _, m := range coll.Members {
		p, err := d.path(m.ID)
		if err != nil {
			return nil, err
		}
		var c struct {
			CertificateString string `json:"CertificateString"`
		}
		if err := d.getJSON(ctx, p, "certificate "+p, &c); err != nil {
			return nil, err
		}
		chain, _ := ottr.ParseChain([]byte(c.CertificateString))
		out = append(out, member{uri: p, chain: chain})
	}
	return out, nil
}

// certificateType picks the CertificateType to send: PEMchain for a chain
// where the BMC lists it, else PEM (the BMC's list, or the schema's
// default, PEM).
func certificateType(allowed []string, chain []*x509.Certificate) string {
	if len(chain) > 1 && slices.Contains(allowed, "PEMchain") {
		return "PEMchain"
	}
	return "PEM"
}

// Install puts the chain in the HTTPS certificate collection (replacing
// its certificate with ReplaceCertificate, or by POST to the collection
// where the BMC has no ReplaceCertificate), waits for the task when the
// BMC answers with one, resets the manager where its web server needs
// that, and waits until the BMC serves the new certificate. The BMC
// refuses a certificate whose key is not the one it made.
func (d *Driver) Install(ctx context.Context, chain []*x509.Certificate) error {
	if len(chain) == 0 {
		return ottr.Errorf(ottr.EINVALID, "no certificate to install")
	}
	if cur, err := d.Current(ctx); err == nil && len(cur) > 0 && cur[0].Equal(chain[0]) {
		ottr.Logf(ctx, "the BMC already serves serial %x", chain[0].SerialNumber)
		return nil
	}
	svc, err := d.discover(ctx)
	if err != nil {
		return err
	}
	members, err := d.members(ctx, svc)
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(members, func(m member) bool { return len(m.chain) > 0 && m.chain[0].Equal(chain[0]) }) {
		if err := d.upload(ctx, svc, members, chain); err != nil {
			return err
		}
	} else {
		ottr.Logf(ctx, "the BMC holds the certificate already; it is not served yet")
	}
	if d.needsReset(svc) {
		if err := d.reset(ctx, svc); err != nil {
			return err
		}
	}
	if err := served.Await(ctx, d.Current, chain[0], d.c.ServeTimeout, d.c.ServePoll); err != nil {
		if ctx.Err() != nil {
			return err
		}
		hint := ""
		if !d.needsReset(svc) {
			hint = " (if this BMC applies certificates only after a reset, set reset: always)"
		}
		return ottr.Errorf(ottr.EUNAVAILABLE, "Redfish %s: the BMC took the certificate, but on its HTTPS interface %w%s", d.c.Address, err, hint)
	}
	ottr.Logf(ctx, "the BMC serves serial %x", chain[0].SerialNumber)
	return nil
}

// upload sends the chain: ReplaceCertificate of the collection's
// certificate, or POST to the collection.
func (d *Driver) upload(ctx context.Context, svc *service, members []member, chain []*x509.Certificate) error {
	pemChain := string(ottr.EncodeChain(chain))
	var a answer
	var err error
	if svc.replaceTarget != "" && len(members) > 0 {
		typ := certificateType(svc.replaceTypes, chain)
		a, err = d.do(ctx, http.MethodPost, svc.replaceTarget, map[string]any{"CertificateUri": odataID{members[0].uri},
			"CertificateString": pemChain, "CertificateType": typ}, "ReplaceCertificate")
		if err != nil {
			return d.mismatch(err)
		}
		ottr.Logf(ctx, "ReplaceCertificate of %s accepted", members[0].uri)
	} else {
		typ := certificateType(svc.collectionTypes, chain)
		a, err = d.do(ctx, http.MethodPost, svc.collection, map[string]any{"CertificateString": pemChain, "CertificateType": typ},
			"adding the certificate to "+svc.collection)
		if err != nil {
			return d.mismatch(err)
		}
		ottr.Logf(ctx, "the certificate was added to %s", svc.collection)
	}
	if a.status == http.StatusAccepted {
		return d.awaitTask(ctx, a)
	}
	return nil
}

// mismatch adds what a refused certificate most likely means.
func (d *Driver) mismatch(err error) error {
	if ottr.ErrorCode(err) == ottr.EINVALID && strings.Contains(err.Error(), "CertificateString") {
		return ottr.Errorf(ottr.EINVALID, "%s (only a certificate for the key of the BMC's last request can be installed)", ottr.ErrorMessage(err))
	}
	return err
}

// awaitTask polls the task monitor of a 202 answer until the operation
// ends; its final answer decides.
func (d *Driver) awaitTask(ctx context.Context, a answer) error {
	loc := a.header.Get("Location")
	if loc == "" {
		return ottr.Errorf(ottr.EUNAVAILABLE, "Redfish %s: the install was accepted (202) without a task monitor", d.c.Address)
	}
	monitor, err := d.path(loc)
	if err != nil {
		return err
	}
	ottr.Logf(ctx, "the BMC installs the certificate as a task; polling %s", monitor)
	deadline := time.Now().Add(d.c.TaskTimeout)
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(d.c.TaskPoll):
		}
		a, err := d.do(ctx, http.MethodGet, monitor, nil, "install task")
		if err != nil {
			return d.mismatch(err)
		}
		if a.status != http.StatusAccepted {
			ottr.Logf(ctx, "the install task finished")
			return nil
		}
		if time.Now().After(deadline) {
			return ottr.Errorf(ottr.EUNAVAILABLE, "Redfish %s: the install task is still running after %s", d.c.Address, d.c.TaskTimeout)
		}
	}
}

// needsReset says whether the manager must be reset for its web server to
// serve a new certificate: Dell's iDRAC keeps the old one until a reset.
func (d *Driver) needsReset(svc *service) bool {
	switch d.c.Reset {
	case "always":
		return true
	case "never":
		return false
	}
	return strings.EqualFold(svc.vendor, "Dell")
}

// reset is Manager.Reset; the BMC's sessions end with it, so the next
// call logs in again.
func (d *Driver) reset(ctx context.Context, svc *service) error {
	if svc.resetTarget == "" {
		return ottr.Errorf(ottr.EINVALID, "Redfish %s: the manager has no Manager.Reset action, and this BMC serves a new certificate only after a reset", d.c.Address)
	}
	if len(svc.resetTypes) > 0 && !slices.Contains(svc.resetTypes, d.c.ResetType) {
		return ottr.Invalid("Redfish "+d.c.Address, ottr.Problem{Field: "reset_type",
			Message: d.c.ResetType + " is not one of the manager's reset types (" + strings.Join(svc.resetTypes, ", ") + ")"})
	}
	if _, err := d.do(ctx, http.MethodPost, svc.resetTarget, map[string]string{"ResetType": d.c.ResetType}, "Manager.Reset"); err != nil {
		return err
	}
	d.mu.Lock()
	d.token, d.session = "", ""
	d.mu.Unlock()
	ottr.Logf(ctx, "reset the manager (%s) so that it serves the new certificate", d.c.ResetType)
	return nil
}
