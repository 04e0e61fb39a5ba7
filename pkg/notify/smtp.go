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

// SMTPTimeout bounds one mail (dial, dialogue and DATA) when the caller's context has
// no earlier deadline: a hung relay must not hold a delivery attempt, or its connection,
// beyond it.
const SMTPTimeout = 30 * time.Second

// Send mails m to t.Address over one connection that lives no longer than the context's
// deadline (or SMTPTimeout): nothing of the attempt outlives Send, so a retry can never
// race an earlier attempt still talking to the relay. A 5xx reply is permanent; a 4xx
// reply and every network error may be retried.
func (s *SMTP) Send(ctx context.Context, t Target, m Message) error {
	deadline := time.Now().Add(SMTPTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	if err := s.send(ctx, deadline, t.Address, s.Compose(t.Address, m)); err != nil {
		err = fmt.Errorf("smtp: %w", err)
		if smtpPermanent(err) {
			return &PermanentError{Err: err}
		}
		return err
	}
	return nil
}

// send runs the SMTP dialogue of net/smtp.SendMail (STARTTLS when offered, PLAIN auth when
// a username is set) on a connection with a deadline, closed at once when ctx ends.
func (s *SMTP) send(ctx context.Context, deadline time.Time, to string, msg []byte) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return err
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
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

// smtpPermanent reports whether the relay refused with a 5xx reply: decided by the reply
// code, never by digits that happen to be in an address or a timestamp of the error text.
func smtpPermanent(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code/100 == 5
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
	enc := base64.StdEncoding.EncodeToString([]byte(m.Body + linkLine(m) + "\r\n"))
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return []byte(b.String())
}
