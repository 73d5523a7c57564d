package bigip

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// stats is the nested "entries" form of tm stats answers, one numbered
// instance under path.
func stats(path string, fields map[string]string) map[string]any {
	entries := map[string]any{}
	for k, v := range fields {
		entries[k] = map[string]string{"description": v}
	}
	return map[string]any{"https://localhost" + path + "/0": map[string]any{"nestedStats": map[string]any{"entries": entries}}}
}

var versionFields = map[string]string{"Build": build, "Date": "Thu Nov 10 09:25:41 PST 2022", "Edition": "Final",
	"Product": "BIG-IP", "Title": "Main Package", "Version": version}

// system answers the read-only sys resources clients look at first: the
// sys collection (whose selfLink carries the version), sys version,
// provisioning, clock and hardware.
func (d *Device) system(p string) (int, any) {
	switch p {
	case "/mgmt/tm/sys":
		var items []map[string]any
		for _, s := range []string{"clock", "config", "crypto", "file", "hardware", "provision", "version"} {
			items = append(items, map[string]any{"reference": map[string]string{"link": selfLink("/mgmt/tm/sys/" + s)}})
		}
		return 200, map[string]any{"kind": "tm:sys:syscollectionstate", "selfLink": selfLink("/mgmt/tm/sys"), "items": items}
	case "/mgmt/tm/sys/version":
		return 200, map[string]any{"kind": "tm:sys:version:versionstats", "selfLink": selfLink(p), "entries": stats(p, versionFields)}
	case "/mgmt/tm/sys/clock":
		return 200, map[string]any{"kind": "tm:sys:clock:clockstats", "selfLink": selfLink(p),
			"entries": stats(p, map[string]string{"fullDate": time.Now().UTC().Format("2006-01-02T15:04:05Z")})}
	case "/mgmt/tm/sys/hardware":
		return 200, map[string]any{"kind": "tm:sys:hardware:hardwarestats", "selfLink": selfLink(p), "entries": map[string]any{
			"https://localhost/mgmt/tm/sys/hardware/platform": map[string]any{"nestedStats": map[string]any{"entries": stats("/mgmt/tm/sys/hardware/platform",
				map[string]string{"baseMac": "52:54:00:5e:1a:01", "biosRev": " ", "marketingName": "BIG-IP Virtual Edition"})}},
			"https://localhost/mgmt/tm/sys/hardware/system-info": map[string]any{"nestedStats": map[string]any{"entries": stats("/mgmt/tm/sys/hardware/system-info",
				map[string]string{"bigipChassisSerialNum": "4a5e1b2c-0d3f-4e6a-9b7c-sim000000001", "platform": "Z100",
					"hostBoardPartRevNum": " ", "hostBoardSerialNum": " ", "switchBoardPartRevNum": " ", "switchBoardSerialNum": " "})}},
		}}
	case "/mgmt/tm/sys/provision":
		var items []map[string]any
		for _, m := range []string{"afm", "am", "apm", "asm", "avr", "dos", "fps", "gtm", "ilx", "lc", "ltm", "pem", "sslo", "swg", "urldb"} {
			level := "none"
			if m == "ltm" {
				level = "nominal"
			}
			items = append(items, map[string]any{"kind": "tm:sys:provision:provisionstate", "name": m, "fullPath": m, "generation": 1,
				"selfLink": selfLink("/mgmt/tm/sys/provision/" + m), "cpuRatio": 0, "diskRatio": 0, "level": level, "memoryRatio": 0})
		}
		return 200, map[string]any{"kind": "tm:sys:provision:provisioncollectionstate", "selfLink": selfLink(p), "items": items}
	}
	return notModelled("GET " + p)
}

// bash is /mgmt/tm/util/bash: "-c <script>" where the script is one of
// the few commands modelled (tmsh show sys version, save sys config, list
// sys crypto csr, list ltm profile client-ssl … cert-key-chain; cat
// /VERSION, /proc/uptime). Anything else is refused.
func (d *Device) bash(body []byte) (int, any) {
	var in struct{ Command, UtilCmdArgs string }
	if err := json.Unmarshal(body, &in); err != nil || in.Command != "run" {
		return tmErr(400, "Found invalid command id "+in.Command)
	}
	args, err := shellWords(in.UtilCmdArgs)
	if err != nil || len(args) != 2 || args[0] != "-c" {
		return notModelled(fmt.Sprintf("bash arguments %q (only -c <command>)", in.UtilCmdArgs))
	}
	words, err := shellWords(args[1])
	if err != nil || len(words) == 0 {
		return notModelled(fmt.Sprintf("bash command %q", args[1]))
	}
	var out string
	var code int
	var refusal any
	switch {
	case len(words) == 2 && words[0] == "cat" && words[1] == "/VERSION":
		out = fmt.Sprintf("Product: BIG-IP\nVersion: %s\nBuild: %s\nSequence: %s-%s.0\nBaseBuild: %s\nEdition: Final\nDate: %s\nBuilt: 221110092541\nChangelist: 3620539\nJobID: 1403813\n",
			version, build, version, build, build, versionFields["Date"])
	case len(words) == 2 && words[0] == "cat" && words[1] == "/proc/uptime":
		up := time.Since(d.booted).Seconds()
		out = fmt.Sprintf("%.2f %.2f\n", up, up*1.8)
	case words[0] == "tmsh" && len(words) == 3 && words[1] == "-c":
		out, code, refusal = d.tmsh(words[2])
	case words[0] == "tmsh" && len(words) > 1 && words[1] != "-c":
		out, code, refusal = d.tmsh(strings.Join(words[1:], " "))
	default:
		return notModelled(fmt.Sprintf("bash command %q", args[1]))
	}
	if code != 0 {
		return code, refusal
	}
	return 200, map[string]any{"kind": "tm:util:bash:runstate", "command": "run", "utilCmdArgs": in.UtilCmdArgs, "commandResult": out}
}

// tmsh runs one tmsh command line.
func (d *Device) tmsh(line string) (string, int, any) {
	w := strings.Fields(line)
	switch {
	case strings.Join(w, " ") == "show sys version":
		return fmt.Sprintf("\nSys::Version\nMain Package\n  Product     BIG-IP\n  Version     %s\n  Build       %s\n  Edition     Final\n  Date        %s\n\n",
			version, build, versionFields["Date"]), 0, nil
	case strings.Join(w, " ") == "save sys config":
		d.saved = d.cfg.fingerprint()
		return "Saving running configuration...\n  /config/bigip.conf\n  /config/bigip_base.conf\n  /config/bigip_user.conf\nSaving Ethernet mapping...done\n", 0, nil
	case len(w) == 5 && strings.Join(w[:4], " ") == "list sys crypto csr":
		name := strings.TrimPrefix(w[4], "/Common/")
		csr := d.csrs[name]
		if csr == nil {
			return fmt.Sprintf("01020036:3: The requested Certificate Signing Request (/Common/%s) was not found.\n", name), 0, nil
		}
		return fmt.Sprintf("sys crypto csr %s {\n    common-name %s\n}\n%s", name, csr.Subject.CommonName, pemCSR(csr)), 0, nil
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
// backslashes outside quotes.
func shellWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	in := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if in {
				words = append(words, cur.String())
				cur.Reset()
				in = false
			}
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
