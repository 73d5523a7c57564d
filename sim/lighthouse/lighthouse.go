// Package lighthouse simulates the HTTPS service of an Opengear Lighthouse
// console server as its REST API exposes it (/api/v3.x): sessions from
// POST /sessions used as "Authorization: Token <session>", errors in
// Lighthouse's {"error":[{"type","code","text","args","level"}]} envelope,
// and one web certificate slot managed through /services/https — a PUT
// with csr "new" makes a key and a CSR for the common name (the API has no
// field for alternative names), a PUT with cert (and optionally key)
// replaces the certificate, after which the web server restarts.
//
// It serves the API and the web UI on one TLS port with the current
// certificate, and injects faults: refused credentials, a failing
// configuration push, a failing request download, and a restart during
// which handshakes fail.
package lighthouse

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
)

// Faults make the device misbehave; set them with Device.SetFaults.
type Faults struct {
	BadCredentials bool
	// PushFail answers configuration changes with 500 "Push command failed".
	PushFail bool
	// RestartFor is how long the web server is down after a new
	// certificate (default 50ms).
	RestartFor time.Duration
	// FailCSRDownload answers the request's download with 500, after the
	// key and request were made.
	FailCSRDownload bool
}

// Device is a running simulated Lighthouse.
type Device struct {
	Addr string

	mu        sync.Mutex
	users     map[string]string
	sessions  map[string]string
	key       crypto.Signer
	chain     []*x509.Certificate
	pending   crypto.Signer
	csr       *x509.CertificateRequest
	downUntil time.Time
	faults    Faults
	srv       *http.Server
	puts      int
}

// Start runs a Lighthouse with one user and a self-signed certificate.
func Start(user, password string) (*Device, error) {
	d := &Device{users: map[string]string{user: password}, sessions: map[string]string{}}
	factory := testpki.SelfSigned("lighthouse", "Opengear")
	d.key, d.chain = factory.PrivateKey.(crypto.Signer), []*x509.Certificate{factory.Leaf}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	d.Addr = ln.Addr().String()
	d.srv = &http.Server{Handler: http.HandlerFunc(d.serve), ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	go d.srv.Serve(tls.NewListener(ln, &tls.Config{GetCertificate: d.served})) //nolint:errcheck // ends with Close
	return d, nil
}

// Close stops the device.
func (d *Device) Close() error { return d.srv.Close() }

// SetFaults replaces the injected faults.
func (d *Device) SetFaults(f Faults) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = f
}

// Preload installs a key and chain as the current web certificate.
func (d *Device) Preload(key crypto.Signer, chain []*x509.Certificate) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.key, d.chain = key, chain
}

// Pending says whether a key made for a request waits for its
// certificate.
func (d *Device) Pending() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.pending != nil
}

// Puts counts the configuration changes made.
func (d *Device) Puts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.puts
}

func (d *Device) served(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Now().Before(d.downUntil) {
		return nil, errors.New("web server restarting")
	}
	tc := &tls.Certificate{PrivateKey: d.key, Leaf: d.chain[0]}
	for _, c := range d.chain {
		tc.Certificate = append(tc.Certificate, c.Raw)
	}
	return tc, nil
}

type apiErr struct {
	Type  int               `json:"type"`
	Code  int               `json:"code"`
	Text  string            `json:"text"`
	Args  map[string]string `json:"args"`
	Level int               `json:"level"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, errs ...apiErr) {
	for i := range errs {
		if errs[i].Args == nil {
			errs[i].Args = map[string]string{}
		}
		errs[i].Level = 1
	}
	writeJSON(w, status, map[string]any{"error": errs})
}

var apiPath = regexp.MustCompile(`^/api/v3\.[0-9]+(/.*)$`)

func (d *Device) serve(w http.ResponseWriter, r *http.Request) {
	m := apiPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<html><body>Opengear Lighthouse</body></html>")
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	path := m[1]
	if path == "/sessions" && r.Method == http.MethodPost {
		d.login(w, r)
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Token ")
	if _, valid := d.sessions[tok]; !ok || !valid || d.faults.BadCredentials {
		fail(w, http.StatusUnauthorized, apiErr{Type: 7, Code: 42, Text: "Authentication required"})
		return
	}
	switch {
	case path == "/services/https" && r.Method == http.MethodGet:
		if r.URL.Query().Get("zip") == "true" {
			d.zipCSR(w)
			return
		}
		writeJSON(w, 200, map[string]any{"https": d.details(r)})
	case path == "/services/https/csr" && r.Method == http.MethodGet:
		if d.faults.FailCSRDownload {
			fail(w, http.StatusInternalServerError, apiErr{Type: 1, Code: 33, Text: "Failed to read the certificate signing request"})
			return
		}
		if d.csr == nil {
			fail(w, http.StatusNotFound, apiErr{Type: 3, Code: 30, Text: "No certificate signing request is pending"})
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: d.csr.Raw}))
	case path == "/services/https" && r.Method == http.MethodPut:
		d.put(w, r)
	default:
		fail(w, http.StatusNotFound, apiErr{Type: 3, Code: 30, Text: "Resource not found"})
	}
}

func (d *Device) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Username, Password string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil || in.Username == "" {
		fail(w, http.StatusBadRequest, apiErr{Type: 4, Code: 40, Text: "Required field 'username' was not provided in the request"})
		return
	}
	if want, ok := d.users[in.Username]; !ok || want != in.Password || d.faults.BadCredentials {
		fail(w, http.StatusUnauthorized, apiErr{Type: 7, Code: 41, Text: "Invalid login credentials"})
		return
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	sid := hex.EncodeToString(b)
	d.sessions[sid] = in.Username
	writeJSON(w, 200, map[string]string{"state": "authenticated", "session": sid, "user": in.Username})
}

func gmt(t time.Time) string { return t.UTC().Format("Jan _2 15:04:05 2006 GMT") }

func (d *Device) details(r *http.Request) map[string]any {
	leaf := d.chain[0]
	out := map[string]any{"valid_from": gmt(leaf.NotBefore), "valid_to": gmt(leaf.NotAfter), "common_name": leaf.Subject.CommonName,
		"organization": strings.Join(leaf.Subject.Organization, ", "), "key_length": keyLength(d.key), "cert": string(ottr.EncodeChain(d.chain))}
	if d.csr != nil {
		out["csr"] = map[string]any{"csr": "https://" + r.Host + strings.TrimSuffix(r.URL.Path, "/") + "/csr",
			"common_name": d.csr.Subject.CommonName, "key_length": keyLength(d.pending)}
	}
	return out
}

func keyLength(k crypto.Signer) int {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return k.N.BitLen()
	case *ecdsa.PrivateKey:
		return k.Curve.Params().BitSize
	}
	return 0
}

func (d *Device) zipCSR(w http.ResponseWriter) {
	if d.csr == nil {
		fail(w, http.StatusNotFound, apiErr{Type: 3, Code: 30, Text: "No certificate signing request is pending"})
		return
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	f, _ := zw.Create("lighthouse.csr")
	_, _ = f.Write(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: d.csr.Raw}))
	_ = zw.Close()
	w.Header().Set("Content-Type", "application/zip")
	_, _ = w.Write(buf.Bytes())
}

type httpsBody struct {
	HTTPS struct {
		CommonName string `json:"common_name"`
		KeyLength  int    `json:"key_length"`
		Cert       string `json:"cert"`
		Key        string `json:"key"`
		CSR        *struct {
			CSR        string `json:"csr"`
			CommonName string `json:"common_name"`
			KeyLength  int    `json:"key_length"`
		} `json:"csr"`
	} `json:"https"`
}

func (d *Device) put(w http.ResponseWriter, r *http.Request) {
	var in httpsBody
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		fail(w, http.StatusBadRequest, apiErr{Type: 2, Code: 14, Text: " JSON did not conform to the expected format."})
		return
	}
	if d.faults.PushFail {
		fail(w, http.StatusInternalServerError, apiErr{Type: 1, Code: 33, Text: "Push command failed"})
		return
	}
	h := in.HTTPS
	switch {
	case h.CSR != nil && h.CSR.CSR == "new":
		cn := h.CSR.CommonName
		if cn == "" {
			cn = h.CommonName
		}
		bits := h.CSR.KeyLength
		if bits == 0 {
			bits = 2048
		}
		if cn == "" || (bits != 2048 && bits != 4096) {
			fail(w, http.StatusBadRequest, apiErr{Type: 2, Code: 14, Text: " String did not conform to the expected format.", Args: map[string]string{"uuid": "root-1-services_https_csr_common_name"}},
				apiErr{Type: 1, Code: 33, Text: "Push command failed"})
			return
		}
		key, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			fail(w, http.StatusInternalServerError, apiErr{Type: 1, Code: 33, Text: "Push command failed"})
			return
		}
		der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: cn}}, key)
		d.csr, _ = x509.ParseCertificateRequest(der)
		d.pending = key
	case h.Cert != "":
		chain, err := ottr.ParseChain([]byte(h.Cert))
		if err != nil || len(chain) == 0 {
			fail(w, http.StatusBadRequest, apiErr{Type: 2, Code: 14, Text: " Certificate is not a valid PEM certificate.", Args: map[string]string{"uuid": "root-1-services_https_cert"}})
			return
		}
		key := d.pending
		if h.Key != "" {
			if key, err = parseKey(h.Key); err != nil {
				fail(w, http.StatusBadRequest, apiErr{Type: 2, Code: 14, Text: " Key is not a valid PEM private key.", Args: map[string]string{"uuid": "root-1-services_https_key"}})
				return
			}
		}
		if key == nil || !ottr.SamePublicKey(key.Public(), chain[0].PublicKey) {
			fail(w, http.StatusBadRequest, apiErr{Type: 2, Code: 14, Text: " Certificate does not match the private key.", Args: map[string]string{"uuid": "root-1-services_https_cert"}},
				apiErr{Type: 1, Code: 33, Text: "Push command failed"})
			return
		}
		d.key, d.chain, d.pending, d.csr = key, chain, nil, nil
		restart := d.faults.RestartFor
		if restart == 0 {
			restart = 50 * time.Millisecond
		}
		d.downUntil = time.Now().Add(restart)
	default:
		d.pending, d.csr = nil, nil // no https.csr: a pending request is cancelled
	}
	d.puts++
	writeJSON(w, 200, map[string]any{"https": d.details(r)})
}

func parseKey(p string) (crypto.Signer, error) {
	b, _ := pem.Decode([]byte(p))
	if b == nil {
		return nil, errors.New("no PEM")
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, err
	}
	s, ok := k.(crypto.Signer)
	if !ok {
		return nil, errors.New("not a signing key")
	}
	return s, nil
}
