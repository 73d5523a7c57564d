package lighthouse

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/ottr-dev/ottr"
)

// oidEmail is PKCS #9 emailAddress, the subject attribute OpenSSL (and so
// the Lighthouse) writes for the CSR's email.
var oidEmail = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// subject holds the https.csr fields that name the request's subject.
type subject struct {
	CommonName, Country, State, Locality, Organization, OrgUnit, Email string
}

func (s subject) name() pkix.Name {
	n := pkix.Name{CommonName: s.CommonName}
	add := func(dst *[]string, v string) {
		if v != "" {
			*dst = append(*dst, v)
		}
	}
	add(&n.Country, s.Country)
	add(&n.Province, s.State)
	add(&n.Locality, s.Locality)
	add(&n.Organization, s.Organization)
	add(&n.OrganizationalUnit, s.OrgUnit)
	if s.Email != "" {
		// PKCS #9 makes emailAddress an IA5String, as OpenSSL writes it.
		n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidEmail, Value: asn1.RawValue{Tag: asn1.TagIA5String, Bytes: []byte(s.Email)}})
	}
	return n
}

// pendingCSR is a request made on the device whose key waits for its
// certificate.
type pendingCSR struct {
	key     *rsa.PrivateKey
	csr     *x509.CertificateRequest
	subject subject
}

// The fields of https and https.csr in the RAML's examples. valid_from,
// valid_to and the subject fields of https describe the certificate in
// use: a client may send them back, and they change nothing.
var (
	httpsFields = map[string]bool{"valid_from": true, "valid_to": true, "common_name": true, "country": true, "state": true, "locality": true,
		"org_unit": true, "email": true, "organization": true, "key_length": true, "cert": true, "key": true, "csr": true}
	csrFields = map[string]bool{"csr": true, "country": true, "challenge_password": true, "common_name": true, "state": true, "locality": true,
		"key_length": true, "email": true, "organization": true, "org_unit": true}
)

var (
	countryFormat = regexp.MustCompile(`^[A-Za-z]{2}$`)
	emailFormat   = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

func (d *Device) httpsAPI(w http.ResponseWriter, r *request) {
	switch {
	case r.path == "/services/https" && r.Method == http.MethodGet:
		switch r.URL.Query().Get("zip") {
		case "", "false":
			writeJSON(w, http.StatusOK, map[string]any{"https": d.details(r)})
		case "true":
			d.zipCSR(w)
		default:
			fail(w, http.StatusBadRequest, errInvalidParam("zip"))
		}
	case r.path == "/services/https" && r.Method == http.MethodPut:
		d.put(w, r)
	case r.path == "/services/https/csr" && r.Method == http.MethodGet:
		d.downloadCSR(w)
	default:
		fail(w, http.StatusNotFound, errNotFound(r.Method, r.URL.Path))
	}
}

func gmt(t time.Time) string { return t.UTC().Format("Jan _2 15:04:05 2006 GMT") }

func first(v []string) string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

// details is the RAML's https object: the certificate in use and the
// pending request. Its csr.csr is where the request can be downloaded, as
// Ottr's Lighthouse client reads it; the private key is never returned.
func (d *Device) details(r *request) map[string]any {
	leaf := d.chain[0]
	email := ""
	for _, n := range leaf.Subject.Names {
		if n.Type.Equal(oidEmail) {
			email, _ = n.Value.(string)
		}
	}
	out := map[string]any{"valid_from": gmt(leaf.NotBefore), "valid_to": gmt(leaf.NotAfter), "common_name": leaf.Subject.CommonName,
		"country": first(leaf.Subject.Country), "locality": first(leaf.Subject.Locality), "org_unit": first(leaf.Subject.OrganizationalUnit),
		"email": email, "organization": first(leaf.Subject.Organization), "key_length": keyLength(d.key.Public()),
		"cert": string(ottr.EncodeChain(d.chain))}
	if p := d.pending; p != nil {
		host := r.Host
		if d.linkHost != "" {
			host = d.linkHost
		}
		out["csr"] = map[string]any{"csr": "https://" + host + "/api/" + r.version + "/services/https/csr",
			"common_name": p.subject.CommonName, "country": p.subject.Country, "state": p.subject.State, "locality": p.subject.Locality,
			"organization": p.subject.Organization, "org_unit": p.subject.OrgUnit, "email": p.subject.Email, "key_length": p.key.N.BitLen()}
	}
	return out
}

func keyLength(k crypto.PublicKey) int {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return k.N.BitLen()
	case *ecdsa.PublicKey:
		return k.Curve.Params().BitSize
	}
	return 0
}

func pemCSR(p *pendingCSR) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: p.csr.Raw})
}

var errNoCSR = apiErr{Type: 5, Code: 29, Text: "Could not find element with UUID 'root-1-services_https_csr'.", Args: map[string]string{"uuid": "root-1-services_https_csr"}}

func (d *Device) downloadCSR(w http.ResponseWriter) {
	if d.faults.FailCSRDownload {
		fail(w, http.StatusInternalServerError, apiErr{Type: 1, Code: 33, Text: "Failed to read the certificate signing request"})
		return
	}
	if d.pending == nil {
		fail(w, http.StatusNotFound, errNoCSR)
		return
	}
	w.Header().Set("Content-Type", "application/x-pem-file")
	_, _ = w.Write(pemCSR(d.pending))
}

func (d *Device) zipCSR(w http.ResponseWriter) {
	if d.pending == nil {
		fail(w, http.StatusNotFound, errNoCSR)
		return
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, _ := zw.Create("lighthouse.csr")
	_, _ = f.Write(pemCSR(d.pending))
	_ = zw.Close()
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="lighthouse.zip"`)
	_, _ = w.Write(buf.Bytes())
}

// httpsPut is a decoded PUT /services/https body.
type httpsPut struct {
	cert, key string
	hasCSR    bool
	newCSR    bool
	subject   subject
	challenge string
	keyLength int
}

// decodePut reads the body field by field, so a field of the wrong type
// or one the device does not have is named in the refusal.
func decodePut(body io.Reader) (*httpsPut, []apiErr) {
	dec := json.NewDecoder(io.LimitReader(body, 1<<20))
	dec.UseNumber()
	var top map[string]any
	if err := dec.Decode(&top); err != nil || top == nil {
		return nil, []apiErr{errBadBody}
	}
	h, ok := top["https"].(map[string]any)
	if !ok {
		return nil, []apiErr{errBadBody}
	}
	var errs []apiErr
	str := func(obj map[string]any, field, uuid string) string {
		switch v := obj[field].(type) {
		case nil:
			return ""
		case string:
			return v
		default:
			errs = append(errs, errWrongType(uuid))
			return ""
		}
	}
	in := &httpsPut{}
	for f := range h {
		if !httpsFields[f] {
			errs = append(errs, errInvalidParam(f))
		}
	}
	in.cert, in.key = str(h, "cert", "cert"), str(h, "key", "key")
	switch c := h["csr"].(type) {
	case nil:
	case map[string]any:
		in.hasCSR = true
		for f := range c {
			if !csrFields[f] {
				errs = append(errs, errInvalidParam("csr."+f))
			}
		}
		in.newCSR = str(c, "csr", "csr.csr") == "new"
		in.subject = subject{CommonName: str(c, "common_name", "csr.common_name"), Country: str(c, "country", "csr.country"),
			State: str(c, "state", "csr.state"), Locality: str(c, "locality", "csr.locality"), Organization: str(c, "organization", "csr.organization"),
			OrgUnit: str(c, "org_unit", "csr.org_unit"), Email: str(c, "email", "csr.email")}
		in.challenge = str(c, "challenge_password", "csr.challenge_password")
		switch n := c["key_length"].(type) {
		case nil:
		case json.Number:
			v, err := n.Int64()
			if err != nil {
				errs = append(errs, errWrongType("csr.key_length"))
			}
			in.keyLength = int(v)
		default:
			errs = append(errs, errWrongType("csr.key_length"))
		}
	default:
		errs = append(errs, errWrongType("csr"))
	}
	return in, errs
}

func (d *Device) put(w http.ResponseWriter, r *request) {
	in, errs := decodePut(r.Body)
	if len(errs) > 0 {
		fail(w, http.StatusBadRequest, errs...)
		return
	}
	if d.faults.PushFail {
		fail(w, http.StatusInternalServerError, errPushFailed)
		return
	}
	switch {
	case in.newCSR && in.cert != "":
		fail(w, http.StatusBadRequest, apiErr{Type: 4, Code: 48, Text: "Invalid parameter 'cert' was provided: a certificate cannot be uploaded in the request that creates a new CSR.",
			Args: map[string]string{"param": "cert"}})
		return
	case in.newCSR:
		if !d.newCSR(w, in) {
			return
		}
	case in.cert != "":
		if !d.install(w, in) {
			return
		}
	case !in.hasCSR:
		d.pending = nil // "a CSR can be cancelled by sending through no https.csr body"
	}
	d.puts++
	writeJSON(w, http.StatusOK, map[string]any{"https": d.details(r)})
}

// validSubject checks the fields as OpenSSL's request maker would take
// them: a two-letter country, an address for the email, and no more than
// X.520's 64 characters in a field.
func validSubject(s subject) []apiErr {
	const uuid = "root-1-services_https_csr_"
	var errs []apiErr
	if strings.TrimSpace(s.CommonName) == "" {
		errs = append(errs, errRequired("common_name"))
	}
	if s.Country != "" && !countryFormat.MatchString(s.Country) {
		errs = append(errs, errFormat(uuid+"country"))
	}
	if s.Email != "" && !emailFormat.MatchString(s.Email) {
		errs = append(errs, errFormat(uuid+"email"))
	}
	for field, v := range map[string]string{"common_name": s.CommonName, "state": s.State, "locality": s.Locality,
		"organization": s.Organization, "org_unit": s.OrgUnit, "email": s.Email} {
		if len(v) > 64 || strings.IndexFunc(v, unicode.IsControl) >= 0 {
			errs = append(errs, errFormat(uuid+field))
		}
	}
	return errs
}

func (d *Device) newCSR(w http.ResponseWriter, in *httpsPut) bool {
	errs := validSubject(in.subject)
	bits := in.keyLength
	if bits == 0 {
		bits = 2048
	}
	if bits != 2048 && bits != 4096 {
		errs = append(errs, errFormat("root-1-services_https_csr_key_length"))
	}
	if in.challenge != "" {
		// OpenSSL would add a challengePassword attribute; Go's request
		// maker cannot, so the simulator refuses rather than drop it.
		errs = append(errs, apiErr{Type: 4, Code: 48, Text: "Invalid parameter 'challenge_password' was provided: the simulator does not put challenge passwords in requests.",
			Args: map[string]string{"param": "challenge_password"}})
	}
	if len(errs) > 0 {
		fail(w, http.StatusBadRequest, append(errs, errPushFailed)...)
		return false
	}
	if in.subject.Country != "" {
		in.subject.Country = strings.ToUpper(in.subject.Country)
	}
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		fail(w, http.StatusInternalServerError, errPushFailed)
		return false
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: in.subject.name()}, key)
	if err != nil {
		fail(w, http.StatusInternalServerError, errPushFailed)
		return false
	}
	csr, _ := x509.ParseCertificateRequest(der)
	d.pending = &pendingCSR{key: key, csr: csr, subject: in.subject}
	return true
}

// install replaces the certificate. Without https.csr in the body the
// pending request is cancelled first (RAML), so the certificate must then
// be for the key sent with it or for the key in use.
func (d *Device) install(w http.ResponseWriter, in *httpsPut) bool {
	chain, err := ottr.ParseChain([]byte(in.cert))
	if err != nil || len(chain) == 0 {
		fail(w, http.StatusBadRequest, errFormat("root-1-services_https_cert"), errPushFailed)
		return false
	}
	key := d.key
	if in.hasCSR && d.pending != nil {
		key = d.pending.key
	}
	if in.key != "" {
		if key, err = parseKey(in.key); err != nil {
			fail(w, http.StatusBadRequest, errFormat("root-1-services_https_key"), errPushFailed)
			return false
		}
	}
	if !ottr.SamePublicKey(key.Public(), chain[0].PublicKey) {
		fail(w, http.StatusBadRequest, apiErr{Type: 2, Code: 14, Text: "Certificate does not match the private key.", Args: map[string]string{"uuid": "root-1-services_https_cert"}},
			errPushFailed)
		return false
	}
	d.key, d.chain, d.pending = key, chain, nil
	restart := d.faults.RestartFor
	if restart == 0 {
		restart = 50 * time.Millisecond
	}
	d.downUntil = time.Now().Add(restart)
	return true
}

func parseKey(p string) (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("no PEM")
	}
	var k any
	var err error
	switch b.Type {
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(b.Bytes)
	default:
		k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
	}
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return s, nil
}
