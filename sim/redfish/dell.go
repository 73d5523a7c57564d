package redfish

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/ottr-dev/ottr"
)

// iDRAC's DelliDRACCardService. Dell's Ansible module
// (dellemc.openmanage.idrac_certificates) finds it through the manager's
// Links.Oem.Dell at /redfish/v1/Dell/Managers/<id>/DelliDRACCardService,
// posts imports to the targets its Actions name (under
// /redfish/v1/Managers/<id>/Oem/Dell/DelliDRACCardService) and exports
// to its own fixed path under /redfish/v1/Dell/…; both paths answer.
const (
	importSSL = "DelliDRACCardService.ImportSSLCertificate"
	exportSSL = "DelliDRACCardService.ExportSSLCertificate"
)

// dellCertTypes are the certificate types the import and export take;
// only Server (the web server's) is modelled.
var dellCertTypes = []string{"CA", "CSC", "ClientTrustCertificate", "Server"}

func (d *Device) dellPrefixes() []string {
	return []string{"/redfish/v1/Dell/Managers/" + d.profile.Manager + "/DelliDRACCardService",
		d.managerURI() + "/Oem/Dell/DelliDRACCardService"}
}

func (d *Device) dellResource(path string) resource {
	for _, p := range d.dellPrefixes() {
		switch path {
		case p:
			return resource{http.MethodGet: func(w http.ResponseWriter, r *http.Request, _ string) { d.getJSON(w, r, d.dellService(p)) }}
		case p + "/Actions/" + importSSL:
			return resource{http.MethodPost: d.importSSL}
		case p + "/Actions/" + exportSSL:
			return resource{http.MethodPost: d.exportSSL}
		}
	}
	return nil
}

func (d *Device) dellService(self string) map[string]any {
	target := d.dellPrefixes()[1] + "/Actions/"
	return map[string]any{"@odata.id": self, "@odata.type": "#DelliDRACCardService.v1_6_0.DelliDRACCardService",
		"Id": "DelliDRACCardService", "Name": "DelliDRACCardService",
		"Actions": map[string]any{
			"#" + importSSL: map[string]any{"target": target + importSSL, "CertificateType@Redfish.AllowableValues": dellCertTypes},
			"#" + exportSSL: map[string]any{"target": target + exportSSL, "SSLCertType@Redfish.AllowableValues": dellCertTypes},
		}}
}

// certType reads the certificate type parameter: Server is modelled, the
// other types iDRAC takes are refused as not modelled.
func certType(params map[string]json.RawMessage, name, action string) (string, []Message) {
	raw, ok := params[name]
	if !ok {
		return "", []Message{msg("ActionParameterMissing", action, name)}
	}
	var t string
	if err := json.Unmarshal(raw, &t); err != nil {
		return "", []Message{msg("ActionParameterValueTypeError", string(raw), name, action)}
	}
	switch {
	case !slices.Contains(dellCertTypes, t):
		return "", []Message{msg("ActionParameterValueNotInList", t, name, action)}
	case t != "Server":
		return "", []Message{notModelled(name + " " + t)}
	}
	return t, nil
}

// importSSL is ImportSSLCertificate {CertificateType, SSLCertificateFile,
// Passphrase}: a Server certificate for the BMC's key goes into the HTTPS
// collection and is served after the next reset.
func (d *Device) importSSL(w http.ResponseWriter, r *http.Request, _ string) {
	params, ok := d.actionParams(w, r, importSSL, "CertificateType", "SSLCertificateFile", "Passphrase")
	if !ok {
		return
	}
	_, probs := certType(params, "CertificateType", importSSL)
	var file string
	if raw, ok := params["SSLCertificateFile"]; !ok {
		probs = append(probs, msg("ActionParameterMissing", importSSL, "SSLCertificateFile"))
	} else if err := json.Unmarshal(raw, &file); err != nil {
		probs = append(probs, msg("ActionParameterValueTypeError", string(raw), "SSLCertificateFile", importSSL))
	} else if !strings.Contains(file, "-----BEGIN") {
		// iDRAC reads a file without PEM armour as base64 PKCS #12.
		probs = append(probs, notModelled("A PKCS #12 SSLCertificateFile"))
	}
	if _, ok := params["Passphrase"]; ok {
		probs = append(probs, notModelled("The parameter Passphrase (PKCS #12)"))
	}
	if len(probs) > 0 {
		fail(w, http.StatusBadRequest, probs...)
		return
	}
	chain, key, m := d.checkCertificate(file, "PEM", importSSL)
	if m != nil {
		fail(w, http.StatusBadRequest, *m)
		return
	}
	if d.faults.DropUpload {
		drop(w)
		return
	}
	if d.fault(w, "ImportSSLCertificate") {
		return
	}
	d.https = &pair{id: d.https.id, key: key, chain: chain}
	d.installed()
	writeJSON(w, http.StatusOK, map[string]any{"@Message.ExtendedInfo": []Message{msg("Success")}})
}

// exportSSL is ExportSSLCertificate {SSLCertType}: the HTTPS collection's
// certificate as CertificateFile.
func (d *Device) exportSSL(w http.ResponseWriter, r *http.Request, _ string) {
	params, ok := d.actionParams(w, r, exportSSL, "SSLCertType")
	if !ok {
		return
	}
	if _, probs := certType(params, "SSLCertType", exportSSL); len(probs) > 0 {
		fail(w, http.StatusBadRequest, probs...)
		return
	}
	if d.fault(w, "ExportSSLCertificate") {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"CertificateFile": string(ottr.EncodeChain(d.https.chain)),
		"@Message.ExtendedInfo": []Message{msg("Success")}})
}
