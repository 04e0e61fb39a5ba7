package notify

import (
	"context"
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"strings"
	"time"
)

// SMTP sends plain-text UTF-8 mail through a relay. The idempotency key becomes the
// Message-ID (<key@riverwatch>) and an X-Riverwatch-Key header.
type SMTP struct {
	Addr     string // host:port of the relay
	From     string
	Username string // PLAIN auth when set (the relay must offer TLS or be local)
	Password string
	Now      func() time.Time
}

// Send mails m to t.Address.
func (s *SMTP) Send(ctx context.Context, t Target, m Message) error {
	msg := s.Compose(t.Address, m)
	var auth smtp.Auth
	if s.Username != "" {
		host, _, _ := net.SplitHostPort(s.Addr)
		auth = smtp.PlainAuth("", s.Username, s.Password, host)
	}
	done := make(chan error, 1)
	go func() { done <- smtp.SendMail(s.Addr, auth, s.From, []string{t.Address}, msg) }()
	select {
	case err := <-done:
		if err != nil {
			if strings.Contains(err.Error(), "55") { // 55x: mailbox or policy refusal
				return &PermanentError{Err: fmt.Errorf("smtp: %w", err)}
			}
			return fmt.Errorf("smtp: %w", err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("smtp: %w", ctx.Err())
	}
}

// Compose returns the RFC 5322 message for m.
func (s *SMTP) Compose(to string, m Message) []byte {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	var b strings.Builder
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	h("From", s.From)
	h("To", to)
	h("Subject", mime.BEncoding.Encode("UTF-8", m.Subject))
	h("Date", now().Format(time.RFC1123Z))
	h("Message-ID", "<"+m.Key+"@riverwatch>")
	h("X-Riverwatch-Key", m.Key)
	h("X-Riverwatch-Incident", m.IncidentID)
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=UTF-8")
	h("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString([]byte(m.Body + "\r\n"))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return []byte(b.String())
}
