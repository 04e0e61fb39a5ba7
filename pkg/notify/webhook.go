package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of the generic webhook.
const (
	HeaderIdempotencyKey = "Idempotency-Key"
	// HeaderSignature is "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, t + "." + body)>":
	// the timestamp inside the signed text lets a receiver refuse replays of old requests.
	HeaderSignature = "X-Riverwatch-Signature"
)

// Webhook posts a message as JSON, signed with HMAC-SHA256 when the target has a secret.
type Webhook struct {
	Client *http.Client
	// Now is the clock of the signature timestamp (time.Now when nil).
	Now func() time.Time
}

// Send posts m to t.Address.
func (w *Webhook) Send(ctx context.Context, t Target, m Message) error {
	body, err := json.Marshal(m)
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("webhook: encode: %w", err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Address, bytes.NewReader(body))
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("webhook: %w", err)}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(HeaderIdempotencyKey, m.Key)
	if t.Secret != "" {
		now := time.Now
		if w.Now != nil {
			now = w.Now
		}
		req.Header.Set(HeaderSignature, Sign(t.Secret, now(), body))
	}
	return do(w.Client, req, ChannelWebhook, nil)
}

// Sign returns the signature header value for body at time ts.
func Sign(secret string, ts time.Time, body []byte) string {
	t := strconv.FormatInt(ts.Unix(), 10)
	return "t=" + t + ",v1=" + mac(secret, t, body)
}

func mac(secret, t string, body []byte) string {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(t))
	h.Write([]byte{'.'})
	h.Write(body)
	return hex.EncodeToString(h.Sum(nil))
}

// ReplayWindow is how far a signature's timestamp may be from the receiver's clock when
// Verify is given no tolerance of its own: wide enough for clock skew and the sender's
// retries, narrow enough that a captured request cannot be replayed for long. Within it a
// receiver deduplicates on the signed Idempotency-Key (docs/security.md, "Webhooks").
const ReplayWindow = 5 * time.Minute

// Verify checks a signature header against body, refusing timestamps further than
// tolerance (ReplayWindow when zero or negative) from now, and an empty secret: a
// receiver that verifies against nothing would accept any request. Receivers use it.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if secret == "" {
		return errors.New("no webhook secret to verify the signature with")
	}
	if tolerance <= 0 {
		tolerance = ReplayWindow
	}
	var t, v1 string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			v1 = v
		}
	}
	if t == "" || v1 == "" {
		return errors.New("signature header lacks t= or v1=")
	}
	sec, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return fmt.Errorf("signature timestamp %q: %w", t, err)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return fmt.Errorf("signature timestamp is %v away from now", d)
	}
	if !hmac.Equal([]byte(mac(secret, t, body)), []byte(v1)) {
		return errors.New("signature does not match")
	}
	return nil
}

// do sends req and classifies the answer; check, when set, inspects a 2xx body.
func do(c *http.Client, req *http.Request, what string, check func([]byte) error) error {
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := classify(what, resp.StatusCode, b); err != nil {
		// 429 and 503 may say when to come back; the caller waits at least that long.
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
				return &RetryAfterError{After: d, Err: fmt.Errorf("%w (Retry-After %s)", err, d)}
			}
		}
		return err
	}
	if check != nil {
		return check(b)
	}
	return nil
}
