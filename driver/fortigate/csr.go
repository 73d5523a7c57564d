package fortigate

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// localEntry is a vpn.certificate local entry as the CMDB returns it.
type localEntry struct {
	Name        string `json:"name"`
	Source      string `json:"source"`
	Certificate string `json:"certificate"`
	CSR         string `json:"csr"`
}

const localTable = "cmdb/vpn.certificate/local"

// names lists the local certificates' names and sources.
func (d *Driver) names(ctx context.Context) ([]localEntry, error) {
	res, err := d.call(ctx, "GET", localTable, url.Values{"format": {"name|source"}}, nil)
	if err != nil {
		return nil, err
	}
	var list []localEntry
	if err := json.Unmarshal(res, &list); err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "FortiOS %s: the local certificate list is not a list of entries", d.c.Address)
	}
	return list, nil
}

// entry reads one local certificate with its certificate and pending
// request (the list leaves them out on some firmware); nil when there is
// none of that name.
func (d *Driver) entry(ctx context.Context, name string) (*localEntry, error) {
	res, err := d.call(ctx, "GET", localTable+"/"+url.PathEscape(name), nil, nil)
	if ottr.ErrorCode(err) == ottr.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []localEntry
	if err := json.Unmarshal(res, &list); err != nil || len(list) != 1 {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "FortiOS %s: the local certificate %s is not one entry", d.c.Address, name)
	}
	return &list[0], nil
}

// keyParams are csr/generate's key parameters for a key type. FortiOS
// makes RSA keys of 1024, 1536, 2048 and 4096 bits and EC keys on
// secp256r1, secp384r1 and secp521r1; "" is RSA 2048, the GUI's default.
func keyParams(kt string) (map[string]any, error) {
	switch kt {
	case "", "rsa2048":
		return map[string]any{"keytype": "rsa", "keysize": 2048}, nil
	case "rsa4096":
		return map[string]any{"keytype": "rsa", "keysize": 4096}, nil
	case "p256":
		return map[string]any{"keytype": "ec", "curvename": "secp256r1"}, nil
	case "p384":
		return map[string]any{"keytype": "ec", "curvename": "secp384r1"}, nil
	}
	return nil, ottr.Errorf(ottr.EINVALID, "FortiOS cannot make a %q key (it makes p256, p384, rsa2048 and rsa4096 keys)", kt)
}

// newName is a certificate name no entry has:
// <prefix><YYYYMMDD-HHMMSS>-<4 hex digits>, UTC.
func (d *Driver) newName(taken []localEntry) string {
	for {
		suffix := make([]byte, 2)
		_, _ = rand.Read(suffix)
		name := d.c.CertificatePrefix + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(suffix)
		if !slices.ContainsFunc(taken, func(e localEntry) bool { return e.Name == name }) {
			return name
		}
	}
}

// CSR has the FortiGate generate a key and a request for every name with
// the requested subject fields (csr/generate, scope global so that the
// administration server can use it); the key stays in the new local
// certificate entry. The request is read back and checked: one that lacks
// a name or a field is deleted and nothing is ordered.
func (d *Driver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	body, err := keyParams(req.KeyType)
	if err != nil {
		return nil, err
	}
	s := req.Subject
	if c := s.Country; c != "" && (len(c) != 2 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "") {
		// countrycode takes a two-letter code; the device's own refusal
		// would not name the setting.
		return nil, ottr.Invalid("FortiOS request", ottr.Problem{Field: "subject.country", Message: fmt.Sprintf("%q: want a two-letter country code", c)})
	}
	taken, err := d.names(ctx)
	if err != nil {
		return nil, err
	}
	name := d.newName(taken)
	sans := make([]string, 0, len(req.Names()))
	for _, n := range req.Names() {
		sans = append(sans, "DNS:"+n)
	}
	body["certname"], body["subject"], body["subject_alt_name"], body["scope"] = name, req.CommonName, strings.Join(sans, ","), "global"
	for k, v := range map[string]string{"countrycode": strings.ToUpper(s.Country), "state": s.State, "city": s.Locality, "org": s.Organization, "email": s.Email} {
		if v != "" {
			body[k] = v
		}
	}
	if s.OrganizationalUnit != "" {
		body["orgunits"] = []string{s.OrganizationalUnit}
	}
	if _, err := d.call(ctx, "POST", "monitor/vpn-certificate/csr/generate", nil, body); err != nil {
		return nil, err
	}
	ottr.Logf(ctx, "the FortiGate generated key and request %s", name)
	csr, err := d.readCSR(ctx, name)
	if err == nil {
		// The country was sent in capitals, as ISO 3166 writes it.
		want := req
		want.Subject.Country = strings.ToUpper(s.Country)
		if bad := check(want, csr); len(bad) > 0 {
			err = ottr.Errorf(ottr.EINVALID, "FortiOS %s: the request the FortiGate made leaves out %s; nothing was ordered", d.c.Address, strings.Join(bad, "; "))
		}
	}
	if err != nil {
		// A request that cannot be used is not left behind, with its key,
		// for someone to wonder about.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.c.RequestTimeout)
		defer cancel()
		if _, derr := d.call(rctx, "DELETE", localTable+"/"+url.PathEscape(name), nil, nil); derr != nil {
			ottr.Logf(ctx, "warn: could not delete the request %s: %s", name, ottr.ErrorMessage(derr))
		}
		return nil, err
	}
	return csr, nil
}

// readCSR reads the pending request of the entry name.
func (d *Driver) readCSR(ctx context.Context, name string) (*x509.CertificateRequest, error) {
	e, err := d.entry(ctx, name)
	if err != nil {
		return nil, err
	}
	if e == nil || strings.TrimSpace(e.CSR) == "" {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "FortiOS %s: the local certificate %s holds no request after csr/generate", d.c.Address, name)
	}
	csr, err := ottr.ParseCSR([]byte(e.CSR))
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "FortiOS %s: the request of %s: %w", d.c.Address, name, err)
	}
	return csr, nil
}

// check lists what the device's request lacks of what was asked: the
// common name, every name among the alternative names, the subject fields.
func check(req ottr.CSRRequest, csr *x509.CertificateRequest) []string {
	var bad []string
	if csr.Subject.CommonName != req.CommonName {
		bad = append(bad, fmt.Sprintf("common name %q (the request has %q)", req.CommonName, csr.Subject.CommonName))
	}
	var missing []string
	for _, n := range req.Names() {
		if !slices.Contains(csr.DNSNames, n) {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		bad = append(bad, strings.Join(missing, ", "))
	}
	bad = append(bad, req.Subject.Missing(csr.Subject)...)
	if err := csr.CheckSignature(); err != nil {
		bad = append(bad, "a valid signature")
	}
	return bad
}
