package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Files a user gives that do not parse are described in words, once, with
// where and what is wrong: no Go type names, no "EOF", no ASN.1 dumps.
func TestBadFilesAreDescribedForHumans(t *testing.T) {
	c := newCLI(t)
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // said exactly once
	}{
		{"empty route table", []string{"route", "check", file("empty.json", "")}, "$: the document is empty"},
		{"route table cut short", []string{"route", "check", file("short.json", `{"platform":`)}, "$: the JSON ends early"},
		{"route table of the wrong kind", []string{"route", "check", file("array.json", "[1, 2]")}, "$: found a JSON array where an object belongs"},
		{"route table syntax", []string{"route", "check", file("syntax.json", "{\n  \"platform\": {,\n}")}, "$: line 2, column 16: invalid character ','"},
		{"route table with two documents", []string{"route", "check", file("two.json", "{}\n{}")}, "more after the end of the document"},
		{"route table key of the wrong kind", []string{"route", "check", file("ca.json", `{"platform": {}, "certificate_authorities": "x"}`)},
			"certificate_authorities: want a list of CA names: found a JSON string where a list belongs"},
		{"empty asset file", []string{"asset", "add", "-f", file("a0.json", "")}, "the document is empty"},
		{"asset field of the wrong kind", []string{"asset", "add", "-f", file("a1.json", `{"system_name": "a.example.com", "subject_alternative_name": "b.example.com"}`)},
			"subject_alternative_name: found a JSON string where a list belongs"},
		{"asset of the wrong kind", []string{"asset", "add", "-f", file("a2.json", `[{"system_name": "a.example.com"}]`)}, "found a JSON array where an object belongs"},
		{"misspelt asset field", []string{"asset", "add", "-f", file("a3.json", `{"system_name": "a.example.com", "comon_name": "a.example.com"}`)}, "comon_name: is not an asset field"},
		{"CSR that is not one", []string{"acme", "issue", "--ca", "lets_encrypt", "--csr", file("g.csr", "garbage\n")}, "not a certificate request, in PEM"},
		{"CSR cut short", []string{"acme", "issue", "--ca", "lets_encrypt", "--csr", file("short.csr",
			"-----BEGIN CERTIFICATE REQUEST-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n-----END CERTIFICATE REQUEST-----\n")}, "it is cut short"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, err := c.run("", tc.args...)
			if exitCode(err) != exitFailed {
				t.Errorf("exit status %d, want %d\n%s", exitCode(err), exitFailed, stderr)
			}
			if n := strings.Count(stderr, tc.want); n != 1 {
				t.Errorf("stderr says %q %d times, want once:\n%s", tc.want, n, stderr)
			}
			for _, leak := range []string{"EOF", "json.", "map[", "[]", "struct", "Go value", "asn1", "tags don't match", "{class:", "x509:"} {
				if strings.Contains(stderr, leak) {
					t.Errorf("stderr shows %q:\n%s", leak, stderr)
				}
			}
		})
	}
}
