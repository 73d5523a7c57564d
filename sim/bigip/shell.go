package bigip

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"path"
	"strings"
	"time"
)

// bash is /mgmt/tm/util/bash: "-c <command>", one simple command of the
// few modelled (cat, cp, rm on the files modelled; openssl pkey -pubout;
// tmsh list/delete sys crypto csr|key, restart sys service httpd, save sys
// config, show sys version, list ltm profile client-ssl … cert-key-chain;
// bigstart restart httpd). Lists, pipes, redirections and expansions are
// refused, as is anything else. Like the device, the answer carries the
// command's output (stdout and stderr) in commandResult and no exit
// status: a failed cp says so only in its output.
func (d *Device) bash(body []byte) (int, any) {
	var in struct{ Command, UtilCmdArgs string }
	if err := json.Unmarshal(body, &in); err != nil || in.Command != "run" {
		return tmErr(400, "Found invalid command id "+in.Command)
	}
	args, err := shellWords(in.UtilCmdArgs, false)
	if err != nil || len(args) != 2 || args[0] != "-c" {
		return notModelled(fmt.Sprintf("bash arguments %q (only -c <command>)", in.UtilCmdArgs))
	}
	words, err := shellWords(args[1], true)
	if err != nil || len(words) == 0 {
		return notModelled(fmt.Sprintf("bash command %q (%v)", args[1], err))
	}
	ok := func(out string) (int, any) {
		return 200, map[string]any{"kind": "tm:util:bash:runstate", "command": "run", "utilCmdArgs": in.UtilCmdArgs, "commandResult": out}
	}
	if f := d.faults.FailCommand; f != "" && strings.Contains(args[1], f) {
		return ok(d.faults.Message + "\n")
	}
	var out string
	var code int
	var refusal any
	switch words[0] {
	case "cat":
		out, code, refusal = d.cat(words[1:])
	case "cp":
		out, code, refusal = d.cp(words[1:])
	case "rm":
		out, code, refusal = d.rm(words[1:])
	case "openssl":
		out, code, refusal = d.openssl(words[1:])
	case "bigstart":
		if len(words) != 3 || words[1] != "restart" || words[2] != "httpd" {
			return notModelled(fmt.Sprintf("bash command %q (bigstart: only restart httpd)", args[1]))
		}
		d.restartLater()
	case "tmsh":
		switch {
		case len(words) == 3 && words[1] == "-c":
			out, code, refusal = d.tmsh(words[2])
		case len(words) > 1 && words[1] != "-c":
			out, code, refusal = d.tmsh(strings.Join(words[1:], " "))
		default:
			return notModelled(fmt.Sprintf("bash command %q", args[1]))
		}
	default:
		return notModelled(fmt.Sprintf("bash command %q", args[1]))
	}
	if code != 0 {
		return code, refusal
	}
	return ok(out)
}

// Where the modelled files live. Keys and certificates of the
// configuration are read-only here: they change through tmsh and REST.
const (
	varTmp   = "/var/tmp/"
	bulk     = "/var/config/rest/bulk/"
	sslCSR   = "/config/ssl/ssl.csr/"
	sslKey   = "/config/ssl/ssl.key/"
	sslCrt   = "/config/ssl/ssl.crt/"
	keyCache = "/config/filestore/files_d/Common_d/certificate_key_d/:Common:"
)

// fileAt reads a file: its content, whether it exists, and whether its
// directory is modelled at all.
func (d *Device) fileAt(p string) (data []byte, exists, modelled bool) {
	dir, name := path.Split(p)
	if name == "" {
		return nil, false, false
	}
	switch dir {
	case httpdCertDir, httpdKeyDir, varTmp:
		b, ok := d.files[p]
		return b, ok, true
	case downloads:
		b, ok := d.uploads[name]
		return b, ok, true
	case bulk:
		b, ok := d.uploads["bulk/"+name]
		return b, ok, true
	case sslCSR:
		if c := d.csrs[name]; c != nil {
			return pemCSR(c), true, true
		}
		return nil, false, true
	case sslKey:
		if k := d.cfg.keys["/Common/"+name]; k != nil {
			return k.data, true, true
		}
		return nil, false, true
	case sslCrt:
		if c := d.cfg.certs["/Common/"+name]; c != nil {
			return c.data, true, true
		}
		return nil, false, true
	}
	if rest, ok := strings.CutPrefix(p, keyCache); ok && strings.HasSuffix(rest, "_1") && !strings.Contains(rest, "/") {
		if k := d.cfg.keys["/Common/"+strings.TrimSuffix(rest, "_1")]; k != nil {
			return k.data, true, true
		}
		return nil, false, true
	}
	return nil, false, false
}

// writable reports whether files in p's directory may be written or
// removed here (httpd's, /var/tmp and the REST areas).
func writable(p string) bool {
	dir, name := path.Split(p)
	switch dir {
	case httpdCertDir, httpdKeyDir, varTmp, downloads, bulk:
		return name != ""
	}
	return false
}

func (d *Device) writeFile(p string, b []byte) {
	dir, name := path.Split(p)
	switch dir {
	case downloads:
		d.uploads[name] = b
	case bulk:
		d.uploads["bulk/"+name] = b
	default:
		d.files[p] = b
	}
}

func (d *Device) removeFile(p string) bool {
	dir, name := path.Split(p)
	m, k := d.files, p
	switch dir {
	case downloads:
		m, k = d.uploads, name
	case bulk:
		m, k = d.uploads, "bulk/"+name
	}
	_, ok := m[k]
	delete(m, k)
	return ok
}

// options splits leading single-letter options (-f, -p, -fp) from the
// operands; letters outside allowed are not modelled.
func options(args []string, allowed string) (map[byte]bool, []string, error) {
	set := map[byte]bool{}
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && len(args[0]) > 1 {
		for _, c := range []byte(args[0][1:]) {
			if strings.IndexByte(allowed, c) < 0 {
				return nil, nil, fmt.Errorf("option -%c", c)
			}
			set[c] = true
		}
		args = args[1:]
	}
	return set, args, nil
}

func (d *Device) cat(args []string) (string, int, any) {
	if len(args) != 1 || strings.HasPrefix(args[0], "-") {
		c, b := notModelled(fmt.Sprintf("cat %s (only cat <file>)", strings.Join(args, " ")))
		return "", c, b
	}
	switch args[0] {
	case "/VERSION":
		return fmt.Sprintf("Product: BIG-IP\nVersion: %s\nBuild: %s\nSequence: %s-%s.0\nBaseBuild: %s\nEdition: Final\nDate: %s\nBuilt: 221110092541\nChangelist: 3620539\nJobID: 1403813\n",
			version, build, version, build, build, versionFields["Date"]), 0, nil
	case "/proc/uptime":
		up := time.Since(d.booted).Seconds()
		return fmt.Sprintf("%.2f %.2f\n", up, up*1.8), 0, nil
	}
	b, exists, modelled := d.fileAt(args[0])
	if !modelled {
		c, out := notModelled("reading " + args[0])
		return "", c, out
	}
	if !exists {
		return "cat: " + args[0] + ": No such file or directory\n", 0, nil
	}
	return string(b), 0, nil
}

func (d *Device) cp(args []string) (string, int, any) {
	_, ops, err := options(args, "fp")
	if err != nil || len(ops) != 2 {
		c, b := notModelled(fmt.Sprintf("cp %s (only cp [-fp] <file> <file>)", strings.Join(args, " ")))
		return "", c, b
	}
	src, dst := ops[0], ops[1]
	switch strings.TrimSuffix(dst, "/") + "/" {
	case httpdCertDir, httpdKeyDir, varTmp, downloads, bulk:
		dst = strings.TrimSuffix(dst, "/") + "/" + path.Base(src)
	}
	b, exists, modelled := d.fileAt(src)
	if !modelled || !writable(dst) {
		c, out := notModelled(fmt.Sprintf("cp from %s to %s (only into %s, %s, %s and the REST areas)", src, dst, httpdCertDir, httpdKeyDir, varTmp))
		return "", c, out
	}
	if !exists {
		return fmt.Sprintf("cp: cannot stat '%s': No such file or directory\n", src), 0, nil
	}
	d.writeFile(dst, append([]byte(nil), b...))
	return "", 0, nil
}

func (d *Device) rm(args []string) (string, int, any) {
	opt, ops, err := options(args, "f")
	if err != nil || len(ops) == 0 {
		c, b := notModelled(fmt.Sprintf("rm %s (only rm [-f] <file>…)", strings.Join(args, " ")))
		return "", c, b
	}
	var out strings.Builder
	for _, p := range ops {
		if !writable(p) {
			c, b := notModelled("removing " + p)
			return "", c, b
		}
		if !d.removeFile(p) && !opt['f'] {
			fmt.Fprintf(&out, "rm: cannot remove '%s': No such file or directory\n", p)
		}
	}
	return out.String(), 0, nil
}

// openssl models "openssl pkey -in <file> -pubout": the public half of a
// key file, which tells whether a key and a certificate belong together
// without the key leaving the device.
func (d *Device) openssl(args []string) (string, int, any) {
	if len(args) != 4 || args[0] != "pkey" {
		c, b := notModelled(fmt.Sprintf("openssl %s (only openssl pkey -in <file> -pubout)", strings.Join(args, " ")))
		return "", c, b
	}
	file := ""
	switch {
	case args[1] == "-in" && args[3] == "-pubout":
		file = args[2]
	case args[1] == "-pubout" && args[2] == "-in":
		file = args[3]
	default:
		c, b := notModelled(fmt.Sprintf("openssl %s (only openssl pkey -in <file> -pubout)", strings.Join(args, " ")))
		return "", c, b
	}
	b, exists, modelled := d.fileAt(file)
	if !modelled {
		c, out := notModelled("reading " + file)
		return "", c, out
	}
	if !exists {
		return fmt.Sprintf("Can't open %s for reading, No such file or directory\nunable to load key\n", file), 0, nil
	}
	k, err := parseKey(b)
	if err != nil {
		return "unable to load key\n", 0, nil
	}
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	if err != nil {
		return "unable to write key\n", 0, nil
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), 0, nil
}

// tmsh runs one tmsh command line.
func (d *Device) tmsh(line string) (string, int, any) {
	w := strings.Fields(line)
	if len(w) > 1 && w[1] == "/sys" { // tmsh takes /sys as well as sys
		w[1] = "sys"
	}
	all := strings.Join(w, " ")
	switch {
	case all == "show sys version":
		return fmt.Sprintf("\nSys::Version\nMain Package\n  Product     BIG-IP\n  Version     %s\n  Build       %s\n  Edition     Final\n  Date        %s\n\n",
			version, build, versionFields["Date"]), 0, nil
	case all == "save sys config":
		d.saved = d.cfg.fingerprint()
		return "Saving running configuration...\n  /config/bigip.conf\n  /config/bigip_base.conf\n  /config/bigip_user.conf\nSaving Ethernet mapping...done\n", 0, nil
	case all == "restart sys service httpd":
		d.restartLater()
		return "", 0, nil
	case len(w) == 5 && strings.Join(w[:4], " ") == "list sys crypto csr":
		name := strings.TrimPrefix(w[4], "/Common/")
		csr := d.csrs[name]
		if csr == nil {
			return fmt.Sprintf("01020036:3: The requested Certificate Signing Request (/Common/%s) was not found.\n", name), 0, nil
		}
		return fmt.Sprintf("sys crypto csr %s {\n    common-name %s\n}\n%s", name, csr.Subject.CommonName, pemCSR(csr)), 0, nil
	case len(w) == 5 && strings.Join(w[:4], " ") == "delete sys crypto csr":
		name := strings.TrimPrefix(w[4], "/Common/")
		if d.csrs[name] == nil {
			return fmt.Sprintf("01020036:3: The requested Certificate Signing Request (/Common/%s) was not found.\n", name), 0, nil
		}
		delete(d.csrs, name)
		return "", 0, nil
	case len(w) == 5 && strings.Join(w[:4], " ") == "delete sys crypto key":
		fp := "/Common/" + strings.TrimPrefix(w[4], "/Common/")
		if d.cfg.keys[fp] == nil {
			return fmt.Sprintf("01020036:3: The requested Certificate Key File (%s) was not found.\n", fp), 0, nil
		}
		if pn := d.cfg.inUse(fp); pn != "" {
			return fmt.Sprintf("01070621:3: Key file %s is in use by client-ssl profile %s.\n", fp, pn), 0, nil
		}
		delete(d.cfg.keys, fp)
		return "", 0, nil
	case len(w) == 6 && strings.Join(w[:4], " ") == "list ltm profile client-ssl" && w[5] == "cert-key-chain":
		fp := w[4]
		if !strings.HasPrefix(fp, "/") {
			fp = "/Common/" + fp
		}
		p := d.cfg.profiles[fp]
		if p == nil {
			return fmt.Sprintf("01020036:3: The requested ClientSSL Profile (%s) was not found.\n", fp), 0, nil
		}
		_, name := splitPath(fp)
		var b strings.Builder
		fmt.Fprintf(&b, "ltm profile client-ssl %s {\n    cert-key-chain {\n", name)
		for _, e := range p.chains {
			fmt.Fprintf(&b, "        %s {\n            cert %s\n            chain %s\n            key %s\n        }\n",
				e.Name, strings.TrimPrefix(e.Cert, "/Common/"), strings.TrimPrefix(e.Chain, "/Common/"), strings.TrimPrefix(e.Key, "/Common/"))
		}
		b.WriteString("    }\n}\n")
		return b.String(), 0, nil
	}
	c, out := notModelled(fmt.Sprintf("tmsh command %q", line))
	return "", c, out
}

// shellWords splits a command line as bash does for the quoting clients
// use: single quotes, double quotes with backslash escapes, and
// backslashes outside quotes. With simple, anything that would make it
// more than one simple command without expansions (; & | < > ` $ ( ) { }
// unquoted, or $ and ` in double quotes) is an error.
func shellWords(s string, simple bool) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || (c == '\n' && !simple):
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
		case simple && strings.IndexByte(";&|<>`$(){}\n*?[", c) >= 0:
			return nil, fmt.Errorf("%q: only one simple command, without lists, pipes, redirections, globs or expansions, is modelled", c)
		case c == '\'':
			in = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			in = true
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				if simple && (s[i] == '$' || s[i] == '`') {
					return nil, fmt.Errorf("%q in double quotes: expansions are not modelled", s[i])
				}
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\"\\$`\n", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i >= len(s) {
				return nil, fmt.Errorf("unterminated double quote")
			}
		case c == '\\' && i+1 < len(s):
			in = true
			i++
			cur.WriteByte(s[i])
		default:
			in = true
			cur.WriteByte(c)
		}
	}
	if in {
		words = append(words, cur.String())
	}
	return words, nil
}
