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

	"github.com/google/go-cmp/cmp"
	"github.com/ottr-dev/ottr"
	"github.com/ottr-dev/ottr/notify"
)

func digest() ottr.Digest {
	return ottr.Digest{Day: "2026-11-23",
		Failing: 12, FailingAssets: []string{"fw01.example.com", "fw02.example.com"},
		Expiring: 2, ExpiringAssets: []string{"lb01.example.com", "lb02.example.com"}, ExpiringWithin: 7 * 24 * time.Hour, ExpiringDays: 7,
		Unrouted: map[string]int{"panos/7.0.0": 30, "Windows": 4}}
}

func TestDigestMessage(t *testing.T) {
	m := notify.DigestMessage{Digest: digest()}
	if got, want := m.Title(), "Ottr daily digest 2026-11-23: 12 failing, 2 expiring within 7 days without a successful rotation, 34 due without a route"; got != want {
		t.Errorf("title %q\nwant  %q", got, want)
	}
	want := [][2]string{
		{"Failing rotations", "12: fw01.example.com, fw02.example.com and 10 more"},
		{"Expiring within 7 days, not renewed", "2: lb01.example.com, lb02.example.com"},
		{"Due without a route, by missing route key", "Windows (4); panos/7.0.0 (30)"},
		{"Details", "ottr asset list --days-until-expiration 7; ottr router run --dry-run"},
	}
	if d := cmp.Diff(want, m.Fields()); d != "" {
		t.Errorf("fields (-want +got):\n%s", d)
	}
	// Only what has a count is listed.
	only := notify.DigestMessage{Digest: ottr.Digest{Day: "2026-11-23", Unrouted: map[string]int{"Windows": 1}, ExpiringDays: 7}, Link: "https://ottr.example.com"}
	if got := only.Title(); got != "Ottr daily digest 2026-11-23: 1 due without a route" {
		t.Errorf("title %q", got)
	}
	if f := only.Fields(); len(f) != 2 || f[1] != [2]string{"Details", "https://ottr.example.com"} {
		t.Errorf("fields %q", f)
	}
}

// Every channel gets the digest: Slack a section with the counts, a
// webhook the signed digest as JSON, e-mail a summary.
func TestNotifyDigestEveryChannel(t *testing.T) {
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
	if err := n.NotifyDigest(t.Context(), digest()); err != nil {
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
	for _, w := range []string{"*Failing rotations:* `12: fw01.example.com, fw02.example.com and 10 more`", "*Due without a route, by missing route key:* `Windows (4); panos/7.0.0 (30)`"} {
		if !strings.Contains(slack.Blocks[0].Text.Text, w) {
			t.Errorf("slack lacks %q:\n%s", w, slack.Blocks[0].Text.Text)
		}
	}
	if !strings.HasPrefix(slack.Text, "Ottr daily digest 2026-11-23: 12 failing") {
		t.Errorf("slack text %q", slack.Text)
	}

	var hook notify.DigestPayload
	if err := json.Unmarshal(bodies["/hook"], &hook); err != nil {
		t.Fatalf("webhook body %s: %v", bodies["/hook"], err)
	}
	want := digest()
	want.ExpiringWithin = 0 // not in JSON; expiring_within_days is
	if hook.Event != "digest" || !strings.HasPrefix(hook.Title, "Ottr daily digest") {
		t.Errorf("webhook event %q title %q", hook.Event, hook.Title)
	}
	if d := cmp.Diff(want, hook.Digest); d != "" {
		t.Errorf("webhook digest (-want +got):\n%s", d)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.msgs) != 1 {
		t.Fatalf("%d mails", len(s.msgs))
	}
	for _, w := range []string{"Subject: Ottr daily digest 2026-11-23: 12 failing, 2 expiring within 7 days", "Expiring within 7 days, not renewed: 2: lb01.example.com, lb02.example.com",
		"Details: ottr asset list --days-until-expiration 7"} {
		if !strings.Contains(s.msgs[0], w) {
			t.Errorf("mail lacks %q:\n%s", w, s.msgs[0])
		}
	}
}

func TestDigestConfig(t *testing.T) {
	for in, want := range map[string]time.Duration{"08:00": 8 * time.Hour, "23:59": 23*time.Hour + 59*time.Minute, "00:00": 0} {
		at, on, err := notify.Config{Digest: in}.DigestAt()
		if !on || err != nil || at != want {
			t.Errorf("%q: %v %v %v", in, at, on, err)
		}
	}
	for _, off := range []string{"", "off", "OFF"} {
		if _, on, err := (notify.Config{Digest: off}).DigestAt(); on || err != nil {
			t.Errorf("%q: on=%v %v", off, on, err)
		}
	}
	for _, bad := range []string{"8am", "24:00", "08:60", "tomorrow"} {
		_, err := notify.New(notify.Config{Digest: bad})
		if ottr.ErrorCode(err) != ottr.EINVALID || strings.Join(problemFields(err), ",") != "notify.digest" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func problemFields(err error) []string {
	var f []string
	for _, p := range ottr.ErrorProblems(err) {
		f = append(f, p.Field)
	}
	return f
}
