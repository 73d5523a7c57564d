package panos

//lint:file-ignore ST1005 the device's own messages, capitalised as PAN-OS writes them

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/ottr-dev/ottr"
)

// certName is what the device takes as a certificate name: it refuses
// names starting with anything but a letter or digit (acme.sh renames
// wildcard certificates for this reason).
var certName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._ -]{0,62}$`)

// importFile is type=import for certificates: category=certificate (the
// chain, matched to the key the entry holds), category=private-key (the
// key for the certificate the entry holds, passphrase required) and
// category=keypair (certificate and key in one PEM file). Each lands in
// the candidate configuration.
func (d *Device) importFile(w http.ResponseWriter, r *http.Request, user string) {
	category, format, name := r.Form.Get("category"), r.Form.Get("format"), r.Form.Get("certificate-name")
	switch category {
	case "certificate", "private-key", "keypair":
	case "":
		fail(w, "18", "Malformed Request: import needs the category parameter")
		return
	default:
		fail(w, "18", fmt.Sprintf("import category %q is not simulated (certificate, private-key, keypair are)", category))
		return
	}
	if v := r.Form.Get("vsys"); v != "" && v != "shared" {
		fail(w, "18", "importing into vsys "+v+" is not simulated; only shared certificates are")
		return
	}
	switch format {
	case "pem":
	case "":
		fail(w, "18", "Malformed Request: import needs the format parameter")
		return
	default:
		fail(w, "18", fmt.Sprintf("import format %q is not simulated (pem is)", format))
		return
	}
	if name == "" {
		fail(w, "17", "upload -> "+category+" -> certificate-name is missing")
		return
	}
	if !certName.MatchString(name) {
		fail(w, "17", fmt.Sprintf("upload -> %s -> certificate-name '%s' is invalid", category, name))
		return
	}
	passphrase := r.Form.Get("passphrase")
	if category != "certificate" && passphrase == "" {
		fail(w, "17", "upload -> "+category+" -> passphrase is missing")
		return
	}
	if r.MultipartForm == nil || len(r.MultipartForm.File["file"]) == 0 {
		fail(w, "18", "Malformed Request: import needs the file as a multipart field named file")
		return
	}
	if d.faults.DropImport {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				conn.Close()
				return
			}
		}
	}
	f, err := r.MultipartForm.File["file"][0].Open()
	if err != nil {
		fail(w, "18", "Malformed Request: the file cannot be read")
		return
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	failed := func(why string) { fail(w, "12", "Import of "+name+" failed. "+why) }
	var chain []*x509.Certificate
	if category != "private-key" {
		chain, err = ottr.ParseChain(certBlocks(b))
		if err != nil || len(chain) == 0 {
			failed("Malformed certificate file")
			return
		}
	}
	var key crypto.Signer
	hasKey := keyBlock(b) != nil
	switch {
	case category == "certificate" && hasKey:
		failed("The file holds a private key; import it with category=keypair or category=private-key (a key in a certificate upload is not simulated)")
		return
	case category != "certificate":
		if !hasKey {
			failed("No private key in the file")
			return
		}
		key, err = parseKey(keyBlock(b), passphrase)
		if err != nil {
			failed(err.Error())
			return
		}
	}
	c := d.candidate.certs[name]
	switch category {
	case "certificate":
		if c != nil && c.key != nil && !ottr.SamePublicKey(c.key.Public(), chain[0].PublicKey) {
			failed("The certificate does not match the existing private key")
			return
		}
		if c == nil {
			c = &Cert{Name: name}
			d.candidate.certs[name] = c
		}
		c.Chain = chain
	case "private-key":
		if c == nil || len(c.Chain) == 0 {
			failed("There is no certificate " + name + " to add the key to; import the certificate first")
			return
		}
		if !ottr.SamePublicKey(key.Public(), c.Chain[0].PublicKey) {
			failed("The private key does not match the certificate")
			return
		}
		c.key = key
	case "keypair":
		if !ottr.SamePublicKey(key.Public(), chain[0].PublicKey) {
			failed("The private key does not match the certificate")
			return
		}
		if c == nil {
			c = &Cert{Name: name}
			d.candidate.certs[name] = c
		}
		c.Chain, c.key = chain, key
	}
	if c.key != nil && c.CSR != nil && !ottr.SamePublicKey(c.key.Public(), c.CSR.PublicKey) {
		c.CSR = nil // a request for a key the entry no longer holds
	}
	c.CommonName = c.Chain[0].Subject.CommonName
	c.Algorithm = algorithmOf(c.key)
	if c.key == nil {
		c.Algorithm = algorithmOfPublic(c.Chain[0].PublicKey)
	}
	d.changed(user, objectKey("cert:"+name))
	reply(w, "success", "", "<msg><line>"+esc(category)+" "+esc(name)+" imported successfully</line></msg>")
}

func algorithmOfPublic(k any) string {
	if _, ok := k.(*ecdsa.PublicKey); ok {
		return "ECDSA"
	}
	return "RSA"
}

// certBlocks keeps the CERTIFICATE blocks of a PEM file.
func certBlocks(b []byte) []byte {
	var out []byte
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return out
		}
		if block.Type == "CERTIFICATE" {
			out = append(out, pem.EncodeToMemory(block)...)
		}
	}
}

func keyBlock(b []byte) *pem.Block {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil
		}
		if strings.HasSuffix(block.Type, "PRIVATE KEY") {
			return block
		}
	}
}

// parseKey reads a private key: PKCS#8, PKCS#1 or SEC 1, in the clear,
// encrypted as PKCS#8 (PBES2, as OpenSSL 3 writes) or with the legacy
// PEM encryption headers (OpenSSL's -traditional). The passphrase the
// device requires is checked against an encrypted key.
func parseKey(block *pem.Block, passphrase string) (crypto.Signer, error) {
	der := block.Bytes
	typ := block.Type
	decrypted := false
	switch {
	case typ == "ENCRYPTED PRIVATE KEY":
		var err error
		if der, err = decryptPKCS8(der, []byte(passphrase)); err != nil {
			return nil, err
		}
		typ, decrypted = "PRIVATE KEY", true
	//lint:ignore SA1019 the device reads keys OpenSSL wrote this way (-traditional)
	case x509.IsEncryptedPEMBlock(block):
		var err error
		//lint:ignore SA1019 as above
		if der, err = x509.DecryptPEMBlock(block, []byte(passphrase)); err != nil {
			return nil, errors.New("Wrong passphrase: the private key cannot be decrypted")
		}
		decrypted = true
	}
	var key any
	var err error
	switch typ {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(der)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(der)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(der)
	default:
		return nil, fmt.Errorf("Unsupported private key type %s", typ)
	}
	if err != nil && decrypted {
		// Neither encryption checks the passphrase: a wrong one can
		// decrypt to well-padded bytes, even a DER value, that are no key.
		return nil, errors.New("Wrong passphrase: the private key cannot be decrypted")
	}
	if err != nil {
		return nil, errors.New("Malformed private key")
	}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return k, nil
	case *ecdsa.PrivateKey:
		return k, nil
	case ed25519.PrivateKey:
		return nil, errors.New("Ed25519 keys are not supported")
	}
	return nil, errors.New("Unsupported private key type")
}
