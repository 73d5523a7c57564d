package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/ottr-dev/ottr"
)

// SlackConfig posts through an incoming webhook, or with a bot token to
// chat.postMessage in Channel (Ottr's way).
type SlackConfig struct {
	WebhookURL ottr.Secret `yaml:"webhook_url"`
	BotToken   ottr.Secret `yaml:"bot_token"`
	Channel    string      `yaml:"channel"`
	// APIBase replaces https://slack.com/api (tests).
	APIBase string `yaml:"api_base"`
}

func newSlack(c SlackConfig, hc *http.Client) (func(context.Context, post) error, []ottr.Problem) {
	var probs []ottr.Problem
	switch {
	case c.WebhookURL.IsZero() == c.BotToken.IsZero():
		probs = append(probs, ottr.Problem{Field: "notify.slack", Message: "set exactly one of webhook_url and bot_token"})
	case !c.BotToken.IsZero() && c.Channel == "":
		probs = append(probs, ottr.Problem{Field: "notify.slack.channel", Message: "is required with bot_token"})
	case !c.WebhookURL.IsZero():
		if u, err := url.Parse(c.WebhookURL.Reveal()); err != nil || (u.Scheme != "https" && u.Scheme != "http") {
			probs = append(probs, ottr.Problem{Field: "notify.slack.webhook_url", Message: "is not an http(s) URL"})
		}
	}
	base := strings.TrimSuffix(c.APIBase, "/")
	if base == "" {
		base = "https://slack.com/api"
	}
	return func(ctx context.Context, p post) error {
		body := map[string]any{"text": p.title, "blocks": p.blocks}
		target := c.WebhookURL.Reveal()
		req := func(r *http.Request) {}
		if !c.BotToken.IsZero() {
			body["channel"] = c.Channel
			target = base + "/chat.postMessage"
			req = func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+c.BotToken.Reveal()) }
		}
		b, _ := json.Marshal(body)
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("slack request: %w", redactURL(err, c.WebhookURL))
		}
		r.Header.Set("Content-Type", "application/json; charset=utf-8")
		req(r)
		resp, err := hc.Do(r)
		if err != nil {
			return fmt.Errorf("post to slack: %w", redactURL(err, c.WebhookURL))
		}
		defer resp.Body.Close()
		rb, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("slack answered %s: %s", resp.Status, strings.TrimSpace(string(rb)))
		}
		if !c.BotToken.IsZero() {
			// chat.postMessage reports errors in the body with HTTP 200.
			var res struct {
				OK    bool   `json:"ok"`
				Error string `json:"error"`
			}
			if err := json.Unmarshal(rb, &res); err != nil || !res.OK {
				return fmt.Errorf("slack chat.postMessage: %s", res.Error)
			}
		}
		return nil
	}, probs
}

// slackBlocks lays the message out as Ottr's handler did: a mrkdwn section
// with the asset's fields, and a button to the rotation.
func slackBlocks(m Message) []any {
	var b strings.Builder
	b.WriteString("_" + m.Title() + "_\n\n")
	for _, f := range m.Fields() {
		if f[0] == "Rotation" {
			continue
		}
		fmt.Fprintf(&b, "*%s:* `%s`\n", f[0], strings.ReplaceAll(f[1], "`", "'"))
	}
	blocks := []any{map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": b.String()}}}
	if strings.HasPrefix(m.Link, "http") {
		blocks = append(blocks, map[string]any{"type": "actions", "elements": []any{map[string]any{
			"type": "button", "style": "primary", "value": "rotation", "url": m.Link,
			"text": map[string]string{"type": "plain_text", "text": "Rotation log"},
		}}})
	} else {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{map[string]string{"type": "mrkdwn", "text": "`" + m.Link + "`"}}})
	}
	return blocks
}

// redactURL removes a secret URL (webhook URLs are credentials) from an
// error's text.
func redactURL(err error, secret ottr.Secret) error {
	if secret.IsZero() {
		return err
	}
	return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), secret.Reveal(), "[REDACTED]"))
}
