package bigip

//lint:file-ignore ST1005 F5's own messages, ending with a period as the device writes them

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // BIG-IP's file checksum is SHA-1
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// keyFile is a sys file ssl-key object. Records are never changed in
// place, so a copy of the maps is a snapshot a failed change returns to.
type keyFile struct {
	signer crypto.Signer
	// data is the file as stored; its size and SHA-1 are what the device
	// reports as checksum, which clients compare to decide on a change.
	data []byte
	// source is the sourcePath it was installed from; "" when the device
	// made the key itself.
	source           string
	created, updated time.Time
}

// certFile is a sys file ssl-cert object (one certificate or a bundle).
type certFile struct {
	chain            []*x509.Certificate
	data             []byte
	source           string
	created, updated time.Time
}

// chainEntry is one certKeyChain entry of a client-ssl profile.
type chainEntry struct {
	Name  string `json:"name"`
	Cert  string `json:"cert"`
	Key   string `json:"key"`
	Chain string `json:"chain"`
}

// clientSSL is a client-ssl profile: its parent and certKeyChain.
type clientSSL struct {
	parent string
	chains []chainEntry
	// inherit is set while the certKeyChain is the parent's, copied at
	// creation, not one of the profile's own.
	inherit bool
}

// config is the running configuration the simulator models.
type config struct {
	keys     map[string]*keyFile
	certs    map[string]*certFile
	profiles map[string]*clientSSL
}

func newConfig() config {
	return config{keys: map[string]*keyFile{}, certs: map[string]*certFile{}, profiles: map[string]*clientSSL{}}
}

func (c config) clone() config {
	n := newConfig()
	for k, v := range c.keys {
		n.keys[k] = v
	}
	for k, v := range c.certs {
		n.certs[k] = v
	}
	for k, v := range c.profiles {
		n.profiles[k] = v
	}
	return n
}

// fingerprint sums up what "save sys config" writes, to tell whether the
// running configuration differs from the saved one.
func (c config) fingerprint() string {
	var lines []string
	for n, k := range c.keys {
		lines = append(lines, "key "+n+" "+checksum(k.data))
	}
	for n, f := range c.certs {
		lines = append(lines, "cert "+n+" "+checksum(f.data))
	}
	for n, p := range c.profiles {
		lines = append(lines, fmt.Sprintf("profile %s %s %v", n, p.parent, p.chains))
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// validate checks what the device checks before it accepts a change:
// every profile's certKeyChain names objects that exist, and each key
// matches its certificate.
func (c config) validate() error {
	names := make([]string, 0, len(c.profiles))
	for n := range c.profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, fp := range names {
		for _, e := range c.profiles[fp].chains {
			cert, key := c.certs[e.Cert], c.keys[e.Key]
			switch {
			case cert == nil:
				return fmt.Errorf("010717e3:3: Client SSL profile (%s) refers to certificate file (%s) that does not exist.", fp, e.Cert)
			case key == nil:
				return fmt.Errorf("010717e3:3: Client SSL profile (%s) refers to key file (%s) that does not exist.", fp, e.Key)
			case e.Chain != "" && e.Chain != "none" && c.certs[e.Chain] == nil:
				return fmt.Errorf("010717e3:3: Client SSL profile (%s) refers to chain file (%s) that does not exist.", fp, e.Chain)
			case !ottr.SamePublicKey(key.signer.Public(), cert.chain[0].PublicKey):
				return fmt.Errorf("010717e5:3: Client SSL profile (%s): the key (%s) and certificate (%s) do not match.", fp, e.Key, e.Cert)
			}
		}
	}
	return nil
}

// inUse names the profile using object fp, or "".
func (c config) inUse(fp string) string {
	names := make([]string, 0, len(c.profiles))
	for n := range c.profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, pn := range names {
		for _, e := range c.profiles[pn].chains {
			if e.Cert == fp || e.Key == fp || e.Chain == fp {
				return pn
			}
		}
	}
	return ""
}

// checksum is BIG-IP's "SHA1:<size>:<hex>" of a file.
func checksum(b []byte) string {
	return fmt.Sprintf("SHA1:%d:%x", len(b), sha1.Sum(b)) //nolint:gosec // the device's format
}

// fingerprintOf is BIG-IP's "SHA256/AA:BB:…" of a certificate.
func fingerprintOf(c *x509.Certificate) string {
	sum := sha256.Sum256(c.Raw)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return "SHA256/" + strings.Join(parts, ":")
}

// keyFacts are keyType, keySize and curveName as the device reports them.
func keyFacts(pub crypto.PublicKey, private bool) (string, int, string) {
	suffix := "-public"
	if private {
		suffix = "-private"
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return "rsa" + suffix, k.N.BitLen(), "none"
	case *ecdsa.PublicKey:
		curve := map[string]string{"P-256": "prime256v1", "P-384": "secp384r1", "P-521": "secp521r1"}[k.Curve.Params().Name]
		return "ec" + suffix, k.Curve.Params().BitSize, curve
	}
	return "unknown", 0, "none"
}
