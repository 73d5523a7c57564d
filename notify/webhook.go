package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// WebhookConfig posts the message as JSON to URL. With Secret set, each
// request carries X-Ottr-Timestamp and X-Ottr-Signature: "sha256=" + hex
// HMAC-SHA256 over "<timestamp>.<body>", so receivers can check origin and
// reject replays.
type WebhookConfig struct {
	URL     string            `yaml:"url"`
	Secret  ottr.Secret       `yaml:"secret"`
	Headers map[string]string `yaml:"headers"`
}

// WebhookPayload is the JSON body a webhook receives about a rotation.
type WebhookPayload struct {
	Event    string         `json:"event"` // rotation.failed or rotation.succeeded
	Title    string         `json:"title"`
	Link     string         `json:"link"`
	Rotation *ottr.Rotation `json:"rotation"`
	Asset    *ottr.Asset    `json:"asset"`
}

// DigestPayload is the JSON body a webhook receives for the daily digest.
type DigestPayload struct {
	Event  string      `json:"event"` // digest
	Title  string      `json:"title"`
	Digest ottr.Digest `json:"digest"`
}

// Sign returns the X-Ottr-Signature value for a body sent at ts.
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func newWebhook(c WebhookConfig, hc *http.Client) (func(context.Context, post) error, []ottr.Problem) {
	var probs []ottr.Problem
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		probs = append(probs, ottr.Problem{Field: "notify.webhook.url", Message: fmt.Sprintf("%q is not an http(s) URL", c.URL)})
	}
	return func(ctx context.Context, p post) error {
		body, err := json.Marshal(p.payload)
		if err != nil {
			return err
		}
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("User-Agent", "ottr")
		for k, v := range c.Headers {
			r.Header.Set(k, v)
		}
		if !c.Secret.IsZero() {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			r.Header.Set("X-Ottr-Timestamp", ts)
			r.Header.Set("X-Ottr-Signature", Sign([]byte(c.Secret.Reveal()), ts, body))
		}
		resp, err := hc.Do(r)
		if err != nil {
			return fmt.Errorf("post to webhook: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
			return fmt.Errorf("webhook answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
		}
		return nil
	}, probs
}
