package notify_test

import (
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/notify"
)

func expiryWarning(expired bool) ottr.ExpiryWarning {
	return ottr.ExpiryWarning{
		Asset: &ottr.Asset{SystemName: "sw1.example.com", IPAddress: "192.0.2.7", HostPlatform: "nxos", CertificateAuthority: "lets_encrypt",
			CertificateExpiration: ottr.NewTime(time.Date(2026, 12, 13, 0, 0, 0, 0, time.UTC)), CertificateSerial: "1234",
			CertificateIssuer: "CN=Corp CA", Monitored: true, CertificateObservedAt: ottr.NewTime(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC))},
		Expired: expired,
		NoRoute: &ottr.NoRouteError{Key: "platform.nxos", Reason: `platform "nxos" is PENDING: no route yet`},
		Reason:  "20 days left; renewal window is 30 days before expiry",
	}
}

func TestExpiryMessage(t *testing.T) {
	m := notify.ExpiryMessage{Warning: expiryWarning(false)}
	if got, want := m.Title(), "Certificate of sw1.example.com nears expiry (2026-12-13), not rotated by Ottr — no route: platform.nxos"; got != want {
		t.Errorf("title %q\nwant  %q", got, want)
	}
	m = notify.ExpiryMessage{Warning: expiryWarning(true)}
	if got, want := m.Title(), "Certificate of sw1.example.com expired on 2026-12-13, not rotated by Ottr — no route: platform.nxos"; got != want {
		t.Errorf("title %q\nwant  %q", got, want)
	}
	fields := map[string]string{}
	for _, f := range m.Fields() {
		fields[f[0]] = f[1]
	}
	for k, v := range map[string]string{"Certificate Expiration": "2026-12-13T00:00:00Z", "Serial": "1234", "Issuer": "CN=Corp CA",
		"No route": `platform "nxos" is PENDING: no route yet`, "Renewal": "20 days left; renewal window is 30 days before expiry",
		"Last read from the device": "2026-11-23T12:00:00Z", "Details": "ottr asset get sw1.example.com"} {
		if fields[k] != v {
			t.Errorf("%s = %q, want %q", k, fields[k], v)
		}
	}
}

// Every channel gets the warning: Slack a section, a signed webhook the
// certificate.expiring event with the asset, e-mail the facts.
func TestNotifyExpiryEveryChannel(t *testing.T) {
	var mu sync.Mutex
	bodies := map[string][]byte{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies[r.URL.Path] = b
		mu.Unlock()
		if r.URL.Path == "/hook" && notify.Sign([]byte("whsec"), r.Header.Get("X-Ottr-Timestamp"), b) != r.Header.Get("X-Ottr-Signature") {
			http.Error(w, "bad signature", http.StatusUnauthorized)
		}
	}))
	defer srv.Close()
	s, pool := startSMTP(t)
	n, err := notify.New(notify.Config{
		Slack:   &notify.SlackConfig{WebhookURL: ottr.Secret(srv.URL + "/slack")},
		Webhook: &notify.WebhookConfig{URL: srv.URL + "/hook", Secret: "whsec"},
		Email: &notify.EmailConfig{Server: s.addr, From: "ottr@example.com", To: []string{"pki@example.com"},
			TLSConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.NotifyExpiry(t.Context(), expiryWarning(false)); err != nil {
		t.Fatal(err)
	}
	var slack struct {
		Text   string `json:"text"`
		Blocks []struct {
			Text struct{ Text string } `json:"text"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(bodies["/slack"], &slack); err != nil || len(slack.Blocks) == 0 {
		t.Fatalf("slack body %s: %v", bodies["/slack"], err)
	}
	if !strings.HasPrefix(slack.Text, "Certificate of sw1.example.com nears expiry") || !strings.Contains(slack.Blocks[0].Text.Text, "*No route:* `platform \"nxos\" is PENDING: no route yet`") {
		t.Errorf("slack: %q\n%s", slack.Text, slack.Blocks[0].Text.Text)
	}
	var hook notify.ExpiryPayload
	if err := json.Unmarshal(bodies["/hook"], &hook); err != nil {
		t.Fatalf("webhook body %s: %v", bodies["/hook"], err)
	}
	if hook.Event != notify.EventCertificateExpiring || hook.MissingRoute != "platform.nxos" || hook.Asset == nil ||
		hook.Asset.SystemName != "sw1.example.com" || !hook.Asset.Monitored || hook.Reason == "" {
		t.Errorf("webhook payload %+v", hook)
	}
	s.mu.Lock()
	if len(s.msgs) != 1 || !strings.Contains(s.msgs[0], "Subject: Certificate of sw1.example.com nears expiry (2026-12-13), not rotated by Ottr") ||
		!strings.Contains(s.msgs[0], "Serial: 1234") {
		t.Errorf("mail: %q", s.msgs)
	}
	s.mu.Unlock()

	if err := n.NotifyExpiry(t.Context(), expiryWarning(true)); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(bodies["/hook"], &hook); err != nil || hook.Event != notify.EventCertificateExpired {
		t.Errorf("expired: event %q, %v", hook.Event, err)
	}
}
