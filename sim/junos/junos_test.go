package junos_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/Juniper/go-netconf/netconf"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/sim/junos"
)

// TestJuniperClient drives the simulator with Juniper's own NETCONF client
// library (github.com/Juniper/go-netconf), not with Ottr's driver.
func TestJuniperClient(t *testing.T) {
	dev, err := junos.Start("netops", "Netops.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	if _, err := netconf.DialSSH(dev.Addr, netconf.SSHConfigPassword("netops", "wrong")); err == nil {
		t.Error("wrong password accepted")
	}
	s, err := netconf.DialSSH(dev.Addr, netconf.SSHConfigPassword("netops", "Netops.Passw0rd"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.SessionID == 0 || !strings.Contains(strings.Join(s.ServerCapabilities, " "), "urn:ietf:params:netconf:base:1.0") {
		t.Errorf("hello: %d %v", s.SessionID, s.ServerCapabilities)
	}
	run := func(cmd string) string {
		t.Helper()
		r, err := s.Exec(netconf.RawMethod(`<command format="text">` + cmd + `</command>`))
		if err != nil {
			t.Fatalf("%s: %v", cmd, err)
		}
		return r.Data
	}
	if out := run("request security pki generate-key-pair certificate-id WEB-2026 size 2048 type rsa"); !strings.Contains(out, "Generated key pair WEB-2026, key size 2048 bits") {
		t.Errorf("keygen: %s", out)
	}
	// A failed command is an rpc-error, as Junos answers it.
	if _, err := s.Exec(netconf.RawMethod(`<command format="text">request security pki generate-key-pair certificate-id WEB-2026 size 2048 type rsa</command>`)); err == nil || !strings.Contains(err.Error(), "key file already exists") {
		t.Errorf("duplicate: %v", err)
	}
	out := run(`request security pki generate-certificate-request certificate-id WEB-2026 subject "CN=fw1.example.com,O=Example" domain-name fw1.example.com digest sha-256`)
	i := strings.Index(out, "-----BEGIN CERTIFICATE REQUEST-----")
	j := strings.Index(out, "-----END CERTIFICATE REQUEST-----")
	if i < 0 || j < i || !strings.Contains(out, "Fingerprint:") {
		t.Fatalf("csr: %s", out)
	}
	blk, _ := pem.Decode([]byte(out[i : j+len("-----END CERTIFICATE REQUEST-----")]))
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil || csr.Subject.CommonName != "fw1.example.com" || len(csr.DNSNames) != 1 {
		t.Fatalf("CSR: %v %+v", err, csr)
	}
	chain := testpki.NewCA("Lab CA").Sign(csr, time.Hour)
	put := func(name string, b []byte) {
		t.Helper()
		if _, err := s.Exec(netconf.RawMethod(`<file-put><filename>` + name + `</filename><permission>0644</permission><encoding>base64</encoding><delete-if-exist/><file-contents>` +
			base64.StdEncoding.EncodeToString(b) + `</file-contents></file-put>`)); err != nil {
			t.Fatalf("file-put: %v", err)
		}
	}
	put("/var/tmp/WEB-2026.pem", ottr.EncodeChain(chain[:1]))
	put("/var/tmp/lab-ca.pem", ottr.EncodeChain(chain[1:]))
	if _, err := s.Exec(netconf.RawMethod(`<command format="text">request security pki ca-certificate load ca-profile lab-ca filename /var/tmp/lab-ca.pem</command>`)); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("CA load before the profile is committed: %v", err)
	}
	if out := run("request security pki local-certificate load certificate-id WEB-2026 filename /var/tmp/WEB-2026.pem"); !strings.Contains(out, "Local certificate loaded successfully") {
		t.Errorf("local load: %s", out)
	}
	// Once a session holds the lock, another can neither take it nor
	// change the candidate.
	if _, err := s.Exec(netconf.MethodLock("candidate")); err != nil {
		t.Fatal(err)
	}
	other, err := netconf.DialSSH(dev.Addr, netconf.SSHConfigPassword("netops", "Netops.Passw0rd"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Exec(netconf.MethodLock("candidate")); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("second lock: %v", err)
	}
	if _, err := other.Exec(netconf.RawMethod(`<load-configuration action="set" format="text"><configuration-set>set system services web-management https pki-local-certificate WEB-2026</configuration-set></load-configuration>`)); err == nil || !strings.Contains(err.Error(), "locked") {
		t.Errorf("load by another session while locked: %v", err)
	}
	other.Close()
	for _, cfg := range []string{
		"set security pki ca-profile lab-ca ca-identity lab-ca",
		"set system services web-management https pki-local-certificate NOPE",
	} {
		if _, err := s.Exec(netconf.RawMethod(`<load-configuration action="set" format="text"><configuration-set>` + cfg + `</configuration-set></load-configuration>`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Exec(netconf.RawMethod(`<commit-configuration/>`)); err == nil || !strings.Contains(err.Error(), "local certificate not found") {
		t.Errorf("commit with an unknown certificate: %v", err)
	}
	s.Exec(netconf.RawMethod(`<load-configuration action="set" format="text"><configuration-set>set system services web-management https pki-local-certificate WEB-2026</configuration-set></load-configuration>`))
	r, err := s.Exec(netconf.RawMethod(`<commit-configuration/>`))
	if err != nil || !strings.Contains(r.Data, "commit-success") {
		t.Fatalf("commit: %v", err)
	}
	s.Exec(netconf.MethodUnlock("candidate"))
	if out := run("request security pki ca-certificate load ca-profile lab-ca filename /var/tmp/lab-ca.pem"); !strings.Contains(out, "loaded successfully") {
		t.Errorf("CA load: %s", out)
	}
	conn, err := tls.Dial("tcp", dev.WebAddr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // reading what is served
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.ConnectionState().PeerCertificates; !got[0].Equal(chain[0]) || len(got) != 2 {
		t.Errorf("J-Web serves %d certificates, leaf %s", len(got), got[0].Subject)
	}
	if out := run("show security pki local-certificate certificate-id WEB-2026 detail"); !strings.Contains(out, "Serial number: "+chain[0].SerialNumber.Text(16)) {
		t.Errorf("show: %s", out)
	}
}

// The request keeps every attribute of the subject string and the one
// email Junos takes (in the subject alternative names, where Junos puts
// it); options come in any order; an attribute Junos lacks is refused.
func TestRequestSubject(t *testing.T) {
	dev, err := junos.Start("netops", "Netops.Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	defer dev.Close()
	s, err := netconf.DialSSH(dev.Addr, netconf.SSHConfigPassword("netops", "Netops.Passw0rd"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run := func(cmd string) (string, error) {
		r, err := s.Exec(netconf.RawMethod(`<command format="text">` + cmd + `</command>`))
		if err != nil {
			return "", err
		}
		return r.Data, nil
	}
	if out, err := run("request security pki generate-key-pair certificate-id K size 256 type ecdsa"); err != nil || !strings.Contains(out, "Generated key pair") {
		t.Fatal(out, err)
	}
	out, err := run(`request security pki generate-certificate-request certificate-id K domain-name fw1.example.com subject "CN=fw1.example.com,OU=Net Ops,O=Example Inc,L=San Francisco,ST=California,C=US" email pki@example.com digest sha-256`)
	i := strings.Index(out, "-----BEGIN")
	if err != nil || i < 0 {
		t.Fatalf("request: %v %s", err, out)
	}
	blk, _ := pem.Decode([]byte(out[i:]))
	if blk == nil {
		t.Fatalf("no request: %s", out)
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if got := csr.Subject.String(); got != "CN=fw1.example.com,OU=Net Ops,O=Example Inc,L=San Francisco,ST=California,C=US" {
		t.Errorf("subject %s", got)
	}
	if !slices.Equal(csr.DNSNames, []string{"fw1.example.com"}) || !slices.Equal(csr.EmailAddresses, []string{"pki@example.com"}) {
		t.Errorf("alternative names %v %v", csr.DNSNames, csr.EmailAddresses)
	}
	for cmd, want := range map[string]string{
		`request security pki generate-certificate-request certificate-id K subject "CN=a,E=x@example.com"`: "unknown attribute E",
		`request security pki generate-certificate-request certificate-id K subject "CN=a,C=USA"`:           "two-letter",
		`request security pki generate-certificate-request certificate-id K domain-name a.example.com`:      "subject",
		`request security pki generate-certificate-request certificate-id K subject "CN=a`:                  "unterminated",
		`request security pki generate-certificate-request certificate-id K subject CN=a colour blue`:       "colour",
	} {
		if _, err := run(cmd); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an rpc-error naming %q", cmd, err, want)
		}
	}
}
