package discover

import (
	"bufio"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ottr-dev/ottr"
)

// DefaultPorts are tried on targets that name no port: HTTPS and the
// port management interfaces move it to when 443 serves something else.
var DefaultPorts = []int{443, 8443}

// Bounds of a scan.
const (
	// DefaultMaxAddresses bounds the addresses one scan expands to: a
	// /16, or 65,536 named hosts.
	DefaultMaxAddresses = 1 << 16
	// MaxPorts bounds the ports tried on each address.
	MaxPorts = 32
	// maxLine bounds a line of a targets file.
	maxLine = 4096
)

// Target is one address to scan: a host name or an IP address, and a
// port; Port 0 stands for every port of the scan.
type Target struct {
	Host string
	Port int
}

// Address is host:port, IPv6 addresses in brackets.
func (t Target) Address() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.Port)) }

// ParseTargets expands target specifications: a host name, an IPv4 or
// IPv6 address, either with :port ([v6]:port), or a CIDR block (every
// address in it; an IPv4 block of /30 or wider leaves out its network
// and broadcast addresses). Targets without a port get Port 0. It
// refuses a specification it cannot read, and a block or a list that
// expands to more than maxAddresses addresses (0: DefaultMaxAddresses),
// naming it as field[i] (field is how the caller calls the list:
// "targets").
func ParseTargets(specs []string, field string, maxAddresses int) ([]Target, error) {
	if maxAddresses <= 0 {
		maxAddresses = DefaultMaxAddresses
	}
	if len(specs) == 0 {
		return nil, ottr.Invalid("no targets", ottr.Problem{Field: field, Message: "is empty: give host names, addresses or CIDR blocks"})
	}
	var out []Target
	var probs []ottr.Problem
	bad := func(i int, format string, args ...any) {
		probs = append(probs, ottr.Problem{Field: fmt.Sprintf("%s[%d]", field, i), Message: fmt.Sprintf(format, args...)})
	}
	seen := map[Target]bool{}
	add := func(t Target) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	for i, spec := range specs {
		s := strings.TrimSpace(spec)
		if s == "" {
			bad(i, "is empty")
			continue
		}
		if ottr.HasControl(s) || len(s) > 300 {
			bad(i, "%s is not a host, address or CIDR block", quote(s))
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				bad(i, "%s is not a CIDR block (want e.g. 10.0.0.0/24 or fd00::/120)", quote(s))
				continue
			}
			p = p.Masked()
			n := prefixSize(p)
			if n.Cmp(big.NewInt(int64(maxAddresses))) > 0 {
				bad(i, "%s has %s addresses; a scan covers at most %d (%s)", s, n.String(), maxAddresses, widest(p.Addr().Is4(), maxAddresses))
				continue
			}
			if len(seen)+int(n.Int64()) > maxAddresses {
				bad(i, "%s takes the targets past %d addresses, the most one scan covers", s, maxAddresses)
				continue
			}
			for _, a := range hosts(p) {
				add(Target{Host: a.String()})
			}
			continue
		}
		t, err := parseHostPort(s)
		if err != nil {
			bad(i, "%v", err)
			continue
		}
		if len(seen) >= maxAddresses && !seen[t] {
			bad(i, "%s takes the targets past %d addresses, the most one scan covers", s, maxAddresses)
			continue
		}
		add(t)
	}
	if len(probs) > 0 {
		msg := "target " + probs[0].String()
		if len(probs) > 1 {
			msg = fmt.Sprintf("%d targets cannot be scanned", len(probs))
		}
		return nil, ottr.Invalid(msg, probs...)
	}
	return out, nil
}

func quote(s string) string {
	if len(s) > 64 {
		return strconv.Quote(s[:61]) + "…"
	}
	return strconv.Quote(s)
}

// widest names the widest block of each family within n addresses.
func widest(v4 bool, n int) string {
	bits := 0
	for 1<<(bits+1) <= n {
		bits++
	}
	if v4 {
		return fmt.Sprintf("an IPv4 /%d", 32-bits)
	}
	return fmt.Sprintf("an IPv6 /%d", 128-bits)
}

// prefixSize is the number of addresses in p.
func prefixSize(p netip.Prefix) *big.Int {
	return new(big.Int).Lsh(big.NewInt(1), uint(p.Addr().BitLen()-p.Bits()))
}

// hosts lists the addresses of p worth dialling; p is small enough.
func hosts(p netip.Prefix) []netip.Addr {
	var out []netip.Addr
	for a := p.Addr(); p.Contains(a); a = a.Next() {
		out = append(out, a)
	}
	if p.Addr().Is4() && p.Bits() <= 30 && len(out) > 2 {
		out = out[1 : len(out)-1] // network and broadcast
	}
	return out
}

// parseHostPort reads host, host:port, an IP address or [v6]:port.
func parseHostPort(s string) (Target, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return Target{}, fmt.Errorf("%s: an address with a zone cannot be scanned", quote(s))
		}
		return Target{Host: a.Unmap().String()}, nil
	}
	host, port := s, 0
	if h, p, err := net.SplitHostPort(s); err == nil {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return Target{}, fmt.Errorf("%s: port %q is not a number from 1 to 65535", quote(s), p)
		}
		host, port = h, n
	} else if strings.Contains(s, ":") {
		return Target{}, fmt.Errorf("%s is not a host, host:port, address or CIDR block", quote(s))
	}
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return Target{}, fmt.Errorf("%s: an address with a zone cannot be scanned", quote(s))
		}
		return Target{Host: a.Unmap().String(), Port: port}, nil
	}
	name := ottr.NormalName(host)
	if err := checkHostName(name); err != nil {
		return Target{}, fmt.Errorf("%s: %v", quote(s), err)
	}
	return Target{Host: name, Port: port}, nil
}

// checkHostName accepts what a resolver may know: letters, digits,
// hyphens and underscores in dot-separated labels (one label is a name
// of the local domain).
func checkHostName(name string) error {
	if name == "" || len(name) > 253 {
		return fmt.Errorf("is not a host name")
	}
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("is not a host name (empty or over-long label)")
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return fmt.Errorf("is not a host name (%q is not allowed in one)", r)
			}
		}
	}
	return nil
}

// ReadTargets reads target specifications, one a line; '#' starts a
// comment and blank lines are skipped. A problem names name:line.
func ReadTargets(r io.Reader, name string) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1024), maxLine)
	var out []string
	line := 0
	for sc.Scan() {
		line++
		s, _, _ := strings.Cut(sc.Text(), "#")
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.ContainsAny(s, " \t") {
			return nil, ottr.Errorf(ottr.EINVALID, "%s:%d: one target a line, got %s", name, line, quote(s))
		}
		out = append(out, s)
		if len(out) > DefaultMaxAddresses {
			return nil, ottr.Errorf(ottr.EINVALID, "%s:%d: more than %d targets", name, line, DefaultMaxAddresses)
		}
	}
	if err := sc.Err(); err != nil {
		if err == bufio.ErrTooLong {
			return nil, ottr.Errorf(ottr.EINVALID, "%s:%d: a line is over %d bytes", name, line+1, maxLine)
		}
		return nil, ottr.Errorf(ottr.EINVALID, "%s: %v", name, err)
	}
	return out, nil
}

// ParsePorts reads a comma-separated list of ports and ranges
// ("443,8443,10443-10445"), at most MaxPorts ports.
func ParsePorts(s string) ([]int, error) {
	var out []int
	seen := map[int]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
			return nil, ottr.Invalid("bad port list", ottr.Problem{Field: "ports", Message: fmt.Sprintf("%q is not a port (1-65535) or a range of them (8000-8010)", part)})
		}
		if b-a >= MaxPorts {
			return nil, ottr.Invalid("too many ports", ottr.Problem{Field: "ports", Message: fmt.Sprintf("%s has %d ports; at most %d", part, b-a+1, MaxPorts)})
		}
		for p := a; p <= b; p++ {
			if !seen[p] {
				seen[p] = true
				out = append(out, p)
			}
		}
	}
	if err := CheckPorts(out); err != nil {
		return nil, err
	}
	return out, nil
}

// CheckPorts refuses a port list with a port out of range or more than
// MaxPorts ports. An empty list stands for DefaultPorts.
func CheckPorts(ports []int) error {
	if len(ports) > MaxPorts {
		return ottr.Invalid("too many ports", ottr.Problem{Field: "ports", Message: fmt.Sprintf("has %d ports; at most %d", len(ports), MaxPorts)})
	}
	for i, p := range ports {
		if p < 1 || p > 65535 {
			return ottr.Invalid("bad port", ottr.Problem{Field: fmt.Sprintf("ports[%d]", i), Message: fmt.Sprintf("%d is not a port (1-65535)", p)})
		}
	}
	return nil
}
