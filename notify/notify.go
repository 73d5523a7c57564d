// Package notify tells people about rotations: Slack (incoming webhook or
// a bot token with chat.postMessage, with the fields Ottr's handler sent),
// a generic JSON webhook signed with HMAC-SHA256, and e-mail over SMTP.
// A failure is sent when it starts a streak of failures (later retries
// that fail again stay quiet), a success when it ends one, and every
// success when OnSuccess is set. The daily digest (NotifyDigest) and the
// warnings about certificates Ottr does not rotate nearing their expiry
// (NotifyExpiry) go to the same channels.
package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// Config selects the channels. Any of Slack, Webhook and Email may be set.
type Config struct {
	// OnSuccess also reports rotations that succeeded.
	OnSuccess bool `yaml:"on_success"`
	// LinkBase turns a rotation ID into a link: LinkBase + "/rotations/" +
	// ID (the API's or dashboard's URL). Empty: the CLI command to show it.
	LinkBase string         `yaml:"link_base"`
	Slack    *SlackConfig   `yaml:"slack"`
	Webhook  *WebhookConfig `yaml:"webhook"`
	Email    *EmailConfig   `yaml:"email"`
	// Digest is the time of day, "HH:MM" in UTC, from which the daily
	// digest goes out; "" or "off" sends none. See DigestAt.
	Digest string `yaml:"digest"`
	// HTTPClient is used for Slack and webhooks; default 15s timeout.
	HTTPClient *http.Client `yaml:"-"`
}

// Notifier sends to every configured channel. It implements ottr.Notifier.
type Notifier struct {
	c     Config
	sends []sender
}

type sender struct {
	name string
	send func(ctx context.Context, p post) error
}

// post is one message as every channel renders it.
type post struct {
	title   string // e-mail subject, Slack's notification text
	text    string // e-mail body
	blocks  []any  // Slack layout
	payload any    // webhook JSON body
}

var _ ottr.Notifier = (*Notifier)(nil)

// Message is what every channel says about one rotation.
type Message struct {
	Rotation *ottr.Rotation `json:"rotation"`
	Asset    *ottr.Asset    `json:"asset"`
	Link     string         `json:"link"`
}

// Failed reports whether the rotation failed.
func (m Message) Failed() bool { return m.Rotation.State != ottr.StateSucceeded }

// Title is a one-line summary.
func (m Message) Title() string {
	if m.Failed() {
		return fmt.Sprintf("Certificate rotation of %s failed at %s", m.Asset.SystemName, m.Rotation.Step)
	}
	if n := m.Rotation.Recovered; n > 0 {
		return fmt.Sprintf("Certificate of %s rotated (serial %s) after %d failed %s", m.Asset.SystemName, m.Rotation.NewSerial, n, plural(n, "rotation"))
	}
	return fmt.Sprintf("Certificate of %s rotated (serial %s)", m.Asset.SystemName, m.Rotation.NewSerial)
}

// Fields are the facts Ottr's Slack handler listed, plus the step, the
// error and the link.
func (m Message) Fields() [][2]string {
	exp := "None"
	if m.Asset.CertificateExpiration != nil {
		exp = m.Asset.CertificateExpiration.Format(time.RFC3339)
	}
	f := [][2]string{
		{"Hostname", m.Asset.SystemName},
		{"IPv4 Address", m.Asset.IPAddress},
		{"Certificate Expiration", exp},
		{"Platform", m.Asset.HostPlatform},
		{"OS Version", m.Asset.OSVersion},
		{"Certificate Authority", m.Asset.CertificateAuthority},
		{"Step", string(m.Rotation.Step)},
		{"Attempts", fmt.Sprint(m.Rotation.Attempts)},
	}
	if m.Rotation.Error != "" {
		f = append(f, [2]string{"Error", m.Rotation.Error})
	}
	return append(f, [2]string{"Rotation", m.Link})
}

// Text renders the message as plain text.
func (m Message) Text() string { return plainText(m.Title(), m.Fields()) }

func plainText(title string, fields [][2]string) string {
	var b strings.Builder
	b.WriteString(title + "\n\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
	}
	return b.String()
}

func (m Message) post() post {
	event := "rotation.succeeded"
	if m.Failed() {
		event = "rotation.failed"
	}
	rot := *m.Rotation
	rot.CSR, rot.Chain, rot.PreviousChain = "", "", "" // keep the payload small; the link has them
	return post{title: m.Title(), text: m.Text(), blocks: slackBlocks(m),
		payload: WebhookPayload{Event: event, Title: m.Title(), Link: m.Link, Rotation: &rot, Asset: m.Asset}}
}

// New checks c and returns a Notifier; every problem is reported at once.
func New(c Config) (*Notifier, error) {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: 15 * time.Second}
	}
	n := &Notifier{c: c}
	var probs []ottr.Problem
	if c.Slack != nil {
		s, p := newSlack(*c.Slack, c.HTTPClient)
		probs = append(probs, p...)
		n.sends = append(n.sends, sender{"slack", s})
	}
	if c.Webhook != nil {
		s, p := newWebhook(*c.Webhook, c.HTTPClient)
		probs = append(probs, p...)
		n.sends = append(n.sends, sender{"webhook", s})
	}
	if c.Email != nil {
		s, p := newEmail(*c.Email)
		probs = append(probs, p...)
		n.sends = append(n.sends, sender{"email", s})
	}
	if _, _, err := c.DigestAt(); err != nil {
		probs = append(probs, ottr.Problem{Field: "notify.digest", Message: err.Error()})
	}
	if len(probs) > 0 {
		return nil, ottr.Invalid("notify configuration is invalid", probs...)
	}
	return n, nil
}

// DigestAt returns the time of day (after UTC midnight) from which the
// daily digest goes out, and whether it is sent at all.
func (c Config) DigestAt() (time.Duration, bool, error) {
	switch strings.ToLower(strings.TrimSpace(c.Digest)) {
	case "", "off":
		return 0, false, nil
	}
	t, err := time.Parse("15:04", strings.TrimSpace(c.Digest))
	if err != nil {
		return 0, false, fmt.Errorf("%q is not a time of day as HH:MM in UTC (e.g. 08:00), or off", c.Digest)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, true, nil
}

// Notify sends to every channel; a channel's failure does not stop the
// others, and all failures are returned together.
func (n *Notifier) Notify(ctx context.Context, r *ottr.Rotation, a *ottr.Asset) error {
	// One message when a streak of failures starts and one when it ends:
	// a device that keeps failing is not re-announced on every retry.
	if r.State == ottr.StateSucceeded && !n.c.OnSuccess && r.Recovered == 0 {
		return nil
	}
	if r.State != ottr.StateSucceeded && r.Failures > 1 {
		return nil
	}
	if a == nil {
		a = &ottr.Asset{SystemName: r.SystemName}
	}
	link := "ottr rotations show " + r.ID
	if n.c.LinkBase != "" {
		link = strings.TrimSuffix(n.c.LinkBase, "/") + "/rotations/" + r.ID
	}
	return n.send(ctx, Message{Rotation: r, Asset: a, Link: link}.post())
}

// send posts p on every channel; a channel's failure does not stop the
// others.
func (n *Notifier) send(ctx context.Context, p post) error {
	var errs []error
	for _, s := range n.sends {
		if err := s.send(ctx, p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
		}
	}
	return errors.Join(errs...)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
