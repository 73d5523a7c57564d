package notify

import (
	"context"
	"fmt"
	"time"

	"github.com/ottr-dev/ottr"
)

var _ ottr.ExpiryNotifier = (*Notifier)(nil)

// Webhook events of expiry warnings (ExpiryPayload.Event).
const (
	EventCertificateExpiring = "certificate.expiring"
	EventCertificateExpired  = "certificate.expired"
)

// ExpiryPayload is the JSON body a webhook receives about a certificate
// Ottr does not rotate that nears or has passed its expiry.
type ExpiryPayload struct {
	Event string      `json:"event"` // certificate.expiring or certificate.expired
	Title string      `json:"title"`
	Asset *ottr.Asset `json:"asset"`
	// MissingRoute is the route.json key that is missing; NoRoute says how.
	MissingRoute string `json:"missing_route"`
	NoRoute      string `json:"no_route"`
	// Reason is the renewal policy's verdict on the certificate.
	Reason string `json:"reason"`
}

// NotifyExpiry sends one expiry warning on every channel: Slack and e-mail
// get the asset's facts, a webhook ExpiryPayload. It sends what it is
// given; that each warning goes out once is the caller's business
// (rotate.Watcher).
func (n *Notifier) NotifyExpiry(ctx context.Context, w ottr.ExpiryWarning) error {
	m := ExpiryMessage{Warning: w}
	event := EventCertificateExpiring
	if w.Expired {
		event = EventCertificateExpired
	}
	key, why := m.noRoute()
	return n.send(ctx, post{title: m.Title(), text: plainText(m.Title(), m.Fields()), blocks: sectionBlocks(m.Title(), m.Fields()),
		payload: ExpiryPayload{Event: event, Title: m.Title(), Asset: w.Asset, MissingRoute: key, NoRoute: why, Reason: w.Reason}})
}

// ExpiryMessage is what every channel says in an expiry warning.
type ExpiryMessage struct {
	Warning ottr.ExpiryWarning
}

func (m ExpiryMessage) noRoute() (key, why string) {
	if nr := m.Warning.NoRoute; nr != nil {
		return nr.Key, nr.Reason
	}
	return "", ""
}

// Title is a one-line summary: the asset, when its certificate expires,
// and the route that is missing.
func (m ExpiryMessage) Title() string {
	a := m.Warning.Asset
	when := "None"
	if a.CertificateExpiration != nil {
		when = a.CertificateExpiration.Format(time.DateOnly)
	}
	state := "nears expiry (" + when + ")"
	if m.Warning.Expired {
		state = "expired on " + when
	}
	key, _ := m.noRoute()
	return fmt.Sprintf("Certificate of %s %s, not rotated by Ottr — no route: %s", a.SystemName, state, key)
}

// Fields are the certificate's and the asset's facts, why no route serves
// it, and the command that shows the asset.
func (m ExpiryMessage) Fields() [][2]string {
	a := m.Warning.Asset
	exp, seen := "None", "never (the certificate recorded)"
	if a.CertificateExpiration != nil {
		exp = a.CertificateExpiration.Format(time.RFC3339)
	}
	if a.CertificateObservedAt != nil {
		seen = a.CertificateObservedAt.Format(time.RFC3339)
	}
	_, why := m.noRoute()
	return [][2]string{
		{"Hostname", a.SystemName},
		{"IPv4 Address", a.IPAddress},
		{"Certificate Expiration", exp},
		{"Serial", a.CertificateSerial},
		{"Issuer", a.CertificateIssuer},
		{"Platform", a.HostPlatform},
		{"OS Version", a.OSVersion},
		{"Certificate Authority", a.CertificateAuthority},
		{"Renewal", m.Warning.Reason},
		{"No route", why},
		{"Last read from the device", seen},
		{"Details", "ottr asset get " + a.SystemName},
	}
}
