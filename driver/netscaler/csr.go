package netscaler

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// sslDir is where the appliance keeps keys, requests and certificates.
const sslDir = "/nsconfig/ssl"

// subject is the request's subject: the settings' fields, then the
// rotation's for those left empty.
func (d *Driver) subject(r ottr.Subject) ottr.Subject {
	s := d.c.Subject
	pick := func(mine *string, theirs string) {
		if *mine == "" {
			*mine = theirs
		}
	}
	pick(&s.Country, r.Country)
	pick(&s.State, r.State)
	pick(&s.Locality, r.Locality)
	pick(&s.Organization, r.Organization)
	pick(&s.OrganizationalUnit, r.OrganizationalUnit)
	pick(&s.Email, r.Email)
	s.Country = strings.ToUpper(s.Country)
	return s
}

// CSR has the NetScaler make a key (sslrsakey or sslecdsakey) and a
// request signed with it (sslcertreq) in /nsconfig/ssl, and reads the
// request back; the key never leaves the appliance.
func (d *Driver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	kt := req.KeyType
	if kt == "" {
		kt = d.c.KeyType
	}
	subj := d.subject(req.Subject)
	var missing []string
	for _, f := range []struct{ name, v string }{{"country", subj.Country}, {"state", subj.State}, {"organization", subj.Organization}} {
		if f.v == "" {
			missing = append(missing, "subject."+f.name)
		}
	}
	if len(missing) > 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "NetScaler %s: NITRO requires country, state and organization in a request; set %s in the platform's settings (or a subject on the CA or recipe)",
			d.c.Address, strings.Join(missing, ", "))
	}
	suffix := make([]byte, 2)
	_, _ = rand.Read(suffix)
	name := d.c.Prefix + time.Now().UTC().Format("060102-150405") + "-" + hex.EncodeToString(suffix)
	var resource string
	key := map[string]any{"keyfile": name + ".key", "keyform": "PEM"}
	switch kt {
	case "rsa2048", "rsa3072", "rsa4096":
		resource, key["bits"], key["exponent"] = "sslrsakey", strings.TrimPrefix(kt, "rsa"), "F4"
	case "p256":
		resource, key["curve"] = "sslecdsakey", "P_256"
	case "p384":
		resource, key["curve"] = "sslecdsakey", "P_384"
	default:
		return nil, ottr.Errorf(ottr.EINVALID, "NetScaler cannot make a %q key (%s)", kt, strings.Join(keyTypes, ", "))
	}
	if err := d.do(ctx, http.MethodPost, resource+"?action=create", map[string]any{resource: key}, nil); err != nil {
		return nil, err
	}
	csr, err := d.request(ctx, name, req, subj)
	if err != nil {
		// The key is of no use without its request: nothing is left behind.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.c.RequestTimeout)
		defer cancel()
		for _, f := range []string{name + ".csr", name + ".key"} {
			_ = d.deleteFile(rctx, f)
		}
		return nil, err
	}
	d.mu.Lock()
	d.pending = name
	d.mu.Unlock()
	ottr.Logf(ctx, "the NetScaler made key %s.key and request %s.csr in %s", name, name, sslDir)
	return csr, nil
}

// request has the appliance make name.csr with name.key, reads it and
// checks it carries every name and subject field asked for.
func (d *Driver) request(ctx context.Context, name string, req ottr.CSRRequest, subj ottr.Subject) (*x509.CertificateRequest, error) {
	body := map[string]any{"reqfile": name + ".csr", "keyfile": name + ".key", "commonname": req.CommonName,
		"countryname": subj.Country, "statename": subj.State, "organizationname": subj.Organization, "digestmethod": "SHA256"}
	var sans []string
	for _, n := range req.Names() {
		sans = append(sans, "DNS:"+n)
	}
	body["subjectaltname"] = strings.Join(sans, " ")
	for k, v := range map[string]string{"localityname": subj.Locality, "organizationunitname": subj.OrganizationalUnit, "emailaddress": subj.Email} {
		if v != "" {
			body[k] = v
		}
	}
	if err := d.do(ctx, http.MethodPost, "sslcertreq?action=create", map[string]any{"sslcertreq": body}, nil); err != nil {
		return nil, err
	}
	csr, err := d.readCSR(ctx, name)
	if err != nil {
		return nil, err
	}
	if csr.Subject.CommonName != req.CommonName {
		return nil, ottr.Errorf(ottr.EINVALID, "NetScaler %s made a request for %q, not %s; nothing was ordered", d.c.Address, csr.Subject.CommonName, req.CommonName)
	}
	bad := req.MissingNames(csr)
	if !slices.Contains(csr.DNSNames, req.CommonName) {
		bad = append([]string{req.CommonName}, bad...)
	}
	bad = append(bad, subj.Missing(csr.Subject)...)
	if len(bad) > 0 {
		return nil, ottr.Errorf(ottr.EINVALID, "NetScaler %s: the request it made leaves out %s; nothing was ordered", d.c.Address, strings.Join(slices.Compact(bad), "; "))
	}
	return csr, nil
}

// readCSR reads and parses /nsconfig/ssl/<name>.csr.
func (d *Driver) readCSR(ctx context.Context, name string) (*x509.CertificateRequest, error) {
	raw, err := d.readFile(ctx, path.Join(sslDir, name+".csr"))
	if err != nil {
		return nil, err
	}
	csr, err := ottr.ParseCSR(raw)
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "NetScaler %s: request %s.csr: %w", d.c.Address, name, err)
	}
	return csr, nil
}

// systemFile is a systemfile object as GET returns it.
type systemFile struct {
	Filename     string `json:"filename"`
	Filecontent  string `json:"filecontent"`
	Fileencoding string `json:"fileencoding"`
}

// readFile reads a file (a public one: a request or a certificate; this
// driver never reads a key) through systemfile.
func (d *Driver) readFile(ctx context.Context, p string) ([]byte, error) {
	dir, name := path.Split(p)
	var out struct {
		Files []systemFile `json:"systemfile"`
	}
	if err := d.do(ctx, http.MethodGet, "systemfile?"+args("filename", name, "filelocation", strings.TrimSuffix(dir, "/")), nil, &out); err != nil {
		return nil, err
	}
	if len(out.Files) != 1 || (out.Files[0].Fileencoding != "" && out.Files[0].Fileencoding != "BASE64") {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "NetScaler %s: file %s: the answer holds no base64 file", d.c.Address, p)
	}
	b, err := base64.StdEncoding.DecodeString(out.Files[0].Filecontent)
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "NetScaler %s: file %s is not base64", d.c.Address, p)
	}
	return b, nil
}

// listFiles lists the names of the files in /nsconfig/ssl.
func (d *Driver) listFiles(ctx context.Context) ([]string, error) {
	var out struct {
		Files []systemFile `json:"systemfile"`
	}
	if err := d.do(ctx, http.MethodGet, "systemfile?"+args("filelocation", sslDir), nil, &out); err != nil {
		return nil, err
	}
	var names []string
	for _, f := range out.Files {
		names = append(names, f.Filename)
	}
	return names, nil
}

// writeFile uploads a file to /nsconfig/ssl; a file of that name holding
// the same bytes is left as it is (a repeated install).
func (d *Driver) writeFile(ctx context.Context, name string, data []byte) error {
	if have, err := d.readFile(ctx, path.Join(sslDir, name)); err == nil {
		if string(have) == string(data) {
			return nil
		}
		if err := d.deleteFile(ctx, name); err != nil {
			return err
		}
	} else if ottr.ErrorCode(err) != ottr.ENOTFOUND {
		return err
	}
	return d.do(ctx, http.MethodPost, "systemfile", map[string]any{"systemfile": map[string]string{"filename": name, "filelocation": sslDir + "/",
		"filecontent": base64.StdEncoding.EncodeToString(data), "fileencoding": "BASE64"}}, nil)
}

// deleteFile removes a file from /nsconfig/ssl; one already gone is fine.
func (d *Driver) deleteFile(ctx context.Context, name string) error {
	err := d.do(ctx, http.MethodDelete, "systemfile/"+url.PathEscape(name)+"?"+args("filelocation", sslDir), nil, nil)
	if ottr.ErrorCode(err) == ottr.ENOTFOUND {
		return nil
	}
	return err
}
