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
	// Link is the incident's page on the dashboard (responder.dashboard_url), where the
	// recipient confirms receipt and acknowledges; empty: none.
	Link string `json:"link,omitempty"`
}

// linkLine is how a message's Link reads under its text in the channels that show text.
func linkLine(m Message) string {
	if m.Link == "" {
		return ""
	}
	return "\n\n详情与签收 Details: " + m.Link
}

// Target is where a message goes.
type Target struct {
	Channel string // ChannelWebhook, ChannelWeCom, ChannelDingTalk, ChannelSMTP or ChannelSMS
	Address string // URL, e-mail address or phone number
	// Secret is the HMAC key (webhook) or 加签 secret (dingtalk). Empty: Channels looks it
	// up at delivery time (WithSecrets).
	Secret string
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
	// SMS and TencentSMS send the sms channel, by the provider of the contacts file's sms
	// section (WithSecrets), which holds the account.
	SMS        *AliyunSMS
	TencentSMS *TencentSMS

	contacts      *Contacts // secrets by jurisdiction, role and recipient (WithSecrets)
	webhookSecret string    // for a generic webhook whose contact has none
	limits        limiter   // per-target token buckets and Retry-After blocks
	now           func() time.Time
}

// Option configures Channels.
type Option func(*Channels)

// WithSecrets makes Channels sign a message whose Target has no Secret with the secret of
// its contact in contacts (found by the message's Jurisdiction, Role and Recipient), and a
// generic webhook whose contact has none with webhookSecret (responder.webhook_secret).
//
// Secrets are looked up here, at delivery time, rather than carried with the delivery:
// what the responder knows of a delivery is written to its state topic and to the
// incidents topic, and a secret must never reach Kafka. Contact.Secret is therefore not
// serialised, and the delivery carries only the channel, the address and the recipient.
func WithSecrets(contacts *Contacts, webhookSecret string) Option {
	return func(c *Channels) { c.contacts, c.webhookSecret = contacts, webhookSecret }
}

// WithClock sets the clock of the rate limits (time.Now by default), for tests.
func WithClock(now func() time.Time) Option {
	return func(c *Channels) { c.now = now }
}

// NewChannels returns senders sharing one HTTP client with the given timeout.
func NewChannels(timeout time.Duration, smtp *SMTP, opts ...Option) *Channels {
	hc := &http.Client{Timeout: timeout}
	c := &Channels{
		Webhook: &Webhook{Client: hc}, WeCom: &WeCom{Client: hc}, DingTalk: &DingTalk{Client: hc}, SMTP: smtp,
		SMS: &AliyunSMS{Client: hc}, TencentSMS: &TencentSMS{Client: hc}, now: time.Now,
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

// secret returns the secret that signs m to t: t's own, else its contact's, else (for a
// generic webhook) the fallback of WithSecrets.
func (c *Channels) secret(t Target, m Message) string {
	if t.Secret != "" {
		return t.Secret
	}
	if c.contacts != nil {
		if ct, ok := c.contacts.Find(m.Jurisdiction, m.Role, m.Recipient); ok && ct.Secret != "" {
			return ct.Secret
		}
	}
	if t.Channel == ChannelWebhook {
		return c.webhookSecret
	}
	return ""
}

// Send delivers m on t's channel. The error it returns has been through Redact: it holds
// neither the address (a robot's key, a phone number) nor a secret nor the SMTP password.
//
// A target over its channel's rate limit (RateLimit), or one that asked to be left alone
// (Retry-After, a rate limit code), is not called: Send fails at once with a
// RetryAfterError saying when the next attempt may go.
func (c *Channels) Send(ctx context.Context, t Target, m Message) error {
	t.Secret = c.secret(t, m)
	secrets := []string{t.Address, t.Secret}
	if c.SMTP != nil {
		secrets = append(secrets, c.SMTP.Password)
	}
	var sms *SMSConfig
	if c.contacts != nil {
		sms = c.contacts.SMS()
	}
	if sms != nil && t.Channel == ChannelSMS {
		secrets = append(secrets, sms.AccessKeySecret)
		if s, err := sms.secret(); err == nil {
			secrets = append(secrets, s)
		}
	}
	if wait := c.limits.take(t, c.rateLimit(t), c.now()); wait > 0 {
		return Redact(&RetryAfterError{After: wait, Held: true, Err: fmt.Errorf("%s: not sent, the target is over its rate limit or asked to wait; next message in %s", t.Channel, wait.Round(time.Millisecond))}, secrets...)
	}
	err := c.send(ctx, t, m, sms)
	if d, ok := RetryAfter(err); ok {
		c.limits.block(t, c.now().Add(d))
	}
	return Redact(err, secrets...)
}

// rateLimit returns the limit of t's channel: the contacts file's, else the default.
func (c *Channels) rateLimit(t Target) *RateLimit {
	if c.contacts != nil {
		if r, ok := c.contacts.RateLimit(t.Channel, t.Address); ok {
			return &r
		}
		return nil
	}
	if r, ok := DefaultRateLimits()[t.Channel]; ok {
		return &r
	}
	return nil
}

func (c *Channels) send(ctx context.Context, t Target, m Message, sms *SMSConfig) error {
	switch t.Channel {
	case ChannelSMS:
		if sms == nil {
			return &PermanentError{Err: errors.New("sms: no provider account (the contacts file's sms section)")}
		}
		if sms.Provider == SMSProviderTencent {
			return c.TencentSMS.Send(ctx, sms, t, m)
		}
		return c.SMS.Send(ctx, sms, t, m)
	case ChannelWebhook:
		return c.Webhook.Send(ctx, t, m)
	case ChannelWeCom:
		return c.WeCom.Send(ctx, t, m)
	case ChannelDingTalk:
		return c.DingTalk.Send(ctx, t, m)
	case ChannelSMTP:
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
