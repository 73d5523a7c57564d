package junos

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ottr-dev/ottr"
)

// command answers one <command>. Junos answers CLI text in <output>, a
// configuration in <configuration-information><configuration-output>, and
// a failed command with an rpc-error.
func (s *session) command(op *elem) answer {
	d := s.d
	cmd := strings.Join(strings.Fields(op.Text), " ")
	d.rpcs = append(d.rpcs, cmd)
	format := op.attr("format")
	if format == "" {
		format = "xml" // Junos's default for <command>
	}
	base, pipe, piped := strings.Cut(cmd, "|")
	base, pipe = strings.TrimSpace(base), strings.TrimSpace(pipe)
	isConfig := base == "show configuration" || strings.HasPrefix(base, "show configuration ")
	// format="set" is how Junos is asked for | display set.
	if format != "xml" && format != "text" && (format != "set" || !isConfig) {
		return fail("protocol", "invalid-value", "command format must be text or xml (set for show configuration), not "+format, "format")
	}
	switch {
	case isConfig:
		if piped && pipe != "display set" {
			return notModelled("the pipe | " + pipe)
		}
		return s.showConfiguration(strings.Fields(strings.TrimPrefix(base, "show configuration")), format, pipe == "display set")
	case piped:
		return notModelled("the pipe | " + pipe)
	case base == "show version":
		if format == "xml" {
			return ok(d.softwareInformation())
		}
		return ok(output(d.versionText()))
	case format == "xml":
		// Junos would answer this command's XML; only its text is modelled.
		return notModelled("the XML output of " + strconv.Quote(cmd) + ` (ask format="text")`)
	}
	out := d.opCommand(cmd)
	if x := d.faults.DropAfter; x != "" && strings.Contains(cmd, x) {
		d.faults.DropAfter = ""
		return answer{drop: true}
	}
	if msg, isErr := strings.CutPrefix(out, "error: "); isErr {
		if strings.HasPrefix(msg, "syntax error") {
			return fail("protocol", "operation-failed", msg, cmd)
		}
		return fail("application", "operation-failed", msg, "")
	}
	return ok(output(out))
}

func output(text string) string { return "<output>\n" + esc(text) + "\n</output>" }

// showConfiguration answers show configuration [hierarchy] [| display
// set] from the active configuration.
func (s *session) showConfiguration(path []string, format string, asSet bool) answer {
	active := s.d.history[0].config
	sub, err := active.subtree(path)
	if err != nil {
		return ok(cfgRPCError(err))
	}
	var b strings.Builder
	if format == "set" {
		if sub == active {
			sub.set(&b)
		} else if sub != nil {
			(&node{children: []*node{sub}}).set(&b)
		}
		return ok("<configuration-set>\n" + esc(b.String()) + "</configuration-set>")
	}
	switch {
	case sub == nil:
	case format == "xml" && !asSet:
		if len(path) > 0 {
			return notModelled("the XML of part of the configuration (ask format=\"text\", or use get-configuration with a filter)")
		}
		return s.configReply(active, "xml", true)
	case asSet && sub == active:
		sub.set(&b)
	case asSet:
		(&node{children: []*node{sub}}).set(&b)
	case sub == active:
		sub.text(&b, 0)
	case len(sub.children) == 0:
		b.WriteString(strings.Join(sub.words(), " ") + ";\n")
	default:
		sub.text(&b, 0)
	}
	return ok("<configuration-information><configuration-output>\n" + esc(b.String()) + "</configuration-output></configuration-information>")
}

func (d *Device) opCommand(cmd string) string {
	switch {
	case genKey.MatchString(cmd):
		m := genKey.FindStringSubmatch(cmd)
		if d.keys[m[1]] != nil {
			return "error: Command aborted as key file already exists. Retry after clearing the existing key"
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
			return "error: invalid key size " + size + " for type " + typ
		}
		if err != nil {
			return "error: key generation failed"
		}
		d.keys[m[1]] = &localCert{key: key}
		return fmt.Sprintf("Generated key pair %s, key size %s bits", m[1], size)
	case strings.HasPrefix(cmd, genCSRPrefix):
		return d.generateRequest(cmd)
	case caLoad.MatchString(cmd):
		m := caLoad.FindStringSubmatch(cmd)
		if p, _ := d.history[0].config.subtree([]string{"security", "pki", "ca-profile", m[1]}); p == nil {
			return "error: CA profile " + m[1] + " does not exist"
		}
		chain, err := ottr.ParseChain(d.files[m[2]])
		if err != nil || len(chain) == 0 {
			return "error: Failed to load CA certificate from file " + m[2]
		}
		d.cas[m[1]] = chain
		return fmt.Sprintf("Fingerprint:\n  00:11:22:33 (sha1)\nCA certificate for profile %s loaded successfully", m[1])
	case localLoad.MatchString(cmd):
		m := localLoad.FindStringSubmatch(cmd)
		chain, err := ottr.ParseChain(d.files[m[2]])
		if err != nil || len(chain) == 0 {
			return "error: Failed to load local certificate from file " + m[2]
		}
		c := d.keys[m[1]]
		if m[3] != "" {
			k, err := parseKey(d.files[m[3]])
			if err != nil {
				return "error: Failed to load key from file " + m[3]
			}
			if c != nil {
				return "error: Certificate identifier " + m[1] + " already exists"
			}
			c = &localCert{key: k}
			d.keys[m[1]] = c
		}
		if c == nil {
			return "error: Key pair " + m[1] + " not found"
		}
		if !ottr.SamePublicKey(c.key.Public(), chain[0].PublicKey) {
			return "error: Local certificate " + m[1] + " does not match its key pair"
		}
		c.chain = chain[:1]
		return "Local certificate loaded successfully"
	case clearLocal.MatchString(cmd):
		m := clearLocal.FindStringSubmatch(cmd)
		if c := d.keys[m[2]]; c != nil {
			if m[1] == "key-pair" {
				delete(d.keys, m[2])
			} else {
				c.chain = nil
			}
		}
		return ""
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
		return b.String()
	case showLocal.MatchString(cmd):
		return d.showLocal(showLocal.FindStringSubmatch(cmd)[1])
	case fileList.MatchString(cmd):
		var names []string
		for n := range d.files {
			names = append(names, strings.TrimPrefix(n, "/var/tmp/"))
		}
		sort.Strings(names)
		return "/var/tmp/:\n" + strings.Join(names, "\n")
	case fileDelete.MatchString(cmd):
		delete(d.files, fileDelete.FindStringSubmatch(cmd)[1])
		return ""
	}
	return "error: syntax error, expecting <command>: " + cmd
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

var (
	genKey     = regexp.MustCompile(`^request security pki generate-key-pair certificate-id (\S+)(?: size (\d+))?(?: type (rsa|ecdsa))?$`)
	caLoad     = regexp.MustCompile(`^request security pki ca-certificate load ca-profile (\S+) filename (\S+)$`)
	localLoad  = regexp.MustCompile(`^request security pki local-certificate load certificate-id (\S+) filename (\S+)(?: key (\S+))?$`)
	clearLocal = regexp.MustCompile(`^clear security pki (local-certificate|key-pair) certificate-id (\S+)$`)
	showLocal  = regexp.MustCompile(`^show security pki local-certificate(?: certificate-id (\S+))? detail$`)
	fileDelete = regexp.MustCompile(`^file delete (\S+)$`)
	fileList   = regexp.MustCompile(`^file list (/var/tmp)/?$`)
)
