package notify

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ottr-dev/ottr"
)

var _ ottr.DigestNotifier = (*Notifier)(nil)

// NotifyDigest sends the daily digest on every channel: Slack and e-mail
// get a summary with counts and example assets, a webhook gets
// DigestPayload. It sends whatever d holds; whether a digest is due (and
// needed) is the caller's decision.
func (n *Notifier) NotifyDigest(ctx context.Context, d ottr.Digest) error {
	m := DigestMessage{Digest: d, Link: strings.TrimSuffix(n.c.LinkBase, "/")}
	return n.send(ctx, post{title: m.Title(), text: m.Text(), blocks: m.slackBlocks(),
		payload: DigestPayload{Event: "digest", Title: m.Title(), Digest: d}})
}

// DigestMessage is what every channel says in a daily digest.
type DigestMessage struct {
	Digest ottr.Digest
	// Link is the API's or dashboard's URL (Config.LinkBase), or "".
	Link string
}

// Title is a one-line summary with every count.
func (m DigestMessage) Title() string {
	d := m.Digest
	var parts []string
	if d.Failing > 0 {
		parts = append(parts, fmt.Sprintf("%d failing", d.Failing))
	}
	if d.Expiring > 0 {
		parts = append(parts, fmt.Sprintf("%d expiring within %s without a successful rotation", d.Expiring, inDays(d)))
	}
	if n := d.UnroutedTotal(); n > 0 {
		parts = append(parts, fmt.Sprintf("%d due without a route", n))
	}
	if len(parts) == 0 {
		parts = append(parts, "nothing needs attention")
	}
	return fmt.Sprintf("Ottr daily digest %s: %s", d.Day, strings.Join(parts, ", "))
}

// Fields are the counts with example assets, one per kind that has any,
// and the commands (or link) that show the rest.
func (m DigestMessage) Fields() [][2]string {
	d := m.Digest
	var f [][2]string
	if d.Failing > 0 {
		f = append(f, [2]string{"Failing rotations", countNames(d.Failing, d.FailingAssets)})
	}
	if d.Expiring > 0 {
		f = append(f, [2]string{"Expiring within " + inDays(d) + ", not renewed", countNames(d.Expiring, d.ExpiringAssets)})
	}
	if len(d.Unrouted) > 0 {
		var keys []string
		for _, k := range slices.Sorted(maps.Keys(d.Unrouted)) {
			keys = append(keys, fmt.Sprintf("%s (%d)", k, d.Unrouted[k]))
		}
		f = append(f, [2]string{"Due without a route, by missing route key", strings.Join(keys, "; ")})
	}
	more := fmt.Sprintf("ottr asset list --days-until-expiration %d; ottr router run --dry-run", d.ExpiringDays)
	if m.Link != "" {
		more = m.Link
	}
	return append(f, [2]string{"Details", more})
}

// Text renders the digest as plain text.
func (m DigestMessage) Text() string { return plainText(m.Title(), m.Fields()) }

func (m DigestMessage) slackBlocks() []any { return sectionBlocks(m.Title(), m.Fields()) }

// sectionBlocks lays a title and its fields out as one Slack mrkdwn
// section.
func sectionBlocks(title string, fields [][2]string) []any {
	var b strings.Builder
	b.WriteString("_" + title + "_\n\n")
	for _, f := range fields {
		fmt.Fprintf(&b, "*%s:* `%s`\n", f[0], strings.ReplaceAll(f[1], "`", "'"))
	}
	return []any{map[string]any{"type": "section", "text": map[string]string{"type": "mrkdwn", "text": b.String()}}}
}

// countNames writes "12: a, b, c and 9 more".
func countNames(n int, names []string) string {
	if len(names) == 0 {
		return fmt.Sprint(n)
	}
	s := fmt.Sprintf("%d: %s", n, strings.Join(names, ", "))
	if rest := n - len(names); rest > 0 {
		s += fmt.Sprintf(" and %d more", rest)
	}
	return s
}

func inDays(d ottr.Digest) string {
	return fmt.Sprintf("%d %s", d.ExpiringDays, plural(d.ExpiringDays, "day"))
}
