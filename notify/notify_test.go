package notify_test

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/internal/testpki"
	"github.com/ottr-dev/ottr/notify"
)

func failed() (*ottr.Rotation, *ottr.Asset) {
	return &ottr.Rotation{ID: "01ABC", SystemName: "fw01.example.com", State: ottr.StateFailed, Step: ottr.StepInstall,
			Attempts: 5, Error: "install script exited with status 1: commit failed"},
		&ottr.Asset{SystemName: "fw01.example.com", IPAddress: "10.0.0.1", HostPlatform: "panos", OSVersion: "9.1.0",
			CertificateAuthority: "lets_encrypt", CertificateExpiration: ottr.NewTime(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))}
}

func TestSlackWebhookAndBot(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	var auth []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		got = append(got, body)
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		switch r.URL.Path {
		case "/api/chat.postMessage":
			if body["channel"] == "#nope" {
				io.WriteString(w, `{"ok":false,"error":"channel_not_found"}`)
				return
			}
			io.WriteString(w, `{"ok":true,"channel":"C1","ts":"1.2"}`)
		case "/services/T000/B000/XXXX":
			io.WriteString(w, "ok")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	r, a := failed()

	n, err := notify.New(notify.Config{Slack: &notify.SlackConfig{WebhookURL: ottr.Secret(srv.URL + "/services/T000/B000/XXXX")}, LinkBase: "https://ottr.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Notify(t.Context(), r, a); err != nil {
		t.Fatal(err)
	}
	text := got[0]["blocks"].([]any)[0].(map[string]any)["text"].(map[string]any)["text"].(string)
	for _, w := range []string{"*Hostname:* `fw01.example.com`", "*IPv4 Address:* `10.0.0.1`", "*Certificate Expiration:* `2026-12-01T00:00:00Z`",
		"*Platform:* `panos`", "*OS Version:* `9.1.0`", "*Certificate Authority:* `lets_encrypt`", "*Step:* `install`", "commit failed"} {
		if !strings.Contains(text, w) {
			t.Errorf("slack text lacks %q:\n%s", w, text)
		}
	}
	if b, _ := json.Marshal(got[0]); !strings.Contains(string(b), "https://ottr.example.com/rotations/01ABC") {
		t.Errorf("no link to the rotation: %s", b)
	}

	bot, _ := notify.New(notify.Config{Slack: &notify.SlackConfig{BotToken: "xoxb-secret-token", Channel: "#pki", APIBase: srv.URL + "/api"}})
	if err := bot.Notify(t.Context(), r, a); err != nil {
		t.Fatal(err)
	}
	if auth[1] != "Bearer xoxb-secret-token" || got[1]["channel"] != "#pki" {
		t.Errorf("bot post: auth %q channel %v", auth[1], got[1]["channel"])
	}
	wrong, _ := notify.New(notify.Config{Slack: &notify.SlackConfig{BotToken: "xoxb-secret-token", Channel: "#nope", APIBase: srv.URL + "/api"}})
	if err := wrong.Notify(t.Context(), r, a); err == nil || !strings.Contains(err.Error(), "channel_not_found") || strings.Contains(err.Error(), "xoxb") {
		t.Errorf("chat.postMessage ok:false: %v", err)
	}
	// Successes are quiet unless asked for.
	before := len(got)
	ok := &ottr.Rotation{ID: "x", SystemName: a.SystemName, State: ottr.StateSucceeded}
	if err := n.Notify(t.Context(), ok, a); err != nil || len(got) != before {
		t.Errorf("success sent without on_success: %v", err)
	}
	if _, err := notify.New(notify.Config{Slack: &notify.SlackConfig{}}); err == nil {
		t.Error("slack without webhook or token accepted")
	}
}

func TestWebhookSigned(t *testing.T) {
	secret := []byte("whsec-0123456789")
	var body []byte
	var sig, ts string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		sig, ts = r.Header.Get("X-Ottr-Signature"), r.Header.Get("X-Ottr-Timestamp")
	}))
	defer srv.Close()
	n, err := notify.New(notify.Config{OnSuccess: true, Webhook: &notify.WebhookConfig{URL: srv.URL, Secret: ottr.Secret(secret)}})
	if err != nil {
		t.Fatal(err)
	}
	r, a := failed()
	if err := n.Notify(t.Context(), r, a); err != nil {
		t.Fatal(err)
	}
	if sig == "" || sig != notify.Sign(secret, ts, body) {
		t.Errorf("signature %q does not verify", sig)
	}
	var p notify.WebhookPayload
	if err := json.Unmarshal(body, &p); err != nil || p.Event != "rotation.failed" || p.Rotation.Error == "" || p.Asset.IPAddress != "10.0.0.1" {
		t.Errorf("payload %s", body)
	}
	if strings.Contains(string(body), string(secret)) {
		t.Error("secret in the payload")
	}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) })
	if err := n.Notify(t.Context(), r, a); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("receiver down: %v", err)
	}
}

// smtpServer is a small SMTP server: EHLO with STARTTLS and AUTH PLAIN,
// MAIL, RCPT, DATA, QUIT. It keeps the messages it receives.
type smtpServer struct {
	addr string
	tls  *tls.Config
	mu   sync.Mutex
	msgs []string
	auth []string
}

func startSMTP(t *testing.T) (*smtpServer, *x509.CertPool) {
	ca := testpki.NewCA("smtp test CA")
	s := &smtpServer{tls: &tls.Config{Certificates: []tls.Certificate{ca.ServerCert()}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s.addr = ln.Addr().String()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s, ca.Pool()
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	rd, w := bufio.NewReader(c), c
	say := func(l string) { io.WriteString(w, l+"\r\n") }
	say("220 test ESMTP")
	secure := false
	var data strings.Builder
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-test")
			if !secure {
				say("250-STARTTLS")
			}
			say("250 AUTH PLAIN")
		case cmd == "STARTTLS":
			say("220 go ahead")
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			c, rd, w, secure = tc, bufio.NewReader(tc), tc, true
		case strings.HasPrefix(cmd, "AUTH PLAIN"):
			b, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(line[len("AUTH PLAIN"):]))
			s.mu.Lock()
			s.auth = append(s.auth, string(b))
			s.mu.Unlock()
			if !secure {
				say("538 encryption required")
				continue
			}
			say("235 ok")
		case strings.HasPrefix(cmd, "MAIL FROM"), strings.HasPrefix(cmd, "RCPT TO"):
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			for {
				l, err := rd.ReadString('\n')
				if err != nil || l == ".\r\n" {
					break
				}
				data.WriteString(l)
			}
			s.mu.Lock()
			s.msgs = append(s.msgs, data.String())
			s.mu.Unlock()
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 unknown")
		}
	}
}

func TestEmail(t *testing.T) {
	s, pool := startSMTP(t)
	n, err := notify.New(notify.Config{Email: &notify.EmailConfig{Server: s.addr, Username: "ottr", Password: "smtp-pass-123",
		From: "ottr@example.com", To: []string{"pki@example.com", "netops@example.com"},
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}}})
	if err != nil {
		t.Fatal(err)
	}
	r, a := failed()
	if err := n.Notify(t.Context(), r, a); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) != 1 {
		t.Fatalf("%d messages", len(s.msgs))
	}
	for _, w := range []string{"Subject: Certificate rotation of fw01.example.com failed at install", "Hostname: fw01.example.com",
		"Error: install script exited with status 1", "Rotation: ottr rotations show 01ABC"} {
		if !strings.Contains(s.msgs[0], w) {
			t.Errorf("mail lacks %q:\n%s", w, s.msgs[0])
		}
	}
	if len(s.auth) != 1 || !strings.Contains(s.auth[0], "smtp-pass-123") {
		t.Errorf("auth %q", s.auth)
	}
	if _, err := notify.New(notify.Config{Email: &notify.EmailConfig{Server: "nope", From: "x", To: nil}}); err == nil ||
		!strings.Contains(err.Error(), "notify.email.server") || !strings.Contains(err.Error(), "notify.email.to") {
		t.Errorf("bad email config: %v", err)
	}
}
