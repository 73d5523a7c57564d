package redfish

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/ottr-dev/ottr"
)

// odataID is a Redfish reference.
type odataID struct {
	ID string `json:"@odata.id"`
}

// actionInfo is one entry of a resource's Actions.
type actionInfo struct {
	Target     string   `json:"target"`
	CertTypes  []string `json:"CertificateType@Redfish.AllowableValues"`
	ResetTypes []string `json:"ResetType@Redfish.AllowableValues"`
}

// service is what the driver found on the BMC: the CertificateService's
// actions, the HTTPS certificate collection and its manager's reset.
type service struct {
	vendor          string
	csrTarget       string
	replaceTarget   string // "" where the BMC has no ReplaceCertificate
	replaceTypes    []string
	collection      string
	collectionTypes []string
	resetTarget     string
	resetTypes      []string
}

// discover reads the service root, the CertificateService and the
// managers once per driver.
func (d *Driver) discover(ctx context.Context) (*service, error) {
	d.mu.Lock()
	svc := d.svc
	d.mu.Unlock()
	if svc != nil {
		return svc, nil
	}
	var root struct {
		Vendor             string  `json:"Vendor"`
		CertificateService odataID `json:"CertificateService"`
		Managers           odataID `json:"Managers"`
	}
	if err := d.getJSON(ctx, "/redfish/v1/", "service root", &root); err != nil {
		return nil, err
	}
	svc = &service{vendor: root.Vendor}
	if root.CertificateService.ID == "" {
		return nil, ottr.Errorf(ottr.EINVALID, "Redfish %s: the BMC has no CertificateService, so it cannot make a key and request on the BMC", d.c.Address)
	}
	cs, err := d.path(root.CertificateService.ID)
	if err != nil {
		return nil, err
	}
	var certSvc struct {
		Actions   map[string]actionInfo `json:"Actions"`
		Locations odataID               `json:"CertificateLocations"`
	}
	if err := d.getJSON(ctx, cs, "CertificateService", &certSvc); err != nil {
		return nil, err
	}
	gen, ok := certSvc.Actions["#CertificateService.GenerateCSR"]
	if !ok || gen.Target == "" {
		return nil, ottr.Errorf(ottr.EINVALID, "Redfish %s: the CertificateService has no GenerateCSR action, so the BMC cannot make a key and request", d.c.Address)
	}
	if svc.csrTarget, err = d.path(gen.Target); err != nil {
		return nil, err
	}
	if rep, ok := certSvc.Actions["#CertificateService.ReplaceCertificate"]; ok && rep.Target != "" {
		if svc.replaceTarget, err = d.path(rep.Target); err != nil {
			return nil, err
		}
		svc.replaceTypes = rep.CertTypes
	}
	if err := d.findManager(ctx, root.Managers.ID, svc); err != nil {
		return nil, err
	}
	if d.c.CertificateCollection != "" {
		svc.collection = d.c.CertificateCollection
	}
	if svc.collection == "" && certSvc.Locations.ID != "" {
		svc.collection, err = d.fromLocations(ctx, certSvc.Locations.ID)
		if err != nil {
			return nil, err
		}
	}
	if svc.collection == "" {
		return nil, ottr.Errorf(ottr.EINVALID, "Redfish %s: no HTTPS certificate collection found (no manager's NetworkProtocol names one, nor do the CertificateLocations); set certificate_collection", d.c.Address)
	}
	var coll struct {
		Supported []string `json:"@Redfish.SupportedCertificates"`
	}
	if err := d.getJSON(ctx, svc.collection, "HTTPS certificate collection", &coll); err != nil {
		return nil, err
	}
	svc.collectionTypes = coll.Supported
	d.mu.Lock()
	d.svc = svc
	d.mu.Unlock()
	return svc, nil
}

// findManager picks the manager (the configured one, or the one with an
// HTTPS certificate collection) and reads its collection and reset.
func (d *Driver) findManager(ctx context.Context, managers string, svc *service) error {
	if managers == "" {
		return nil
	}
	p, err := d.path(managers)
	if err != nil {
		return err
	}
	var list struct {
		Members []odataID `json:"Members"`
	}
	if err := d.getJSON(ctx, p, "Managers", &list); err != nil {
		return err
	}
	type found struct {
		id, collection, reset string
		resetTypes            []string
	}
	var all []found
	var ids []string
	for _, m := range list.Members {
		mp, err := d.path(m.ID)
		if err != nil {
			return err
		}
		var mgr struct {
			ID              string                `json:"Id"`
			NetworkProtocol odataID               `json:"NetworkProtocol"`
			Actions         map[string]actionInfo `json:"Actions"`
		}
		if d.c.Manager != "" && path.Base(mp) != d.c.Manager {
			ids = append(ids, path.Base(mp))
			continue
		}
		if err := d.getJSON(ctx, mp, "manager "+path.Base(mp), &mgr); err != nil {
			return err
		}
		ids = append(ids, mgr.ID)
		f := found{id: mgr.ID}
		if r := mgr.Actions["#Manager.Reset"]; r.Target != "" {
			if f.reset, err = d.path(r.Target); err != nil {
				return err
			}
			f.resetTypes = r.ResetTypes
		}
		if mgr.NetworkProtocol.ID != "" {
			np, err := d.path(mgr.NetworkProtocol.ID)
			if err != nil {
				return err
			}
			var proto struct {
				HTTPS struct {
					Certificates odataID `json:"Certificates"`
				} `json:"HTTPS"`
			}
			if err := d.getJSON(ctx, np, "manager "+mgr.ID+" NetworkProtocol", &proto); err != nil {
				return err
			}
			if proto.HTTPS.Certificates.ID != "" {
				if f.collection, err = d.path(proto.HTTPS.Certificates.ID); err != nil {
					return err
				}
			}
		}
		if d.c.Manager != "" || f.collection != "" {
			all = append(all, f)
		}
	}
	switch {
	case d.c.Manager != "" && len(all) == 0:
		return ottr.Invalid("Redfish "+d.c.Address, ottr.Problem{Field: "manager",
			Message: fmt.Sprintf("%q is not a manager of this BMC (it has %s)", d.c.Manager, strings.Join(ids, ", "))})
	case len(all) > 1:
		var names []string
		for _, f := range all {
			names = append(names, f.id)
		}
		slices.Sort(names)
		return ottr.Invalid("Redfish "+d.c.Address, ottr.Problem{Field: "manager",
			Message: "several managers have an HTTPS certificate collection (" + strings.Join(names, ", ") + "); name one"})
	case len(all) == 1:
		svc.collection, svc.resetTarget, svc.resetTypes = all[0].collection, all[0].reset, all[0].resetTypes
	}
	return nil
}

// fromLocations finds the HTTPS certificate collection among the
// CertificateService's CertificateLocations.
func (d *Driver) fromLocations(ctx context.Context, link string) (string, error) {
	p, err := d.path(link)
	if err != nil {
		return "", err
	}
	var loc struct {
		Links struct {
			Certificates []odataID `json:"Certificates"`
		} `json:"Links"`
	}
	if err := d.getJSON(ctx, p, "CertificateLocations", &loc); err != nil {
		return "", err
	}
	for _, c := range loc.Links.Certificates {
		if cp, err := d.path(c.ID); err == nil && strings.Contains(cp, "/NetworkProtocol/HTTPS/Certificates/") {
			return path.Dir(cp), nil
		}
	}
	return "", nil
}
