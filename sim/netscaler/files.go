package netscaler

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// filePath is the absolute path of a file argument: a bare name is in
// /nsconfig/ssl, as NITRO takes it.
func filePath(name string) string {
	if strings.HasPrefix(name, "/") {
		return path.Clean(name)
	}
	return sslDir + name
}

// dirOf normalises a filelocation ("/nsconfig/ssl" or "/nsconfig/ssl/").
func dirOf(loc string) string {
	return strings.TrimSuffix(path.Clean(loc), "/") + "/"
}

// fileEntry is a systemfile object.
type fileEntry struct {
	Filename         string   `json:"filename"`
	Filelocation     string   `json:"filelocation"`
	Filecontent      string   `json:"filecontent,omitempty"`
	Fileencoding     string   `json:"fileencoding,omitempty"`
	Fileaccesstime   string   `json:"fileaccesstime"`
	Filemodifiedtime string   `json:"filemodifiedtime"`
	Filemode         []string `json:"filemode,omitempty"`
	Filesize         int      `json:"filesize"`
}

func (d *Device) entry(dir, name string, f file, content bool) fileEntry {
	e := fileEntry{Filename: name, Filelocation: strings.TrimSuffix(dir, "/"), Filesize: len(f.data),
		Fileaccesstime: f.modified.UTC().Format(time.ANSIC), Filemodifiedtime: f.modified.UTC().Format(time.ANSIC)}
	if content {
		e.Filecontent, e.Fileencoding = base64.StdEncoding.EncodeToString(f.data), "BASE64"
	}
	return e
}

// systemFile is the systemfile resource: add (upload, base64), get one
// (with its content) or a directory's listing, delete.
func (d *Device) systemFile(req request) (int, any, *nitroErr) {
	switch req.method {
	case http.MethodPost:
		if req.action != "" {
			return 0, nil, errNotModelled("systemfile?action=" + req.action)
		}
		var in struct {
			Filename     string `json:"filename"`
			Filecontent  string `json:"filecontent"`
			Filelocation string `json:"filelocation"`
			Fileencoding string `json:"fileencoding"`
		}
		if e := req.object(&in); e != nil {
			return 0, nil, e
		}
		switch {
		case in.Filename == "":
			return 0, nil, errArgMissing("fileName")
		case in.Filecontent == "":
			return 0, nil, errArgMissing("fileContent")
		case in.Filelocation == "":
			return 0, nil, errArgMissing("fileLocation")
		case strings.Contains(in.Filename, "/") || len(in.Filename) > 63:
			return 0, nil, errArgValue("fileName")
		case in.Fileencoding != "" && in.Fileencoding != "BASE64":
			return 0, nil, errBadEncoding
		}
		dir := dirOf(in.Filelocation)
		if e := modelledDir(dir); e != nil {
			return 0, nil, e
		}
		data, err := base64.StdEncoding.DecodeString(in.Filecontent)
		if err != nil {
			return 0, nil, errArgValue("fileContent")
		}
		if _, ok := d.files[dir+in.Filename]; ok {
			return 0, nil, errFileExists
		}
		d.files[dir+in.Filename] = file{data: data, modified: time.Now()}
		return http.StatusCreated, nil, nil
	case http.MethodGet:
		name, loc := req.name, req.args["filelocation"]
		if name == "" {
			name = req.args["filename"]
		}
		if loc == "" {
			return 0, nil, errArgMissing("fileLocation")
		}
		dir := dirOf(loc)
		if e := modelledDir(dir); e != nil {
			return 0, nil, e
		}
		if name == "" {
			var names []string
			for p := range d.files {
				if n, ok := strings.CutPrefix(p, dir); ok && !strings.Contains(n, "/") {
					names = append(names, n)
				}
			}
			sort.Strings(names)
			list := []fileEntry{}
			for _, n := range names {
				list = append(list, d.entry(dir, n, d.files[dir+n], false))
			}
			return 200, done("systemfile", list), nil
		}
		f, ok := d.files[dir+name]
		if !ok {
			return 0, nil, errNoEntry(name)
		}
		return 200, done("systemfile", []fileEntry{d.entry(dir, name, f, true)}), nil
	case http.MethodDelete:
		name, loc := req.name, req.args["filelocation"]
		if name == "" {
			name = req.args["filename"]
		}
		if name == "" {
			return 0, nil, errArgMissing("fileName")
		}
		if loc == "" {
			return 0, nil, errArgMissing("fileLocation")
		}
		dir := dirOf(loc)
		if e := modelledDir(dir); e != nil {
			return 0, nil, e
		}
		if _, ok := d.files[dir+name]; !ok {
			return 0, nil, errNoEntry(name)
		}
		delete(d.files, dir+name)
		return 200, nil, nil
	}
	return 0, nil, errMethod
}

// modelledDir refuses directories other than /nsconfig/ssl.
func modelledDir(dir string) *nitroErr {
	if dir != sslDir {
		return errNotModelled("files outside /nsconfig/ssl (" + dir + ")")
	}
	return nil
}

// outputPath checks a file the appliance is asked to write: under
// /nsconfig/ssl, and new.
func (d *Device) outputPath(name, arg string) (string, *nitroErr) {
	if name == "" {
		return "", errArgMissing(arg)
	}
	p := filePath(name)
	if path.Dir(p)+"/" != sslDir {
		return "", errDefaultPath
	}
	if len(path.Base(p)) > 63 {
		return "", &nitroErr{599, 1644, "Output file name too long"}
	}
	if _, ok := d.files[p]; ok {
		return "", errFileExists
	}
	return p, nil
}

// number is a NITRO number, which clients send as a JSON number or string.
type number int

func (n *number) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return &json.UnmarshalTypeError{Value: string(b), Type: nil}
	}
	*n = number(v)
	return nil
}

// keyOptions are the encryption and format options of sslrsakey and
// sslecdsakey.
type keyOptions struct {
	Keyfile  string `json:"keyfile"`
	Keyform  string `json:"keyform"`
	Des      bool   `json:"des"`
	Des3     bool   `json:"des3"`
	Aes256   bool   `json:"aes256"`
	Password string `json:"password"`
	Pkcs8    bool   `json:"pkcs8"`
}

// createKey makes an RSA (sslrsakey) or ECDSA (sslecdsakey) key in a new
// file, PEM encoded: PKCS #1 or SEC 1, or PKCS #8 when asked.
func (d *Device) createKey(req request) (int, any, *nitroErr) {
	if req.method != http.MethodPost || req.action != "create" {
		return 0, nil, errNotModelled(req.method + " " + req.resource + actionSuffix(req.action) + " (only create)")
	}
	var in struct {
		keyOptions
		Bits     number `json:"bits"`
		Exponent string `json:"exponent"`
		Curve    string `json:"curve"`
	}
	if e := req.object(&in); e != nil {
		return 0, nil, e
	}
	if in.Des || in.Des3 || in.Aes256 || in.Password != "" {
		return 0, nil, errPassphrase
	}
	if in.Keyform != "" && in.Keyform != "PEM" {
		return 0, nil, errNotModelled("keyform " + in.Keyform)
	}
	p, e := d.outputPath(in.Keyfile, "keyFile")
	if e != nil {
		return 0, nil, e
	}
	var key crypto.Signer
	var block *pem.Block
	var err error
	if req.resource == "sslrsakey" {
		if in.Curve != "" {
			return 0, nil, errArgUnknown("curve")
		}
		switch {
		case in.Bits == 0:
			return 0, nil, errArgMissing("bits")
		case in.Bits > 4096:
			return 0, nil, errKeySize
		case in.Bits < 512:
			return 0, nil, errArgValue("bits")
		case in.Exponent != "" && in.Exponent != "F4" && in.Exponent != "3":
			return 0, nil, errArgValue("exponent")
		case in.Exponent == "3":
			return 0, nil, errNotModelled("exponent 3")
		}
		var k *rsa.PrivateKey
		if k, err = rsa.GenerateKey(rand.Reader, int(in.Bits)); err == nil {
			key, block = k, &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
		}
	} else {
		if in.Bits != 0 || in.Exponent != "" {
			return 0, nil, errArgUnknown("bits")
		}
		curve := elliptic.P256()
		switch in.Curve {
		case "", "P_256":
		case "P_384":
			curve = elliptic.P384()
		default:
			return 0, nil, errArgValue("curve")
		}
		var k *ecdsa.PrivateKey
		if k, err = ecdsa.GenerateKey(curve, rand.Reader); err == nil {
			der, _ := x509.MarshalECPrivateKey(k)
			key, block = k, &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
		}
	}
	if err != nil {
		return 0, nil, &nitroErr{599, 1610, "Internal failure in SSL cert/key generation tool"}
	}
	if in.Pkcs8 {
		der, _ := x509.MarshalPKCS8PrivateKey(key)
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	d.files[p] = file{data: pem.EncodeToMemory(block), modified: time.Now()}
	return 200, nil, nil
}

// parseKey reads a PEM private key file (PKCS #1, SEC 1 or PKCS #8, not
// encrypted).
func parseKey(data []byte) (crypto.Signer, bool) {
	b, _ := pem.Decode(data)
	if b == nil || b.Headers["Proc-Type"] != "" {
		return nil, false
	}
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		return k, err == nil
	case "EC PRIVATE KEY":
		k, err := x509.ParseECPrivateKey(b.Bytes)
		return k, err == nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if s, ok := k.(crypto.Signer); ok && err == nil {
			return s, true
		}
	}
	return nil, false
}

var (
	countryCode = regexp.MustCompile(`^[A-Za-z]{2}$`)
	oidEmail    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
)

// certReq writes a CSR signed by an existing key file, with the subject
// fields given and the subject alternative names of subjectaltname
// ("DNS:a DNS:b IP:10.0.0.1", separated by spaces).
func (d *Device) certReq(req request) (int, any, *nitroErr) {
	if req.method != http.MethodPost || req.action != "create" {
		return 0, nil, errNotModelled(req.method + " sslcertreq" + actionSuffix(req.action) + " (only create)")
	}
	var in struct {
		Reqfile              string `json:"reqfile"`
		Keyfile              string `json:"keyfile"`
		Subjectaltname       string `json:"subjectaltname"`
		Fipskeyname          string `json:"fipskeyname"`
		Keyform              string `json:"keyform"`
		Pempassphrase        string `json:"pempassphrase"`
		Countryname          string `json:"countryname"`
		Statename            string `json:"statename"`
		Organizationname     string `json:"organizationname"`
		Organizationunitname string `json:"organizationunitname"`
		Localityname         string `json:"localityname"`
		Commonname           string `json:"commonname"`
		Emailaddress         string `json:"emailaddress"`
		Challengepassword    string `json:"challengepassword"`
		Companyname          string `json:"companyname"`
		Digestmethod         string `json:"digestmethod"`
	}
	if e := req.object(&in); e != nil {
		return 0, nil, e
	}
	switch {
	case in.Fipskeyname != "":
		return 0, nil, errFIPS
	case in.Pempassphrase != "":
		return 0, nil, errPassphrase
	case in.Challengepassword != "" || in.Companyname != "":
		return 0, nil, errNotModelled("challengepassword and companyname attributes")
	case in.Keyform != "" && in.Keyform != "PEM":
		return 0, nil, errNotModelled("keyform " + in.Keyform)
	case in.Digestmethod != "" && in.Digestmethod != "SHA256":
		if in.Digestmethod == "SHA1" {
			return 0, nil, errNotModelled("digestmethod SHA1")
		}
		return 0, nil, errArgValue("digestMethod")
	case in.Keyfile == "":
		return 0, nil, errArgMissing("keyFile")
	case in.Countryname == "":
		return 0, nil, errArgMissing("countryName")
	case in.Statename == "":
		return 0, nil, errArgMissing("stateName")
	case in.Organizationname == "":
		return 0, nil, errArgMissing("organizationName")
	case !countryCode.MatchString(in.Countryname):
		return 0, nil, errArgValue("countryName")
	}
	p, e := d.outputPath(in.Reqfile, "reqFile")
	if e != nil {
		return 0, nil, e
	}
	kf, ok := d.files[filePath(in.Keyfile)]
	if !ok {
		return 0, nil, &nitroErr{599, 1632, "No such key file exists"}
	}
	key, ok := parseKey(kf.data)
	if !ok {
		return 0, nil, errBadKey
	}
	tmpl := &x509.CertificateRequest{Subject: pkix.Name{Country: []string{strings.ToUpper(in.Countryname)},
		Province: []string{in.Statename}, Organization: []string{in.Organizationname}, CommonName: in.Commonname}}
	if in.Localityname != "" {
		tmpl.Subject.Locality = []string{in.Localityname}
	}
	if in.Organizationunitname != "" {
		tmpl.Subject.OrganizationalUnit = []string{in.Organizationunitname}
	}
	if in.Emailaddress != "" {
		tmpl.Subject.ExtraNames = append(tmpl.Subject.ExtraNames, pkix.AttributeTypeAndValue{Type: oidEmail,
			Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(in.Emailaddress)}})
	}
	for _, san := range strings.Fields(in.Subjectaltname) {
		kind, v, _ := strings.Cut(san, ":")
		switch strings.ToUpper(kind) {
		case "DNS":
			tmpl.DNSNames = append(tmpl.DNSNames, v)
		case "IP":
			ip := net.ParseIP(v)
			if ip == nil {
				return 0, nil, errArgValue("subjectAltName")
			}
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		case "EMAIL":
			tmpl.EmailAddresses = append(tmpl.EmailAddresses, v)
		default:
			return 0, nil, errArgValue("subjectAltName")
		}
	}
	if d.faults.DropSANs {
		tmpl.DNSNames, tmpl.IPAddresses, tmpl.EmailAddresses = nil, nil, nil
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		return 0, nil, &nitroErr{599, 1603, "Signing operation failed"}
	}
	d.files[p] = file{data: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), modified: time.Now()}
	return 200, nil, nil
}

// firstCert is the first certificate of a PEM (or DER) file.
func firstCert(data []byte) *x509.Certificate {
	if b, _ := pem.Decode(data); b != nil {
		if b.Type != "CERTIFICATE" {
			return nil
		}
		data = b.Bytes
	} else if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----")) {
		return nil
	}
	c, err := x509.ParseCertificate(data)
	if err != nil {
		return nil
	}
	return c
}
