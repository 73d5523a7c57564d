package ottr

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
)

// ErrNoCertificate is returned by ParseChain for input without a
// CERTIFICATE block.
var ErrNoCertificate = errors.New("no certificate in PEM")

// EncodeChain writes certificates as PEM CERTIFICATE blocks, in order
// (leaf first for a chain).
func EncodeChain(chain []*x509.Certificate) []byte {
	var out []byte
	for _, c := range chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// ParseChain reads the CERTIFICATE blocks of b in order, skipping other
// blocks (a key next to its chain). It fails on a block that does not
// parse, and with ErrNoCertificate when there is none.
func ParseChain(b []byte) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, &x509Error{what: fmt.Sprintf("certificate %d of the PEM", len(out)+1), err: err}
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, ErrNoCertificate
	}
	return out, nil
}

// SamePublicKey reports whether a and b are the same public key (a
// certificate's and the key a device holds, say).
func SamePublicKey(a, b crypto.PublicKey) bool {
	x, err1 := x509.MarshalPKIXPublicKey(a)
	y, err2 := x509.MarshalPKIXPublicKey(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// ErrNoCSR is returned by ParseCSR for input without a CERTIFICATE
// REQUEST block.
var ErrNoCSR = errors.New("no PEM certificate request")

// ParseCSR reads the first PEM CERTIFICATE REQUEST in b; text before it
// (a device's CLI output) is skipped.
func ParseCSR(b []byte) (*x509.CertificateRequest, error) {
	for {
		var block *pem.Block
		block, b = pem.Decode(b)
		if block == nil {
			return nil, ErrNoCSR
		}
		if block.Type == "CERTIFICATE REQUEST" {
			csr, err := x509.ParseCertificateRequest(block.Bytes)
			if err != nil {
				return nil, &x509Error{what: "the CERTIFICATE REQUEST", err: err}
			}
			return csr, nil
		}
	}
}

// DescribeX509Error says in a few words why certificate or key bytes did
// not parse. crypto/x509 passes on encoding/asn1's structure dumps ("tags
// don't match (16 vs {class:1 tag:7 …}) {optional:false …}"), which tell
// whoever gave the file nothing.
func DescribeX509Error(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "truncated"):
		return "it is cut short"
	case strings.Contains(msg, "asn1:"), strings.Contains(msg, "malformed"):
		return "its DER encoding is damaged or of another kind of object"
	case strings.Contains(msg, "trailing data"):
		return "it has extra bytes after the object"
	case strings.Contains(msg, "unsupported") || strings.Contains(msg, "unknown"):
		return strings.TrimPrefix(msg, "x509: ")
	}
	return "it does not parse"
}

// x509Error is a certificate or request that does not parse, described
// without x509's ASN.1 dump; the cause stays reachable with errors.As.
type x509Error struct {
	what string
	err  error
}

func (e *x509Error) Error() string { return e.what + " does not parse: " + DescribeX509Error(e.err) }
func (e *x509Error) Unwrap() error { return e.err }
