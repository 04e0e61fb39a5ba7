package notify

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Message is one notification to one recipient.
type Message struct {
	Key          string `json:"key"` // idempotency key
	IncidentID   string `json:"incident_id"`
	StepID       string `json:"step_id,omitempty"`
	Kind         string `json:"kind"` // assign, warning, search, escalation, update, end_of_alert
	Jurisdiction string `json:"jurisdiction,omitempty"`
	Role         string `json:"role,omitempty"`
	Recipient    string `json:"recipient"`
	Subject      string `json:"subject"`
	Body         string `json:"text"`
	Level        string `json:"level,omitempty"`
	Colour       string `json:"colour,omitempty"`
	Drill        bool   `json:"drill"`
	Attempt      int    `json:"attempt"`
}

// Target is where a message goes.
type Target struct {
	Channel string // webhook, wecom, dingtalk, smtp
	Address string // URL or e-mail address
	Secret  string // HMAC key (webhook) or 加签 secret (dingtalk)
}

// Sender delivers one message to one target.
type Sender interface {
	Send(ctx context.Context, t Target, m Message) error
}

// PermanentError marks a failure that retrying will not cure.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// IsPermanent reports whether err says not to retry.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// Channels routes a message to the sender of its channel.
type Channels struct {
	Webhook  *Webhook
	WeCom    *WeCom
	DingTalk *DingTalk
	SMTP     *SMTP
}

// NewChannels returns senders sharing one HTTP client with the given timeout.
func NewChannels(timeout time.Duration, smtp *SMTP) *Channels {
	c := &http.Client{Timeout: timeout}
	return &Channels{Webhook: &Webhook{Client: c}, WeCom: &WeCom{Client: c}, DingTalk: &DingTalk{Client: c}, SMTP: smtp}
}

// Send delivers m on t's channel.
func (c *Channels) Send(ctx context.Context, t Target, m Message) error {
	switch t.Channel {
	case "webhook":
		return c.Webhook.Send(ctx, t, m)
	case "wecom":
		return c.WeCom.Send(ctx, t, m)
	case "dingtalk":
		return c.DingTalk.Send(ctx, t, m)
	case "smtp":
		if c.SMTP == nil || c.SMTP.Addr == "" {
			return &PermanentError{Err: errors.New("smtp: no server configured (responder.smtp_addr)")}
		}
		return c.SMTP.Send(ctx, t, m)
	}
	return &PermanentError{Err: fmt.Errorf("unknown channel %q", t.Channel)}
}

// classify turns an HTTP status into an error: 2xx is success, 408/429/5xx may be retried,
// every other status is permanent.
func classify(what string, status int, body []byte) error {
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		return fmt.Errorf("%s: HTTP %d: %s", what, status, trim(body))
	default:
		return &PermanentError{Err: fmt.Errorf("%s: HTTP %d: %s", what, status, trim(body))}
	}
}

func trim(b []byte) string {
	if len(b) > 200 {
		b = b[:200]
	}
	return string(b)
}
