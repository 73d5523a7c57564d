package redfish

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

const (
	generateCSR = "CertificateService.GenerateCSR"
	replaceCert = "CertificateService.ReplaceCertificate"
)

func (d *Device) certificateService() map[string]any {
	actions := map[string]any{"#" + generateCSR: map[string]any{"target": certSvcURI + "/Actions/" + generateCSR,
		"KeyPairAlgorithm@Redfish.AllowableValues": d.keyAlgorithms()}}
	if !d.profile.NoReplace {
		actions["#"+replaceCert] = map[string]any{"target": certSvcURI + "/Actions/" + replaceCert,
			"CertificateType@Redfish.AllowableValues": d.profile.CertificateTypes}
	}
	return map[string]any{"@odata.id": certSvcURI, "@odata.type": "#CertificateService.v1_0_4.CertificateService",
		"Id": "CertificateService", "Name": "Certificate Service", "Description": "Actions available to manage certificates",
		"CertificateLocations": link(certSvcURI + "/CertificateLocations"), "Actions": actions}
}

func (d *Device) keyAlgorithms() []string {
	var out []string
	for _, kt := range d.profile.KeyTypes {
		a := "TPM_ALG_RSA"
		if strings.HasPrefix(kt, "p") {
			a = "TPM_ALG_ECDSA"
		}
		if !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

func (d *Device) certificateLocations() map[string]any {
	return map[string]any{"@odata.id": certSvcURI + "/CertificateLocations", "@odata.type": "#CertificateLocations.v1_0_2.CertificateLocations",
		"Id": "CertificateLocations", "Name": "Certificate Locations",
		"Links": map[string]any{"Certificates": []map[string]string{link(d.collectionURI() + "/" + d.https.id)}}}
}

func (d *Device) certificateCollection() map[string]any {
	c := collection(d.collectionURI(), "#CertificateCollection.CertificateCollection", "HTTPS Certificate Collection",
		[]string{d.collectionURI() + "/" + d.https.id})
	c["@Redfish.SupportedCertificates"] = d.profile.CertificateTypes
	return c
}

// certificateBody is the Certificate resource for p.
func (d *Device) certificateBody(p *pair) map[string]any {
	leaf := p.chain[0]
	sum := sha256.Sum256(leaf.Raw)
	typ := "PEM"
	if len(p.chain) > 1 && slices.Contains(d.profile.CertificateTypes, "PEMchain") {
		typ = "PEMchain"
	}
	ident := func(n func() (cn string, c, st, l, o, ou []string)) map[string]string {
		cn, c, st, l, o, ou := n()
		return map[string]string{"CommonName": cn, "Country": strings.Join(c, ","), "State": strings.Join(st, ","),
			"City": strings.Join(l, ","), "Organization": strings.Join(o, ","), "OrganizationalUnit": strings.Join(ou, ",")}
	}
	usage := []string{}
	if leaf.KeyUsage&x509.KeyUsageDigitalSignature != 0 {
		usage = append(usage, "DigitalSignature")
	}
	if leaf.KeyUsage&x509.KeyUsageKeyEncipherment != 0 {
		usage = append(usage, "KeyEncipherment")
	}
	if slices.Contains(leaf.ExtKeyUsage, x509.ExtKeyUsageServerAuth) {
		usage = append(usage, "ServerAuthentication")
	}
	return map[string]any{"@odata.id": d.collectionURI() + "/" + p.id, "@odata.type": "#Certificate.v1_8_0.Certificate",
		"Id": p.id, "Name": "HTTPS Certificate", "CertificateString": string(ottr.EncodeChain(p.chain)), "CertificateType": typ,
		"CertificateUsageTypes": []string{"Web"}, "KeyUsage": usage,
		"Subject": ident(func() (string, []string, []string, []string, []string, []string) {
			s := leaf.Subject
			return s.CommonName, s.Country, s.Province, s.Locality, s.Organization, s.OrganizationalUnit
		}),
		"Issuer": ident(func() (string, []string, []string, []string, []string, []string) {
			s := leaf.Issuer
			return s.CommonName, s.Country, s.Province, s.Locality, s.Organization, s.OrganizationalUnit
		}),
		"ValidNotBefore": leaf.NotBefore.UTC().Format(time.RFC3339), "ValidNotAfter": leaf.NotAfter.UTC().Format(time.RFC3339),
		"SerialNumber": colonHex(leaf.SerialNumber.Bytes()), "Fingerprint": colonHex(sum[:]), "FingerprintHashAlgorithm": "TPM_ALG_SHA256",
		"SignatureAlgorithm": leaf.SignatureAlgorithm.String()}
}

func colonHex(b []byte) string {
	h := strings.ToUpper(hex.EncodeToString(b))
	var parts []string
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func (d *Device) getCertificate(w http.ResponseWriter, r *http.Request, _ string) {
	if d.fault(w, "CertificateGET") {
		return
	}
	d.getJSON(w, r, d.certificateBody(d.https))
}

// deleteCertificate refuses: the HTTPS collection's one certificate is the
// one the web server uses (after checking If-Match, as for any change).
func (d *Device) deleteCertificate(w http.ResponseWriter, r *http.Request, _ string) {
	if !d.ifMatch(w, r, d.certificateBody(d.https)) {
		return
	}
	fail(w, http.StatusConflict, msg("ResourceInUse"))
}

// ifMatch checks If-Match against the resource's ETag: 412 when it differs.
func (d *Device) ifMatch(w http.ResponseWriter, r *http.Request, body map[string]any) bool {
	im := r.Header.Get("If-Match")
	if im == "" || im == "*" || im == etag(body) {
		return true
	}
	fail(w, http.StatusPreconditionFailed, msg("PreconditionFailed"))
	return false
}

// reference reads a link parameter: {"@odata.id": uri}, or, unless the
// profile is strict, the bare URI string gofish and sushy send.
func (d *Device) reference(raw json.RawMessage) (string, bool) {
	var ref struct {
		ID *string `json:"@odata.id"`
	}
	if err := json.Unmarshal(raw, &ref); err == nil && ref.ID != nil {
		return *ref.ID, true
	}
	var s string
	if !d.profile.StrictReferences && json.Unmarshal(raw, &s) == nil {
		return s, true
	}
	return "", false
}

var csrParams = []string{"CertificateCollection", "CommonName", "AlternativeNames", "City", "Country", "Email", "KeyBitLength",
	"KeyCurveId", "KeyPairAlgorithm", "Organization", "OrganizationalUnit", "State",
	"ChallengePassword", "ContactPerson", "GivenName", "Initials", "KeyUsage", "Surname", "UnstructuredName"}

// notModelled is the simulator's refusal of a parameter or value a BMC
// may take but the simulator does not model.
func notModelled(what string) Message {
	return Message{ODataType: "#Message.v1_1_1.Message", MessageID: registry + ".ActionParameterNotSupported",
		Message: what + " is not modelled by this Redfish simulator.", MessageArgs: []string{what},
		Severity: "Warning", MessageSeverity: "Warning", Resolution: "Remove the parameter and resubmit the request."}
}

// generateCSR makes a key pair on the BMC and a request for it; the key
// stays on the BMC, replacing any earlier request's, until a certificate
// for it is installed.
func (d *Device) generateCSR(w http.ResponseWriter, r *http.Request, _ string) {
	params, ok := d.actionParams(w, r, generateCSR, csrParams...)
	if !ok {
		return
	}
	var probs []Message
	str := func(k string) string {
		raw, ok := params[k]
		if !ok {
			return ""
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			probs = append(probs, msg("ActionParameterValueTypeError", string(raw), k, generateCSR))
		}
		return s
	}
	for _, k := range []string{"ChallengePassword", "ContactPerson", "GivenName", "Initials", "KeyUsage", "Surname", "UnstructuredName"} {
		if _, ok := params[k]; ok {
			probs = append(probs, notModelled("The parameter "+k))
		}
	}
	for _, k := range []string{"CertificateCollection", "CommonName"} {
		if _, ok := params[k]; !ok {
			probs = append(probs, msg("ActionParameterMissing", generateCSR, k))
		}
	}
	if raw, ok := params["CertificateCollection"]; ok {
		if coll, ok := d.reference(raw); !ok {
			probs = append(probs, msg("ActionParameterValueTypeError", string(raw), "CertificateCollection", generateCSR))
		} else if clean(coll) != d.collectionURI() {
			probs = append(probs, msg("ActionParameterValueError", "CertificateCollection", generateCSR))
		}
	}
	subj := ottr.Subject{Country: str("Country"), State: str("State"), Locality: str("City"), Organization: str("Organization"),
		OrganizationalUnit: str("OrganizationalUnit"), Email: str("Email")}
	cn := str("CommonName")
	if c := subj.Country; c != "" && (len(c) != 2 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "") {
		probs = append(probs, msg("ActionParameterValueFormatError", c, "Country", generateCSR))
	}
	var alt []string
	if raw, ok := params["AlternativeNames"]; ok && json.Unmarshal(raw, &alt) != nil {
		probs = append(probs, msg("ActionParameterValueTypeError", string(raw), "AlternativeNames", generateCSR))
	}
	kt, m := d.keyType(params, str)
	if m != nil {
		probs = append(probs, *m)
	}
	if len(probs) > 0 {
		fail(w, http.StatusBadRequest, probs...)
		return
	}
	if d.fault(w, "GenerateCSR") {
		return
	}
	key, err := newKey(kt)
	if err != nil {
		fail(w, http.StatusInternalServerError, msg("InternalError"))
		return
	}
	tmpl := &x509.CertificateRequest{Subject: subj.Name(cn)}
	if d.faults.DropSANs && len(alt) > 1 {
		alt = alt[:1]
	}
	for _, n := range alt {
		if ip := net.ParseIP(n); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, n)
		}
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
	if err != nil {
		fail(w, http.StatusBadRequest, msg("ActionParameterValueError", "AlternativeNames", generateCSR))
		return
	}
	d.pending = key
	writeJSON(w, http.StatusOK, map[string]any{"CSRString": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})),
		"CertificateCollection": link(d.collectionURI())})
}

// keyType maps KeyPairAlgorithm, KeyBitLength and KeyCurveId (TCG
// algorithm and curve names) to a key the profile makes; without them the
// profile's default.
func (d *Device) keyType(params map[string]json.RawMessage, str func(string) string) (string, *Message) {
	algo, curve := str("KeyPairAlgorithm"), str("KeyCurveId")
	bits := 0
	if raw, ok := params["KeyBitLength"]; ok {
		if err := json.Unmarshal(raw, &bits); err != nil {
			m := msg("ActionParameterValueTypeError", string(raw), "KeyBitLength", generateCSR)
			return "", &m
		}
	}
	var kt string
	switch algo {
	case "":
		if bits != 0 || curve != "" {
			m := msg("ActionParameterMissing", generateCSR, "KeyPairAlgorithm")
			return "", &m
		}
		return d.profile.KeyTypes[0], nil
	case "TPM_ALG_RSA":
		if bits == 0 {
			bits = 2048
		}
		kt = fmt.Sprintf("rsa%d", bits)
		if !slices.Contains(d.profile.KeyTypes, kt) {
			m := msg("ActionParameterValueNotInList", fmt.Sprint(bits), "KeyBitLength", generateCSR)
			return "", &m
		}
	case "TPM_ALG_ECDSA", "TPM_ALG_ECC":
		kt = map[string]string{"TPM_ECC_NIST_P256": "p256", "TPM_ECC_NIST_P384": "p384", "": "p384"}[curve]
		if kt == "" || !slices.Contains(d.profile.KeyTypes, kt) {
			m := msg("ActionParameterValueNotInList", curve, "KeyCurveId", generateCSR)
			return "", &m
		}
	default:
		m := msg("ActionParameterValueNotInList", algo, "KeyPairAlgorithm", generateCSR)
		return "", &m
	}
	if !slices.Contains(d.keyAlgorithms(), algo) && algo != "TPM_ALG_ECC" {
		m := msg("ActionParameterValueNotInList", algo, "KeyPairAlgorithm", generateCSR)
		return "", &m
	}
	return kt, nil
}

func newKey(kt string) (crypto.Signer, error) {
	switch kt {
	case "p256":
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "p384":
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case "rsa3072":
		return rsa.GenerateKey(rand.Reader, 3072)
	case "rsa4096":
		return rsa.GenerateKey(rand.Reader, 4096)
	}
	return rsa.GenerateKey(rand.Reader, 2048)
}
