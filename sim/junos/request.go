package junos

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"net"
	"strings"
)

const genCSRPrefix = "request security pki generate-certificate-request "

// generateRequest answers request security pki generate-certificate-request:
// options in any order, as the CLI takes them; the subject's DN keeps
// every attribute Junos documents (DC, CN, OU, O, SERIALNUMBER, L, ST, C),
// domain-name, ip-address and email go into the subject alternative
// names, one of each, as Junos allows.
func (d *Device) generateRequest(cmd string) string {
	args, err := splitArgs(strings.TrimPrefix(cmd, genCSRPrefix))
	if err != nil {
		return "error: syntax error: " + err.Error()
	}
	opts := map[string]string{}
	for i := 0; i < len(args); i += 2 {
		switch args[i] {
		case "certificate-id", "subject", "domain-name", "ip-address", "email", "digest", "filename":
		default:
			return "error: syntax error, expecting <command>: " + args[i]
		}
		if i+1 == len(args) {
			return "error: syntax error: " + args[i] + " needs a value"
		}
		if _, twice := opts[args[i]]; twice {
			return "error: syntax error: " + args[i] + " given twice"
		}
		opts[args[i]] = args[i+1]
	}
	id := opts["certificate-id"]
	if id == "" {
		return "error: syntax error: missing mandatory argument: certificate-id"
	}
	c := d.keys[id]
	if c == nil {
		return "error: Key pair " + id + " not found"
	}
	if opts["subject"] == "" {
		return "error: syntax error: missing mandatory argument: subject"
	}
	subject, err := parseDN(opts["subject"])
	if err != nil {
		return "error: " + err.Error()
	}
	tmpl := &x509.CertificateRequest{Subject: subject}
	switch opts["digest"] {
	case "", "sha-1", "sha-256":
	default:
		return "error: syntax error: digest " + opts["digest"] + " (sha-1 or sha-256)"
	}
	if n := opts["domain-name"]; n != "" {
		tmpl.DNSNames = []string{n} // Junos puts exactly one domain-name in the request
	}
	if ip := opts["ip-address"]; ip != "" {
		p := net.ParseIP(ip)
		if p == nil {
			return "error: invalid ip-address " + ip
		}
		tmpl.IPAddresses = []net.IP{p}
	}
	if e := opts["email"]; e != "" {
		tmpl.EmailAddresses = []string{e} // "Alternate subject: … email"
	}
	der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, c.key)
	if err != nil {
		return "error: certificate request generation failed"
	}
	block := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})
	if f := opts["filename"]; f != "" {
		d.files[f] = block
	}
	return "Generated certificate request\n" + string(block) +
		"Fingerprint:\n9a:59:1c:00:de:ad:be:ef:00:11:22:33:44:55:66:77:88:99:aa:2e (sha1)\na8:82:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:d1 (md5)"
}

// splitArgs splits CLI arguments on spaces, keeping a double-quoted
// argument whole.
func splitArgs(s string) ([]string, error) {
	var args []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return nil, fmt.Errorf("unterminated quoted string")
			}
			args = append(args, s[1:end+1])
			s = s[end+2:]
			continue
		}
		word, rest, _ := strings.Cut(s, " ")
		args = append(args, word)
		s = rest
	}
	return args, nil
}

var (
	oidDC     = asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 25}
	oidSerial = asn1.ObjectIdentifier{2, 5, 4, 5}
)

// parseDN reads a Junos subject string, "CN=…,OU=…,O=…,L=…,ST=…,C=…".
func parseDN(s string) (pkix.Name, error) {
	var n pkix.Name
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		v = strings.TrimSpace(v)
		if !ok || v == "" {
			return n, fmt.Errorf("invalid subject %q: %q is not attribute=value", s, part)
		}
		switch strings.ToUpper(strings.TrimSpace(k)) {
		case "CN":
			n.CommonName = v
		case "OU":
			n.OrganizationalUnit = append(n.OrganizationalUnit, v)
		case "O":
			n.Organization = append(n.Organization, v)
		case "L":
			n.Locality = append(n.Locality, v)
		case "ST":
			n.Province = append(n.Province, v)
		case "C":
			if len(v) != 2 {
				return n, fmt.Errorf("invalid subject %q: C must be a two-letter country code", s)
			}
			n.Country = append(n.Country, v)
		case "DC":
			n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidDC, Value: v})
		case "SERIALNUMBER":
			n.ExtraNames = append(n.ExtraNames, pkix.AttributeTypeAndValue{Type: oidSerial, Value: v})
		default:
			return n, fmt.Errorf("invalid subject %q: unknown attribute %s (DC, CN, OU, O, SERIALNUMBER, L, ST, C)", s, k)
		}
	}
	return n, nil
}
