package notify

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"mime"
	"net"
	"net/smtp"
	"net/textproto"
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

// DefaultSMTPTimeout bounds a mail delivery whose context has no deadline.
const DefaultSMTPTimeout = 30 * time.Second

// Send mails m to t.Address. The dial and every read and write end at ctx's deadline
// (DefaultSMTPTimeout when it has none), so no goroutine or connection outlives Send. A
// 5xx reply is permanent; 4xx replies and network errors may be retried.
func (s *SMTP) Send(ctx context.Context, t Target, m Message) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(DefaultSMTPTimeout)
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(dctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp: dial: %w", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return fmt.Errorf("smtp: %w", err)
	}
	stop := context.AfterFunc(dctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if err := s.exchange(conn, t.Address, s.Compose(t.Address, m)); err != nil {
		return smtpError(err)
	}
	return nil
}

func (s *SMTP) exchange(conn net.Conn, to string, msg []byte) error {
	host, _, _ := net.SplitHostPort(s.Addr)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
			return err
		}
	}
	if s.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", s.Username, s.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(s.From); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// smtpError classifies by the reply code of a *textproto.Error (5xx permanent), never by
// the error's text; everything else (4xx, network) is transient.
func smtpError(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code/100 == 5 {
		return &PermanentError{Err: fmt.Errorf("smtp: %w", err)}
	}
	return fmt.Errorf("smtp: %w", err)
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
