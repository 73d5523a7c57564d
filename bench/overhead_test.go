package bench

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/ottr-dev/ottr/internal/dnstest"
)

// BenchmarkIssueOverhead measures what `ottr acme issue` costs before it
// asks the CA anything: process start, configuration, the database and
// account look-up, the CSR policy and the names' CNAME preflight. The
// release binary (make build) is started against a CA directory whose
// server notes when the first request arrives and answers 503; the time
// from exec to that request is the process overhead (issue 16's target:
// < 50 ms), the rest of a real issuance being the CA's and DNS's.
func BenchmarkIssueOverhead(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "ottr")
	build := exec.Command("go", "build", "-tags", "nodemo", "-trimpath", "-ldflags", "-s -w", "-o", bin, "../cmd/ottr")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build ottr: %v\n%s", err, out)
	}
	arrived := make(chan time.Time, 1)
	ca := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrived <- time.Now():
		default:
		}
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
	}))
	b.Cleanup(ca.Close)
	root := filepath.Join(dir, "ca.pem")
	os.WriteFile(root, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Certificate().Raw}), 0o644)
	res := dnstest.StartDetached()
	const zone = "acme.example.test"
	res.CNAME("_acme-challenge.host1.example.com", "_acme-challenge.host1."+zone)
	conf := filepath.Join(dir, "ottr.yaml")
	os.WriteFile(conf, fmt.Appendf(nil, `data_dir: %s
certificate_authorities:
  ca: {directory: %s/directory, directory_ca: %s}
dns:
  zones: [%s]
  resolvers: [%s]
`, filepath.Join(dir, "data"), ca.URL, root, zone, res.Addr), 0o644)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "host1.example.com"},
		DNSNames: []string{"host1.example.com"}}, key)
	csr := filepath.Join(dir, "host1.csr")
	os.WriteFile(csr, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}), 0o644)
	issue := func() (time.Duration, error) {
		cmd := exec.Command(bin, "--config", conf, "-q", "acme", "issue", "--ca", "ca", "--csr", csr)
		start := time.Now()
		out, err := cmd.CombinedOutput()
		if err == nil {
			return 0, fmt.Errorf("issued against a CA that answers 503:\n%s", out)
		}
		select {
		case at := <-arrived:
			return at.Sub(start), nil
		default:
			return 0, fmt.Errorf("the CA was never asked: %v\n%s", err, out)
		}
	}
	// The first run creates the database and master key: outside timing.
	if _, err := issue(); err != nil {
		b.Fatal(err)
	}
	var all []time.Duration
	b.ResetTimer()
	for range b.N {
		d, err := issue()
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, d)
	}
	b.StopTimer()
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	b.ReportMetric(float64(all[len(all)/2].Microseconds())/1000, "ms-to-first-CA-request(median)")
	b.ReportMetric(float64(all[0].Microseconds())/1000, "ms-to-first-CA-request(min)")
}
