// Package acmetest runs Let's Encrypt's test CA, Pebble, in-process, for
// tests, benchmarks and `ottr demo`. It serves Pebble's ACME API over TLS on
// 127.0.0.1 with a throwaway certificate, and points Pebble's validation
// authority at a DNS resolver of the caller's choosing.
package acmetest

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/letsencrypt/pebble/v2/ca"
	"github.com/letsencrypt/pebble/v2/db"
	"github.com/letsencrypt/pebble/v2/va"
	"github.com/letsencrypt/pebble/v2/wfe"
)

// Options configure a Pebble.
type Options struct {
	// Resolver is the host:port Pebble's VA sends DNS queries to (over TCP).
	Resolver string
	// EAB maps key IDs to base64url HMAC keys; with RequireEAB, accounts
	// must bind to one.
	EAB        map[string]string
	RequireEAB bool
	// Blocked names are refused with rejectedIdentifier.
	Blocked []string
	// RetryAfter is the Retry-After (seconds) Pebble sends while an order
	// or authorization is processing; 0 sends none, so clients poll at
	// their own pace.
	RetryAfter int
	// AlternateRoots adds that many alternate chains to every issuance,
	// each leading to its own root (for preferred-chain selection).
	AlternateRoots int
	// Log receives Pebble's log; nil discards it.
	Log io.Writer
}

// Pebble is a running in-process Pebble.
type Pebble struct {
	// Directory is the ACME directory URL.
	Directory string
	// TLSRootPEM is the root to trust for Directory's HTTPS.
	TLSRootPEM []byte
	ca         *ca.CAImpl
	issued     *issueLog
	srv        *http.Server
	ln         net.Listener
}

// Start starts Pebble on 127.0.0.1 with validation sleeps, bad-nonce
// injection and authorization reuse turned off, so every order validates
// every name, immediately.
func Start(o Options) (*Pebble, error) {
	// Pebble reads its knobs from the environment when constructed.
	for k, v := range map[string]string{"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0", "PEBBLE_AUTHZREUSE": "0"} {
		os.Setenv(k, v)
	}
	w := o.Log
	if w == nil {
		w = io.Discard
	}
	issued := &issueLog{w: w}
	logger := log.New(issued, "pebble ", log.LstdFlags)
	store := db.NewMemoryStore()
	profiles := map[string]ca.Profile{
		"default":    {Description: "The default profile"},
		"shortlived": {Description: "Six-day certificates", ValidityPeriod: 6 * 24 * 3600},
	}
	caImpl := ca.New(logger, store, "", "ecdsa", o.AlternateRoots, 1, profiles)
	vaImpl := va.New(logger, 80, 443, false, o.Resolver, store)
	for kid, key := range o.EAB {
		if err := store.AddExternalAccountKeyByID(kid, key); err != nil {
			return nil, err
		}
	}
	for _, n := range o.Blocked {
		if err := store.AddBlockedDomain(n); err != nil {
			return nil, err
		}
	}
	front := wfe.New(logger, store, vaImpl, caImpl, []string{"pebble.letsencrypt.org"}, false, o.RequireEAB, o.RetryAfter, o.RetryAfter)

	cert, rootPEM, err := selfSigned()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Pebble{
		Directory:  "https://" + ln.Addr().String() + wfe.DirectoryPath,
		TLSRootPEM: rootPEM,
		ca:         caImpl,
		issued:     issued,
		ln:         ln,
		srv: &http.Server{
			Handler:           oneAtATime(front.Handler()),
			TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}},
			ReadHeaderTimeout: 10 * time.Second,
			ErrorLog:          logger,
		},
	}
	go func() {
		if err := p.srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Print(err)
		}
	}()
	return p, nil
}

// Close stops Pebble; the CA is then "down".
func (p *Pebble) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.srv.Shutdown(ctx)
}

// Issued returns the serials of every certificate issued so far, in order,
// in lower-case hex without leading zeros (fmt's %x of the serial, as Ottr
// records them): what the CA signed, whether or not a client ever
// downloaded it.
func (p *Pebble) Issued() []string {
	p.issued.mu.Lock()
	defer p.issued.mu.Unlock()
	return slices.Clone(p.issued.serials)
}

// oneAtATime serves Pebble's requests one after another. Pebble's front
// end takes its locks in two orders: polling an authorization holds the
// authorization and then reads the account from the store, while a new
// order holds the store and then reads every authorization. With a store
// write waiting between them, enough concurrent clients deadlock the whole
// CA (seen with three Ottr replicas rotating 300 devices). Bodies are read
// before waiting, so a slow or dead client holds no one up.
func oneAtATime(h http.Handler) http.Handler {
	var mu sync.Mutex
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "reading the request: "+err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		mu.Lock()
		defer mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

// issueLog passes Pebble's log through and notes each issuance from it:
// the CA logs one line per certificate it signs, and Pebble has no other
// way to list them.
type issueLog struct {
	w       io.Writer
	mu      sync.Mutex
	serials []string
}

func (l *issueLog) Write(b []byte) (int, error) {
	// log.Logger writes one whole line per call.
	if _, rest, ok := bytes.Cut(b, []byte("Issued certificate serial ")); ok {
		// Pebble names a serial by its bytes, with a leading zero nibble.
		if hexSerial, _, ok := bytes.Cut(rest, []byte(" ")); ok {
			if n, ok := new(big.Int).SetString(string(hexSerial), 16); ok {
				l.mu.Lock()
				l.serials = append(l.serials, fmt.Sprintf("%x", n))
				l.mu.Unlock()
			}
		}
	}
	return l.w.Write(b)
}

// RootPEM returns the root that Pebble's issued chains lead to.
func (p *Pebble) RootPEM() []byte { return p.ca.GetRootCert(0).PEM() }

// IntermediatePEM returns the intermediate that signs Pebble's
// certificates: what a client needs beside the root to verify a server
// that sends its leaf alone.
func (p *Pebble) IntermediatePEM() []byte { return p.ca.GetIntermediateCert(0).PEM() }

// AlternateRoot returns alternate root n (1-based) as parsed by Pebble.
func (p *Pebble) AlternateRoot(n int) *x509.Certificate { return p.ca.GetRootCert(n).Cert }

// selfSigned makes a throwaway CA and a certificate for 127.0.0.1 and
// localhost signed by it.
func selfSigned() (tls.Certificate, []byte, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "acmetest directory root"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}
