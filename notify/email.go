package notify

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/mail"
	"net/smtp"
	"strings"
	"time"

	"github.com/ottr-dev/ottr"
)

// EmailConfig sends the message by SMTP. Port 465 uses implicit TLS;
// otherwise STARTTLS is required unless Insecure (for a relay on
// localhost).
type EmailConfig struct {
	Server   string      `yaml:"server"` // host:port
	Username string      `yaml:"username"`
	Password ottr.Secret `yaml:"password"`
	From     string      `yaml:"from"`
	To       []string    `yaml:"to"`
	Insecure bool        `yaml:"insecure"` // allow plain SMTP without STARTTLS
	// TLSConfig is used for TLS (tests); default system roots.
	TLSConfig *tls.Config `yaml:"-"`
}

func newEmail(c EmailConfig) (func(context.Context, post) error, []ottr.Problem) {
	var probs []ottr.Problem
	host, port, err := net.SplitHostPort(c.Server)
	if err != nil {
		probs = append(probs, ottr.Problem{Field: "notify.email.server", Message: fmt.Sprintf("%q is not host:port", c.Server)})
	}
	if _, err := mail.ParseAddress(c.From); err != nil {
		probs = append(probs, ottr.Problem{Field: "notify.email.from", Message: fmt.Sprintf("%q is not an e-mail address", c.From)})
	}
	if len(c.To) == 0 {
		probs = append(probs, ottr.Problem{Field: "notify.email.to", Message: "no recipients"})
	}
	for _, t := range c.To {
		if _, err := mail.ParseAddress(t); err != nil {
			probs = append(probs, ottr.Problem{Field: "notify.email.to", Message: fmt.Sprintf("%q is not an e-mail address", t)})
		}
	}
	return func(ctx context.Context, p post) error {
		tc := c.TLSConfig
		if tc == nil {
			tc = &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
		}
		d := net.Dialer{Timeout: 15 * time.Second}
		var conn net.Conn
		var err error
		if port == "465" {
			conn, err = (&tls.Dialer{NetDialer: &d, Config: tc}).DialContext(ctx, "tcp", c.Server)
		} else {
			conn, err = d.DialContext(ctx, "tcp", c.Server)
		}
		if err != nil {
			return fmt.Errorf("connect to %s: %w", c.Server, err)
		}
		if dl, ok := ctx.Deadline(); ok {
			conn.SetDeadline(dl)
		} else {
			conn.SetDeadline(time.Now().Add(time.Minute))
		}
		cl, err := smtp.NewClient(conn, host)
		if err != nil {
			conn.Close()
			return fmt.Errorf("smtp %s: %w", c.Server, err)
		}
		defer cl.Close()
		if port != "465" {
			if ok, _ := cl.Extension("STARTTLS"); ok {
				if err := cl.StartTLS(tc); err != nil {
					return fmt.Errorf("smtp STARTTLS: %w", err)
				}
			} else if !c.Insecure {
				return fmt.Errorf("smtp %s offers no STARTTLS (set insecure for a local relay)", c.Server)
			}
		}
		if c.Username != "" {
			if err := cl.Auth(smtp.PlainAuth("", c.Username, c.Password.Reveal(), host)); err != nil {
				return fmt.Errorf("smtp auth as %s: %w", c.Username, err)
			}
		}
		if err := cl.Mail(c.From); err != nil {
			return fmt.Errorf("smtp MAIL FROM: %w", err)
		}
		for _, t := range c.To {
			if err := cl.Rcpt(t); err != nil {
				return fmt.Errorf("smtp RCPT TO %s: %w", t, err)
			}
		}
		w, err := cl.Data()
		if err != nil {
			return fmt.Errorf("smtp DATA: %w", err)
		}
		subject := strings.ReplaceAll(p.title, "\n", " ")
		msg := fmt.Sprintf("From: %s\r\nTo: %s\r\nSubject: %s\r\nDate: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s",
			c.From, strings.Join(c.To, ", "), subject, time.Now().Format(time.RFC1123Z), strings.ReplaceAll(p.text, "\n", "\r\n"))
		if _, err := w.Write([]byte(msg)); err != nil {
			return fmt.Errorf("smtp DATA: %w", err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("smtp DATA: %w", err)
		}
		return cl.Quit()
	}, probs
}
