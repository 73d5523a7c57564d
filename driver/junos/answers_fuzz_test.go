package junos

import (
	"bufio"
	"bytes"
	"encoding/pem"
	"io"
	"strings"
	"testing"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/netconf"
	"github.com/ottr-dev/ottr/internal/testpki"
)

const fuzzPassword = "fuzz-S3cret-pw"

type discard struct{ io.Writer }

func (discard) Close() error { return nil }

// FuzzDeviceAnswers has a NETCONF session read an arbitrary stream of
// rpc-replies (framed or not) while it runs the commands and commits of a
// rotation: nothing panics or hangs, every error is classified and
// repeats no credential, and what loaded() reports comes from the reply.
func FuzzDeviceAnswers(f *testing.F) {
	csr, _ := testpki.CSR("srx01.example.com")
	csrPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})
	frame := func(replies ...string) []byte {
		var b bytes.Buffer
		for _, r := range replies {
			netconf.Write(&b, []byte(r))
		}
		return b.Bytes()
	}
	ok := `<rpc-reply><ok/></rpc-reply>`
	f.Add(frame(`<rpc-reply><output>Generated key pair ottr-1, key size 256 bits</output></rpc-reply>`,
		`<rpc-reply><output>`+string(csrPEM)+`</output></rpc-reply>`,
		"<rpc-reply><output>Certificate identifier: ottr-1\n  Serial number: 0a1b\nCertificate identifier: old\n</output></rpc-reply>",
		"<rpc-reply><output>set system services web-management https pki-local-certificate ottr-1</output></rpc-reply>",
		ok, ok, ok, ok, ok))
	f.Add(frame(`<rpc-reply><rpc-error><error-severity>error</error-severity><error-message>syntax error</error-message></rpc-error></rpc-reply>`))
	f.Add(frame(`<rpc-reply><load-configuration-results><rpc-error><error-message>unknown command</error-message></rpc-error></load-configuration-results></rpc-reply>`))
	f.Add(frame(`<rpc-reply><output>error: permission denied</output></rpc-reply>`))
	f.Add([]byte("<rpc-reply><output>unterminated"))
	asset := &ottr.Asset{SystemName: "srx01.example.com", CommonName: "srx01.example.com", IPAddress: "192.0.2.1", CertificateValidation: true}
	d, err := New(Config{Asset: asset, KnownHosts: "unused", Credential: ottr.Credential{"username": "ottr", "password": fuzzPassword}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, stream []byte) {
		s := &session{d: d, ch: discard{io.Discard}, r: bufio.NewReader(bytes.NewReader(stream)), stop: func() bool { return true }}
		check := func(what string, err error) {
			t.Helper()
			if err == nil {
				return
			}
			if ottr.ErrorCode(err) == ottr.EINTERNAL {
				t.Fatalf("%s: unclassified error %q", what, err)
			}
			if strings.Contains(err.Error(), fuzzPassword) {
				t.Fatalf("%s: error %q repeats the password", what, err)
			}
		}
		out, err := s.command("request security pki generate-certificate-request certificate-id ottr-1")
		check("command", err)
		if err == nil {
			_, _ = ottr.ParseCSR([]byte(out))
		}
		ids, err := s.loaded()
		check("loaded", err)
		for id := range ids {
			if !bytes.Contains(stream, []byte(id)) {
				t.Fatalf("loaded() reports %q, which no reply holds", id)
			}
		}
		_, err = s.bound()
		check("bound", err)
		check("configure", s.configure("set security pki ca-profile ottr-ca ca-identity ottr-ca"))
		check("putFile", s.putFile("/var/tmp/ottr.pem", []byte("pem")))
	})
}
