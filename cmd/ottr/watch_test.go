package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/notify"
)

// TestServeWatchesUnroutedAssets: 'ottr serve' reads the certificate an
// asset no route serves presents on a real TLS listener at its first
// router pass, and records it: the asset says it is monitored, when it
// was read and what it holds; /metrics labels its expiry monitored; the
// certificate, inside its renewal window, is announced once, and not
// again by the passes of a restarted server.
func TestServeWatchesUnroutedAssets(t *testing.T) {
	c := newCLI(t)
	// A device's own certificate: 90 days, 10 left, self-signed.
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Now()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x5eed), Subject: pkix.Name{CommonName: "sw1.example.com", Organization: []string{"Switch Vendor"}},
		NotBefore: now.Add(-80 * 24 * time.Hour).Truncate(time.Second), NotAfter: now.Add(10 * 24 * time.Hour).Truncate(time.Second),
		DNSNames: []string{"sw1.example.com"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	device := httptest.NewUnstartedServer(http.NotFoundHandler())
	device.TLS = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	device.StartTLS()
	t.Cleanup(device.Close)
	_, port, _ := net.SplitHostPort(device.Listener.Addr().String())

	var hookMu sync.Mutex
	var hooks []notify.ExpiryPayload
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p notify.ExpiryPayload
		json.NewDecoder(r.Body).Decode(&p)
		if !strings.HasPrefix(p.Event, "certificate.") {
			return // the daily digest, which lists the asset as due without a route
		}
		hookMu.Lock()
		hooks = append(hooks, p)
		hookMu.Unlock()
	}))
	t.Cleanup(hook.Close)
	warnings := func() []notify.ExpiryPayload {
		hookMu.Lock()
		defer hookMu.Unlock()
		return append([]notify.ExpiryPayload(nil), hooks...)
	}

	// A CA nobody answers: nothing here is rotated.
	cfg := filepath.Join(t.TempDir(), "ottr.yaml")
	os.WriteFile(cfg, fmt.Appendf(nil, `certificate_authorities:
  lets_encrypt: {directory: "https://127.0.0.1:1/directory"}
dns: {zones: [acme.example.net], resolvers: ["127.0.0.1:1"], propagation_timeout: 2s}
notify: {webhook: {url: "%s"}}
router: {watch_timeout: 3s}
`, hook.URL), 0o600)
	// nxos is PENDING in the route table: no route serves it.
	c.ok("--config", cfg, "asset", "add", "sw1.example.com", "--platform", "nxos", "--ca", "lets_encrypt", "--ip", "127.0.0.1", "--port", port)

	listen := freeDNSPort(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	serveLog := &syncBuffer{}
	go func() {
		done <- run(ctx, []string{"--config", cfg, "--data-dir", c.dataDir, "--routes", "../../testdata/route.json", "serve", "--listen", listen},
			func(string) string { return "" }, nil, io.Discard, serveLog)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v\n%s", err, serveLog.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}
	t.Cleanup(stop)

	var as ottr.Asset
	for deadline := time.Now().Add(60 * time.Second); ; {
		out, _, err := c.run("", "--config", cfg, "asset", "get", "sw1.example.com", "-o", "json")
		if err == nil && json.Unmarshal([]byte(out), &as) == nil && as.CertificateObservedAt != nil && len(warnings()) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the certificate was not recorded and announced in 60s: %s\n%s", out, serveLog.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !as.Monitored || as.CertificateExpiration == nil || !as.CertificateExpiration.Equal(cert.NotAfter) ||
		as.CertificateNotBefore == nil || !as.CertificateNotBefore.Equal(cert.NotBefore) || as.CertificateSerial != "5eed" ||
		!strings.Contains(as.CertificateIssuer, "Switch Vendor") || time.Since(as.CertificateObservedAt.Time) > time.Minute {
		t.Errorf("recorded asset: %+v", as)
	}
	// The JSON carries the fields under their names.
	raw := c.ok("--config", cfg, "asset", "get", "sw1.example.com", "-o", "json")
	for _, w := range []string{`"monitored": true`, `"certificate_observed_at": "`} {
		if !strings.Contains(raw, w) {
			t.Errorf("asset JSON lacks %s:\n%s", w, raw)
		}
	}

	resp, err := http.Get("http://" + listen + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	prom, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		fmt.Sprintf(`ottr_certificate_expiry_timestamp_seconds{host_platform="nxos",mode="monitored",system_name="sw1.example.com"} %s`,
			strconv.FormatFloat(float64(cert.NotAfter.Unix()), 'e', -1, 64)),
		"ottr_assets_monitored 1",
	} {
		if !strings.Contains(string(prom), want) {
			t.Errorf("/metrics lacks %s:\n%s", want, grepLines(string(prom), "ottr_"))
		}
	}
	// The pass is on record with what the watch read.
	for deadline := time.Now().Add(10 * time.Second); ; {
		if out := c.ok("--config", cfg, "status"); regexp.MustCompile(`monitored +1 certificates read at the last pass, 0 unreadable`).MatchString(out) {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("status does not show the watch:\n%s", out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop()

	// Restarted, the server's pass reads the certificate again and does
	// not announce it again (run twice at once here: the pass at start
	// and --once's).
	first := as.CertificateObservedAt.Time
	if _, stderr, err := c.run("", "--config", cfg, "serve", "--listen", "", "--once"); err != nil {
		t.Fatalf("serve --once: %v\n%s", err, stderr)
	}
	json.Unmarshal([]byte(c.ok("--config", cfg, "asset", "get", "sw1.example.com", "-o", "json")), &as)
	if !as.CertificateObservedAt.After(first) && !as.CertificateObservedAt.Equal(first) {
		t.Errorf("observed at %v after a second pass, before %v", as.CertificateObservedAt, first)
	}
	got := warnings()
	if len(got) != 1 || got[0].Event != notify.EventCertificateExpiring || got[0].MissingRoute != "platform.nxos" ||
		got[0].Asset == nil || got[0].Asset.SystemName != "sw1.example.com" {
		t.Errorf("expiry warnings: %+v, want one certificate.expiring about sw1.example.com", got)
	}
}
