package redfish

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/ottr-dev/ottr"
)

// keyParams maps a key type to GenerateCSR's KeyPairAlgorithm,
// KeyBitLength and KeyCurveId (TCG algorithm and curve names, as the
// schema asks); "" sends none and the BMC makes its default key.
func keyParams(kt string) (map[string]any, error) {
	switch kt {
	case "":
		return map[string]any{}, nil
	case "rsa2048", "rsa3072", "rsa4096":
		var bits int
		fmt.Sscanf(kt, "rsa%d", &bits)
		return map[string]any{"KeyPairAlgorithm": "TPM_ALG_RSA", "KeyBitLength": bits}, nil
	case "p256":
		return map[string]any{"KeyPairAlgorithm": "TPM_ALG_ECDSA", "KeyCurveId": "TPM_ECC_NIST_P256"}, nil
	case "p384":
		return map[string]any{"KeyPairAlgorithm": "TPM_ALG_ECDSA", "KeyCurveId": "TPM_ECC_NIST_P384"}, nil
	}
	return nil, ottr.Errorf(ottr.EINVALID, "Redfish: cannot ask a BMC for a %q key (p256, p384, rsa2048, rsa3072, rsa4096)", kt)
}

// keyIs reports whether pub is a key of type kt ("" is any).
func keyIs(pub any, kt string) bool {
	switch kt {
	case "p256", "p384":
		k, ok := pub.(*ecdsa.PublicKey)
		return ok && k.Curve == map[string]elliptic.Curve{"p256": elliptic.P256(), "p384": elliptic.P384()}[kt]
	case "rsa2048", "rsa3072", "rsa4096":
		k, ok := pub.(*rsa.PublicKey)
		return ok && fmt.Sprintf("rsa%d", k.N.BitLen()) == kt
	}
	return true
}

// CSR has the BMC make a key pair and a request for every name
// (CertificateService.GenerateCSR on the HTTPS certificate collection),
// with the request's subject fields; the key stays on the BMC until a
// certificate for it is installed.
func (d *Driver) CSR(ctx context.Context, req ottr.CSRRequest) (*x509.CertificateRequest, error) {
	params, err := keyParams(req.KeyType)
	if err != nil {
		return nil, err
	}
	if c := req.Subject.Country; c != "" && (len(c) != 2 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "") {
		return nil, ottr.Invalid("Redfish request", ottr.Problem{Field: "subject.country", Message: fmt.Sprintf("%q: want a two-letter country code", c)})
	}
	svc, err := d.discover(ctx)
	if err != nil {
		return nil, err
	}
	params["CertificateCollection"] = odataID{svc.collection}
	params["CommonName"] = req.CommonName
	// Every name, the common name too: CAs take names from the SAN
	// extension, and the BMC puts only AlternativeNames there.
	params["AlternativeNames"] = req.Names()
	s := req.Subject
	for k, v := range map[string]string{"Country": s.Country, "State": s.State, "City": s.Locality, "Organization": s.Organization,
		"OrganizationalUnit": s.OrganizationalUnit, "Email": s.Email} {
		if v != "" {
			params[k] = v
		}
	}
	a, err := d.do(ctx, http.MethodPost, svc.csrTarget, params, "GenerateCSR")
	if err != nil {
		return nil, err
	}
	var out struct {
		CSRString string `json:"CSRString"`
	}
	if err := json.Unmarshal(a.body, &out); err != nil || out.CSRString == "" {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "Redfish %s: GenerateCSR answered without a CSRString", d.c.Address)
	}
	csr, err := ottr.ParseCSR([]byte(out.CSRString))
	if err != nil {
		return nil, ottr.Errorf(ottr.EUNAVAILABLE, "Redfish %s: GenerateCSR: %w", d.c.Address, err)
	}
	ottr.Logf(ctx, "the BMC generated a key and request for %s", req.CommonName)
	var bad []string
	for _, n := range req.Names() {
		if !slices.Contains(csr.DNSNames, n) {
			bad = append(bad, n)
		}
	}
	if csr.Subject.CommonName != req.CommonName {
		bad = append(bad, fmt.Sprintf("common name %q (the request has %q)", req.CommonName, csr.Subject.CommonName))
	}
	bad = append(bad, req.Subject.Missing(csr.Subject)...)
	if !keyIs(csr.PublicKey, req.KeyType) {
		bad = append(bad, "a "+req.KeyType+" key")
	}
	if len(bad) > 0 {
		// The key waits on the BMC until the next GenerateCSR replaces it;
		// Redfish has no call to delete it.
		return nil, ottr.Errorf(ottr.EINVALID, "Redfish %s: the request the BMC made leaves out %s; nothing was ordered", d.c.Address, strings.Join(bad, "; "))
	}
	return csr, nil
}
