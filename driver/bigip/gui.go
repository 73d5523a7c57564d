package bigip

import (
	"cmp"
	"context"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/driver/served"
)

// The names Ottr's f5-14.x container used (platforms/f5-14.x/src/app.py):
// the key and request made on the box, and the files httpd serves the
// management GUI (and iControl REST) with. A box Ottr rotated carries
// these, and the next rotation replaces them as Ottr's would.
const (
	guiKey    = "otter.key"
	guiReq    = "otter.csr"
	guiUpload = "otter.crt"
	serverCrt = "/config/httpd/conf/ssl.crt/server.crt"
	serverKey = "/config/httpd/conf/ssl.key/server.key"
	backup    = ".backup"
	uploads   = "/var/config/rest/downloads/"
)

// safePath is what a device-given path must look like before it goes
// into a shell command line.
var safePath = regexp.MustCompile(`^/[A-Za-z0-9_./:@+-]+$`)

// bash runs one command through util/bash (the advanced shell Ottr used)
// and returns its output; the device reports no exit status, so callers
// judge by the output.
func (d *Driver) bash(ctx context.Context, cmd string) (string, error) {
	var out struct {
		CommandResult string `json:"commandResult"`
	}
	err := d.do(ctx, http.MethodPost, "/mgmt/tm/util/bash", map[string]string{"command": "run", "utilCmdArgs": "-c '" + cmd + "'"}, &out)
	return out.CommandResult, err
}

// run runs a command that prints nothing when it works (cp, rm).
func (d *Driver) run(ctx context.Context, cmd string) error {
	out, err := d.bash(ctx, cmd)
	if err != nil {
		return err
	}
	if out = strings.TrimSpace(out); out != "" {
		return ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: %s: %s", d.c.Address, cmd, out)
	}
	return nil
}

// guiKeyBody is the sys crypto key for a CSRRequest key type. The
// device's default, which Ottr relied on, is RSA-2048.
func guiKeyBody(keyType string) (map[string]string, error) {
	body := map[string]string{"name": guiKey}
	switch keyType {
	case "", "rsa2048", "rsa3072", "rsa4096":
		body["keyType"], body["keySize"] = "rsa-private", strings.TrimPrefix(cmp.Or(keyType, "rsa2048"), "rsa")
	default:
		// httpd's ciphers on the management port are the RSA ones F5
		// ships; an EC key there is not something this driver has seen
		// work, so it is refused rather than risk a GUI that does not come
		// back.
		return nil, ottr.Errorf(ottr.EINVALID, "BIG-IP management GUI: key type %q is not supported (rsa2048, rsa3072, rsa4096)", keyType)
	}
	return body, nil
}

// guiCSR is Ottr's sequence: remove the otter.csr/otter.key of an earlier
// run, make otter.key (RSA-2048 unless asked otherwise), make otter.csr
// with the subject fields and every name, and read it back with tmsh
// list through util/bash.
func (d *Driver) guiCSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	keyBody, err := guiKeyBody(req.KeyType)
	if err != nil {
		return nil, err
	}
	if err := d.checkHTTPDFiles(ctx); err != nil {
		return nil, err
	}
	if err := d.removeGUIObjects(ctx); err != nil {
		return nil, err
	}
	if err := d.do(ctx, http.MethodPost, "/mgmt/tm/sys/crypto/key", keyBody, nil); err != nil {
		return nil, err
	}
	csrBody := map[string]string{"name": guiReq, "key": guiKey, "commonName": req.CommonName}
	for k, v := range map[string]string{"country": req.Subject.Country, "state": req.Subject.State, "city": req.Subject.Locality,
		"organization": req.Subject.Organization, "ou": req.Subject.OrganizationalUnit, "emailAddress": req.Subject.Email} {
		if v != "" {
			csrBody[k] = v
		}
	}
	var sans []string
	for _, n := range req.Names() {
		sans = append(sans, "DNS:"+n)
	}
	csrBody["subjectAlternativeName"] = strings.Join(sans, ", ")
	if err := d.do(ctx, http.MethodPost, "/mgmt/tm/sys/crypto/csr", csrBody, nil); err != nil {
		return nil, err
	}
	ottr.Logf(ctx, "the BIG-IP made key %s (%s %s) and request %s", guiKey, keyBody["keyType"], keyBody["keySize"], guiReq)
	out, err := d.bash(ctx, "tmsh list sys crypto csr "+guiReq)
	if err != nil {
		return nil, err
	}
	// Ottr took the last request block of the listing; so does this.
	const begin = "-----BEGIN CERTIFICATE REQUEST-----"
	i := strings.LastIndex(out, begin)
	if i < 0 {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: tmsh list sys crypto csr %s printed no request: %s", d.c.Address, guiReq, firstLine(out))
	}
	csr, err := ottr.ParseCSR([]byte(out[i:]))
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: request %s: %w", d.c.Address, guiReq, err)
	}
	missing := req.MissingNames(csr)
	missing = append(missing, req.Subject.Missing(csr.Subject)...)
	if len(missing) > 0 {
		_ = d.removeGUIObjects(ctx)
		return nil, ottr.Errorf(ottr.EINVALID, "BIG-IP %s: the request the device made leaves out %s; nothing was ordered", d.c.Address, strings.Join(missing, ", "))
	}
	return csr, nil
}

// checkHTTPDFiles makes sure httpd reads the files Ottr's recipe
// replaces (sys httpd ssl-certfile and ssl-certkeyfile at their
// server.crt and server.key, under /etc/httpd/conf or the /config it links
// to) before anything is ordered: a box pointed elsewhere (F5's
// bigip_device_certificate does so for other names) would keep serving
// its certificate.
func (d *Driver) checkHTTPDFiles(ctx context.Context) error {
	var h struct {
		CertFile string `json:"sslCertfile"`
		KeyFile  string `json:"sslCertkeyfile"`
	}
	if err := d.do(ctx, http.MethodGet, "/mgmt/tm/sys/httpd", nil, &h); err != nil {
		return err
	}
	for _, f := range []struct{ prop, got, want string }{{"ssl-certfile", h.CertFile, serverCrt}, {"ssl-certkeyfile", h.KeyFile, serverKey}} {
		if f.got != "" && f.got != f.want && f.got != strings.Replace(f.want, "/config/", "/etc/", 1) {
			return ottr.Errorf(ottr.EINVALID, "BIG-IP %s: httpd reads sys httpd %s %s, not %s, which Ottr's recipe replaces; point it back or rotate it by hand; nothing was ordered",
				d.c.Address, f.prop, f.got, f.want)
		}
	}
	return nil
}

// removeGUIObjects deletes otter.csr and otter.key, as Ottr did before
// each run, and an upload a run could not remove (httpd, and REST with it,
// down); not finding them is fine, anything else (a profile using
// otter.key) is not.
func (d *Driver) removeGUIObjects(ctx context.Context) error {
	for _, c := range []string{"tmsh delete sys crypto csr " + guiReq, "tmsh delete sys crypto key " + guiKey, "rm -f " + uploads + guiUpload} {
		out, err := d.bash(ctx, c)
		if err != nil {
			return err
		}
		if out = strings.TrimSpace(out); out != "" && !strings.Contains(out, "was not found") {
			return ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: %s: %s", d.c.Address, c, out)
		}
	}
	return nil
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	if s == "" {
		return "(nothing)"
	}
	return s
}

// publicKeyOn reads the public half of a key file on the device (openssl
// pkey -pubout), so a key is matched to a certificate without leaving the
// box.
func (d *Driver) publicKeyOn(ctx context.Context, file string) (any, error) {
	out, err := d.bash(ctx, "openssl pkey -in "+file+" -pubout")
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode([]byte(out))
	if block == nil || block.Type != "PUBLIC KEY" {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: reading the key %s: %s", d.c.Address, file, firstLine(out))
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: the public key of %s: %v", d.c.Address, file, err)
	}
	return pub, nil
}

// certOn reads a certificate file on the device (cat); the first
// certificate in it, or nil when the file is missing or holds none.
func (d *Driver) certOn(ctx context.Context, file string) (*x509.Certificate, error) {
	out, err := d.bash(ctx, "cat "+file)
	if err != nil {
		return nil, err
	}
	chain, err := ottr.ParseChain([]byte(out))
	if err != nil || len(chain) == 0 {
		return nil, nil
	}
	return chain[0], nil
}

// guiInstall places the certificate and the key the device made where
// httpd reads them, after backing up what is there (server.crt.backup,
// server.key.backup, as Ottr), restarts httpd and waits for the
// management port to serve the certificate. Any failure after the backup
// puts the backup back (and restarts httpd if it had been restarted), so
// the GUI serves what it served. The key is checked against the
// certificate on the box before and after it is placed, so httpd is never
// restarted with a pair that would keep it from starting (and with it
// iControl REST, the way back).
func (d *Driver) guiInstall(ctx context.Context, chain []*x509.Certificate) error {
	leaf := chain[0]
	cur, err := d.certOn(ctx, serverCrt)
	if err != nil {
		return err
	}
	if cur != nil && cur.Equal(leaf) {
		// Placed already (a repeated install, after otter.key was
		// removed): the backup is the certificate it replaced and stays
		// so; httpd only needs to serve it.
		if c, err := d.Current(ctx); err == nil && len(c) > 0 && c[0].Equal(leaf) {
			return nil
		}
		pub, err := d.publicKeyOn(ctx, serverKey)
		if err != nil {
			return err
		}
		if !ottr.SamePublicKey(pub, leaf.PublicKey) {
			return ottr.Errorf(ottr.EINVALID, "BIG-IP %s: %s holds the new certificate but %s is not its key; httpd was not restarted", d.c.Address, serverCrt, serverKey)
		}
		if err := d.restartHTTPD(ctx); err != nil {
			return err
		}
		return d.awaitGUI(ctx, leaf)
	}
	var key struct {
		CachePath string `json:"cachePath"`
	}
	if err := d.do(ctx, http.MethodGet, "/mgmt/tm/sys/file/ssl-key/~Common~"+guiKey, nil, &key); err != nil {
		if ottr.ErrorCode(err) == ottr.ENOTFOUND {
			return ottr.Errorf(ottr.EINVALID, "BIG-IP %s: key %s is gone from the device; only a certificate for the request the device made can be installed", d.c.Address, guiKey)
		}
		return err
	}
	if !safePath.MatchString(key.CachePath) {
		return ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: key %s has no usable file path (%q)", d.c.Address, guiKey, key.CachePath)
	}
	pub, err := d.publicKeyOn(ctx, key.CachePath)
	if err != nil {
		return err
	}
	if !ottr.SamePublicKey(pub, leaf.PublicKey) {
		return ottr.Errorf(ottr.EINVALID, "BIG-IP %s: key %s on the device is not this certificate's (another rotation made a new one?); nothing was changed", d.c.Address, guiKey)
	}
	// Ottr placed the leaf alone (openssl x509 of fullchain.cer).
	if err := d.do(ctx, http.MethodPost, "/mgmt/shared/file-transfer/uploads/"+guiUpload, upload(ottr.EncodeChain(chain[:1])), nil); err != nil {
		return err
	}
	defer func() {
		_ = d.do(context.WithoutCancel(ctx), http.MethodPost, "/mgmt/tm/util/unix-rm", map[string]string{"command": "run", "utilCmdArgs": uploads + guiUpload}, nil)
	}()
	for _, f := range []string{serverCrt, serverKey} {
		if err := d.run(ctx, "cp "+f+" "+f+backup); err != nil {
			return err
		}
	}
	ottr.Logf(ctx, "backed up %s and %s", serverCrt+backup, serverKey+backup)
	restarted := false
	fail := func(err error) error {
		return d.putBack(ctx, err, restarted, cur)
	}
	if err := d.run(ctx, "cp "+key.CachePath+" "+serverKey); err != nil {
		return fail(err)
	}
	if err := d.run(ctx, "cp "+uploads+guiUpload+" "+serverCrt); err != nil {
		return fail(err)
	}
	// What httpd will load must be a pair, or it would not start.
	placed, err := d.certOn(ctx, serverCrt)
	if err != nil {
		return fail(err)
	}
	if placed == nil || !placed.Equal(leaf) {
		return fail(ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: %s does not hold the new certificate after the copy", d.c.Address, serverCrt))
	}
	pub, err = d.publicKeyOn(ctx, serverKey)
	if err != nil {
		return fail(err)
	}
	if !ottr.SamePublicKey(pub, leaf.PublicKey) {
		return fail(ottr.Errorf(ottr.EINVALID, "BIG-IP %s: %s is not the new certificate's key after the copy (another rotation made a new %s?); httpd was not restarted", d.c.Address, serverKey, guiKey))
	}
	ottr.Logf(ctx, "placed %s and %s", serverCrt, serverKey)
	restarted = true
	if err := d.restartHTTPD(ctx); err != nil {
		return fail(err)
	}
	if err := d.awaitGUI(ctx, leaf); err != nil {
		return fail(err)
	}
	// The key lives on in server.key; the objects it was made as are
	// removed, as Ottr's next run would.
	if err := d.removeGUIObjects(ctx); err != nil {
		ottr.Logf(ctx, "warn: removing %s and %s: %s", guiReq, guiKey, ottr.ErrorMessage(err))
	}
	return nil
}

// restartHTTPD restarts httpd as Ottr did (tmsh restart /sys service
// httpd), through util/bash rather than SSH. httpd also carries iControl
// REST, so the answer may be cut off by the restart itself: a lost
// connection is not a failure; what the port serves afterwards decides.
func (d *Driver) restartHTTPD(ctx context.Context) error {
	out, err := d.bash(ctx, "tmsh restart sys service httpd")
	// The restart ends every connection httpd held; a kept one would fail
	// the next call.
	d.client.CloseIdleConnections()
	if err != nil && ottr.ErrorCode(err) != ottr.EUNAVAILABLE {
		return err
	}
	if out = strings.TrimSpace(out); out != "" {
		ottr.Logf(ctx, "tmsh restart sys service httpd: %s", firstLine(out))
	}
	ottr.Logf(ctx, "restarted httpd")
	return nil
}

// awaitGUI waits for the management port to present leaf.
func (d *Driver) awaitGUI(ctx context.Context, leaf *x509.Certificate) error {
	if err := served.Await(ctx, d.Current, leaf, d.c.RestartTimeout, 200*time.Millisecond); err != nil {
		if ctx.Err() != nil {
			return err
		}
		return ottr.Errorf(ottr.EUNAVAILABLE, "BIG-IP %s: after the httpd restart the management port %w", d.c.Address, err)
	}
	d.client.CloseIdleConnections()
	ottr.Logf(ctx, "management port %s serves serial %x", d.c.Serve, leaf.SerialNumber)
	return nil
}

// putBack copies the backups over httpd's files and, if httpd was
// restarted with the new ones, restarts it and waits for prev (what
// server.crt held before); it returns cause, with what could not be put
// back.
func (d *Driver) putBack(ctx context.Context, cause error, restarted bool, prev *x509.Certificate) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d.c.RequestTimeout+d.c.RestartTimeout)
	defer cancel()
	var err error
	for _, f := range []string{serverCrt, serverKey} {
		if err == nil {
			err = d.run(rctx, "cp "+f+backup+" "+f)
		}
	}
	if err == nil && restarted {
		if err = d.restartHTTPD(rctx); err == nil && prev != nil {
			err = d.awaitGUI(rctx, prev)
		}
	}
	if err != nil {
		ottr.Logf(ctx, "error: putting back %s and %s: %s", serverCrt+backup, serverKey+backup, ottr.ErrorMessage(err))
		return ottr.Errorf(ottr.ErrorCode(cause), "%s; putting the backup back failed too (%s): on the BIG-IP, copy %s and %s back and run tmsh restart sys service httpd",
			ottr.ErrorMessage(cause), ottr.ErrorMessage(err), serverCrt+backup, serverKey+backup)
	}
	ottr.Logf(ctx, "put back %s and %s", serverCrt+backup, serverKey+backup)
	return cause
}

// guiRestore puts the backups Install made back when they hold previous,
// restarts httpd and waits for previous; nothing is done when the port
// serves previous already, so it may be repeated.
func (d *Driver) guiRestore(ctx context.Context, previous []*x509.Certificate) error {
	if cur, err := d.Current(ctx); err == nil && len(cur) > 0 && cur[0].Equal(previous[0]) {
		return nil
	}
	b, err := d.certOn(ctx, serverCrt+backup)
	if err != nil {
		return err
	}
	if b == nil || !b.Equal(previous[0]) {
		return ottr.Errorf(ottr.ENOTFOUND, "BIG-IP %s: %s does not hold the previous certificate (serial %x)", d.c.Address, serverCrt+backup, previous[0].SerialNumber)
	}
	pub, err := d.publicKeyOn(ctx, serverKey+backup)
	if err != nil {
		return err
	}
	if !ottr.SamePublicKey(pub, previous[0].PublicKey) {
		return ottr.Errorf(ottr.ENOTFOUND, "BIG-IP %s: %s is not the previous certificate's key", d.c.Address, serverKey+backup)
	}
	for _, f := range []string{serverCrt, serverKey} {
		if err := d.run(ctx, "cp "+f+backup+" "+f); err != nil {
			return err
		}
	}
	if err := d.restartHTTPD(ctx); err != nil {
		return err
	}
	return d.awaitGUI(ctx, previous[0])
}
