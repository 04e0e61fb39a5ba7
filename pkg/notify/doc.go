// Package notify delivers the responder's messages: a generic JSON webhook signed with
// HMAC-SHA256, the group-robot webhooks of WeCom (企业微信) and DingTalk (钉钉, with its 加签
// signature), SMTP mail, and SMS through Aliyun (RPC signature, HMAC-SHA1) or Tencent Cloud
// (TC3-HMAC-SHA256) — docs/channels.md.
//
// Every message carries an idempotency key: the same logical message to the same recipient
// always has the same key, however often it is attempted. It travels as the Idempotency-Key
// header on HTTP channels (and in the generic webhook's JSON body), and as the Message-ID of a
// mail. Exactly-once delivery to an external system is only possible when the receiver
// honours that key: the responder guarantees at-least-once with a stable key (it re-delivers
// a message whose outcome a crash hid), and a receiver that drops keys it has already
// processed turns that into exactly-once. The group robots of WeCom and DingTalk do not look
// at the key, so after a crash in the middle of a delivery a chat group can see one message
// twice; mail clients and servers commonly drop repeated Message-IDs.
//
// Secrets (a webhook's HMAC key, a DingTalk robot's 加签 secret) are looked up when a
// message is sent (WithSecrets: the contact's own, else responder.webhook_secret for a
// generic webhook), never carried with a delivery: what the responder records of a
// delivery goes to Kafka, and secrets must stay out of it.
//
// Senders do not retry: the responder schedules retries with backoff in its durable state.
// A Permanent error (a 4xx answer other than 408/429, a robot's refusal) tells it not to; a
// RetryAfterError (a target over its rate limit, a 429/503 with Retry-After, a robot's or an
// SMS provider's throttling code) tells it the earliest time to try again. Channels keeps a
// token bucket per target, by channel (DefaultRateLimits, the contacts file's rate_limits),
// and does not call a target that is over it or asked to be left alone.
package notify
