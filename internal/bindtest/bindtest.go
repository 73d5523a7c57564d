// Package bindtest starts a real BIND 9 (named) for tests and benchmarks:
// primary for the given zones, accepting TSIG-signed dynamic updates of
// TXT records, listening on 127.0.0.1 on a free port.
package bindtest

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	ottrdns "github.com/ottr-dev/ottr/dns"
)

// Server is a running named.
type Server struct {
	Addr    string // 127.0.0.1:port, UDP and TCP
	KeyName string
	KeyAlg  string // hmac-sha256
	Secret  string // base64
	Dir     string

	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// Options tune the server.
type Options struct {
	// Recursion turns named into a resolver as well (for zones it does
	// not serve it then forwards per ExtraConfig); default off.
	Recursion bool
	// ExtraConfig is appended to named.conf (e.g. forward zones).
	ExtraConfig string
	// Cache makes named cache answers for their TTL, as a production
	// resolver does, and hold every negative answer (NXDOMAIN, NODATA) for
	// at least 90 s, BIND's upper bound for min-ncache-ttl: a lookup made
	// too early then spoils every later one within a test. Default off:
	// nothing is cached, so every query sees the current records.
	Cache bool
	// Records holds extra zone-file lines per zone (relative owners, e.g.
	// "_acme-challenge.fw01 IN CNAME _acme-challenge.fw01.acme.test."),
	// for zones that stand in for production zones holding CNAMEs.
	Records map[string]string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Available reports whether named is installed. Tests call Require instead.
func Available() bool {
	_, err := exec.LookPath("named")
	return err == nil
}

// Require skips the test when named is missing, except under CI=true,
// where a missing named fails it: CI must run these tests.
func Require(tb testing.TB) {
	tb.Helper()
	if Available() {
		return
	}
	if os.Getenv("CI") == "true" {
		tb.Fatal("named (BIND 9) is not installed; .ci/run installs it with apt-get install bind9")
	}
	tb.Skip("named (BIND 9) not installed: apt-get install bind9 bind9-dnsutils")
}

// Start starts named serving zones and stops it when the test ends.
func Start(tb testing.TB, o Options, zones ...string) *Server {
	tb.Helper()
	Require(tb)
	s, err := Launch(tb.TempDir(), o, zones...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Stop)
	return s
}

// Launch starts named with its files in dir; the caller must Stop it.
func Launch(dir string, o Options, zones ...string) (*Server, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	s := &Server{KeyName: "ottr-test", KeyAlg: "hmac-sha256", Secret: base64.StdEncoding.EncodeToString(secret), Dir: dir}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	s.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	recursion := "no"
	if o.Recursion {
		recursion = "yes"
	}
	cache := "max-cache-ttl 0;\n\tmax-ncache-ttl 0;"
	if o.Cache {
		cache = "min-ncache-ttl 90;"
	}
	var conf strings.Builder
	fmt.Fprintf(&conf, `options {
	directory "%s";
	pid-file "%s/named.pid";
	listen-on port %d { 127.0.0.1; };
	listen-on-v6 { none; };
	recursion %s;
	allow-recursion { 127.0.0.1; };
	dnssec-validation no;
	%s
	notify no;
};
key "%s" { algorithm %s; secret "%s"; };
controls { };
`, dir, dir, port, recursion, cache, s.KeyName, s.KeyAlg, s.Secret)
	for _, z := range zones {
		file := filepath.Join(dir, z+".zone")
		zf := fmt.Sprintf(`$TTL 1
@ IN SOA ns.%s. hostmaster.%s. 1 3600 600 86400 1
@ IN NS ns.%s.
ns IN A 127.0.0.1
%s
`, z, z, z, o.Records[z])
		if err := os.WriteFile(file, []byte(zf), 0o644); err != nil {
			return nil, err
		}
		fmt.Fprintf(&conf, "zone \"%s\" { type primary; file \"%s\"; update-policy { grant %s zonesub TXT; }; };\n", z, file, s.KeyName)
	}
	conf.WriteString(o.ExtraConfig)
	confPath := filepath.Join(dir, "named.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return nil, err
	}
	s.out = &syncBuffer{}
	s.cmd = exec.Command("named", "-g", "-c", confPath, "-n", "1")
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start named: %w", err)
	}
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()

	// Ready when it answers the first zone's SOA (or any query).
	deadline := time.Now().Add(15 * time.Second)
	wait := 10 * time.Millisecond
	for {
		m := new(dns.Msg)
		q := "."
		if len(zones) > 0 {
			q = dns.Fqdn(zones[0])
		}
		m.SetQuestion(q, dns.TypeSOA)
		c := &dns.Client{Net: "tcp", Timeout: 500 * time.Millisecond}
		if in, _, err := c.Exchange(m, s.Addr); err == nil && (len(zones) == 0 || in.Rcode == dns.RcodeSuccess) {
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("named exited:\n%s", s.out.String())
		default:
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("named did not answer within 15s:\n%s", s.out.String())
		}
		time.Sleep(wait)
		wait = min(wait*2, 200*time.Millisecond)
	}
}

// Stop stops named and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
}

// Log returns what named printed.
func (s *Server) Log() string { return s.out.String() }

// TXT asks the server directly for the TXT values at name.
func (s *Server) TXT(name string) ([]string, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), dns.TypeTXT)
	c := &dns.Client{Net: "tcp", Timeout: 2 * time.Second}
	in, _, err := c.Exchange(m, s.Addr)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range in.Answer {
		if t, ok := rr.(*dns.TXT); ok {
			out = append(out, strings.Join(t.Txt, ""))
		}
	}
	return out, nil
}

// freePort finds a 127.0.0.1 port free for both UDP and TCP just now.
func freePort() (int, error) {
	pc, ln, err := ottrdns.ListenPair("127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("no free port for named: %w", err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	ln.Close()
	return port, nil
}
