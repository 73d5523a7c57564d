package bigip

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/ottr-dev/ottr"
)

// csrAttributes maps the properties of "create sys crypto csr" to the
// subject field each sets. iControl REST takes the camelCase names F5's
// clients send (commonName, emailAddress, subjectAlternativeName) and the
// tmsh names (common-name, email-address, subject-alternative-name) Ottr's
// f5-14.x container sent.
var csrAttributes = map[string]string{
	"commonName": "cn", "common-name": "cn", "country": "c", "state": "st", "city": "l",
	"organization": "o", "ou": "ou", "emailAddress": "email", "email-address": "email",
	"subjectAlternativeName": "san", "subject-alternative-name": "san",
}

// cryptoCSR is POST /mgmt/tm/sys/crypto/csr: a request made with an
// existing key (sys file ssl-key), kept in /config/ssl/ssl.csr/<name>.
func (d *Device) cryptoCSR(body []byte) (int, any) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(body, &raw); err != nil {
		return tmErr(400, "Found invalid JSON body: "+err.Error())
	}
	var name, key, partition string
	fields := map[string]string{}
	for k, v := range raw {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return tmErr(400, fmt.Sprintf("Found invalid JSON body: %s must be a string", k))
		}
		switch k {
		case "name":
			name = s
		case "key":
			key = s
		case "partition":
			partition = s
		case "kind", "fullPath":
		default:
			f, ok := csrAttributes[k]
			if !ok {
				return notModelled("crypto csr property " + k)
			}
			fields[f] = s
		}
	}
	if name == "" {
		return tmErr(400, "01070734:3: Configuration error: csr name is required")
	}
	if key == "" {
		return tmErr(400, "01070734:3: Configuration error: key is required to generate a CSR")
	}
	if fields["cn"] == "" {
		return tmErr(400, "01070734:3: Configuration error: common-name is required to generate a CSR")
	}
	if c := fields["c"]; c != "" && len(c) != 2 {
		return tmErr(400, fmt.Sprintf("01070734:3: Configuration error: country %q must be a two-letter code", c))
	}
	if partition != "" && partition != "Common" {
		return tmErr(400, fmt.Sprintf("01020036:3: The requested folder (/%s) was not found.", partition))
	}
	name = strings.TrimPrefix(name, "/Common/")
	kfp := "/Common/" + strings.TrimPrefix(key, "/Common/")
	k := d.cfg.keys[kfp]
	if k == nil {
		return tmErr(404, fmt.Sprintf("01020036:3: The requested Certificate Key File (%s) was not found.", kfp))
	}
	if d.csrs[name] != nil {
		return tmErr(409, fmt.Sprintf("01020066:3: The requested Certificate Signing Request File (/Common/%s) already exists in partition Common.", name))
	}
	var sans []string
	for _, s := range strings.Split(fields["san"], ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		n, ok := strings.CutPrefix(s, "DNS:")
		if !ok {
			return notModelled(fmt.Sprintf("subject-alternative-name %q (only DNS:<name>)", s))
		}
		sans = append(sans, n)
	}
	if d.faults.DropSANs {
		sans = nil
	}
	subj := ottr.Subject{Country: fields["c"], State: fields["st"], Locality: fields["l"], Organization: fields["o"],
		OrganizationalUnit: fields["ou"], Email: fields["email"]}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subj.Name(fields["cn"]), DNSNames: sans}, k.signer)
	if err != nil {
		return tmErr(500, "01070711:3: Caught error generating the CSR")
	}
	d.csrs[name], _ = x509.ParseCertificateRequest(der)
	out := map[string]any{"kind": "tm:sys:crypto:csr:csrstate", "name": name, "partition": "Common", "fullPath": "/Common/" + name,
		"key": kfp, "commonName": fields["cn"]}
	for k, f := range map[string]string{"country": "c", "state": "st", "city": "l", "organization": "o", "ou": "ou", "emailAddress": "email", "subjectAlternativeName": "san"} {
		if fields[f] != "" {
			out[k] = fields[f]
		}
	}
	return 200, out
}
