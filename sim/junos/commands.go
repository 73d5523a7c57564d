package junos

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"sort"
	"strings"

	"github.com/ottr-dev/ottr"
)

func (d *Device) command(cmd string) string {
	switch {
	case genKey.MatchString(cmd):
		m := genKey.FindStringSubmatch(cmd)
		if d.keys[m[1]] != nil {
			return output("error: Command aborted as key file already exists. Retry after clearing the existing key")
		}
		size, typ := m[2], m[3]
		if typ == "" {
			typ = "rsa"
		}
		var key crypto.Signer
		var err error
		switch {
		case typ == "ecdsa" && (size == "256" || size == ""):
			key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			size = "256"
		case typ == "ecdsa" && size == "384":
			key, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		case typ == "rsa" && (size == "" || size == "2048" || size == "3072" || size == "4096"):
			if size == "" {
				size = "2048"
			}
			bits := map[string]int{"2048": 2048, "3072": 3072, "4096": 4096}[size]
			key, err = rsa.GenerateKey(rand.Reader, bits)
		default:
			return output("error: invalid key size " + size + " for type " + typ)
		}
		if err != nil {
			return output("error: key generation failed")
		}
		d.keys[m[1]] = &localCert{key: key}
		return output(fmt.Sprintf("Generated key pair %s, key size %s bits", m[1], size))
	case genCSR.MatchString(cmd):
		m := genCSR.FindStringSubmatch(cmd)
		c := d.keys[m[1]]
		if c == nil {
			return output("error: Key pair " + m[1] + " not found")
		}
		tmpl := &x509.CertificateRequest{Subject: pkix.Name{CommonName: m[2]}}
		if m[3] != "" {
			tmpl.DNSNames = []string{m[3]} // Junos puts exactly one domain-name in the request
		}
		der, err := x509.CreateCertificateRequest(rand.Reader, tmpl, c.key)
		if err != nil {
			return output("error: certificate request generation failed")
		}
		return output("Generated certificate request\n" + string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})) +
			"Fingerprint:\n9a:59:1c:00:de:ad:be:ef:00:11:22:33:44:55:66:77:88:99:aa:2e (sha1)\na8:82:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:d1 (md5)")
	case caLoad.MatchString(cmd):
		m := caLoad.FindStringSubmatch(cmd)
		if !d.committed["set security pki ca-profile "+m[1]+" ca-identity "+m[1]] {
			return output("error: CA profile " + m[1] + " does not exist")
		}
		chain, err := ottr.ParseChain(d.files[m[2]])
		if err != nil || len(chain) == 0 {
			return output("error: Failed to load CA certificate from file " + m[2])
		}
		d.cas[m[1]] = chain
		return output(fmt.Sprintf("Fingerprint:\n  00:11:22:33 (sha1)\nCA certificate for profile %s loaded successfully", m[1]))
	case localLoad.MatchString(cmd):
		m := localLoad.FindStringSubmatch(cmd)
		chain, err := ottr.ParseChain(d.files[m[2]])
		if err != nil || len(chain) == 0 {
			return output("error: Failed to load local certificate from file " + m[2])
		}
		c := d.keys[m[1]]
		if m[3] != "" {
			k, err := parseKey(d.files[m[3]])
			if err != nil {
				return output("error: Failed to load key from file " + m[3])
			}
			if c != nil {
				return output("error: Certificate identifier " + m[1] + " already exists")
			}
			c = &localCert{key: k}
			d.keys[m[1]] = c
		}
		if c == nil {
			return output("error: Key pair " + m[1] + " not found")
		}
		if !ottr.SamePublicKey(c.key.Public(), chain[0].PublicKey) {
			return output("error: Local certificate " + m[1] + " does not match its key pair")
		}
		c.chain = chain[:1]
		return output("Local certificate loaded successfully")
	case clearLocal.MatchString(cmd):
		m := clearLocal.FindStringSubmatch(cmd)
		if c := d.keys[m[2]]; c != nil {
			if m[1] == "key-pair" {
				delete(d.keys, m[2])
			} else {
				c.chain = nil
			}
		}
		return output("")
	case cmd == "show security pki key-pair":
		var ids []string
		for id := range d.keys {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var b strings.Builder
		for _, id := range ids {
			alg := "RSA"
			if _, ok := d.keys[id].key.(*ecdsa.PrivateKey); ok {
				alg = "ECDSA"
			}
			fmt.Fprintf(&b, "Certificate identifier: %s\n  Type: %s\n  Keypair Location: Keypair generated locally\n\n", id, alg)
		}
		return output(b.String())
	case showLocal.MatchString(cmd):
		return output(d.showLocal(showLocal.FindStringSubmatch(cmd)[1]))
	case strings.HasPrefix(cmd, "show configuration system services web-management"):
		var lines []string
		for l := range d.committed {
			if strings.HasPrefix(l, "set system services web-management") {
				lines = append(lines, l)
			}
		}
		sort.Strings(lines)
		return output(strings.Join(lines, "\n"))
	case fileList.MatchString(cmd):
		var names []string
		for n := range d.files {
			names = append(names, strings.TrimPrefix(n, "/var/tmp/"))
		}
		sort.Strings(names)
		return output("/var/tmp/:\n" + strings.Join(names, "\n"))
	case fileDelete.MatchString(cmd):
		delete(d.files, fileDelete.FindStringSubmatch(cmd)[1])
		return output("")
	}
	return output("error: syntax error, expecting <command>: " + cmd)
}

func (d *Device) showLocal(only string) string {
	var ids []string
	for id, c := range d.keys {
		if len(c.chain) > 0 && (only == "" || id == only) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	var b strings.Builder
	for _, id := range ids {
		l := d.keys[id].chain[0]
		fmt.Fprintf(&b, "Certificate identifier: %s\n  Certificate version: 3\n  Serial number: %s\n  Issuer:\n    Common name: %s\n  Subject:\n    Common name: %s\n"+
			"  Validity:\n    Not before: %s\n    Not after: %s\n  Keypair Location: Keypair generated locally\n\n",
			id, l.SerialNumber.Text(16), l.Issuer.CommonName, l.Subject.CommonName, l.NotBefore.UTC().Format("01-02-2006 15:04 UTC"), l.NotAfter.UTC().Format("01-02-2006 15:04 UTC"))
	}
	return b.String()
}

func parseKey(b []byte) (crypto.Signer, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("no PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("not a signing key")
	}
	return s, nil
}
