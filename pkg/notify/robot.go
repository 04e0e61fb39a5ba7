package notify

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// WeCom posts to a WeCom (企业微信) group robot: {"msgtype":"markdown","markdown":{"content":…}}.
// The robot answers {"errcode":0,"errmsg":"ok"}; any other errcode is a failure.
type WeCom struct {
	Client *http.Client
}

// WeComMessage is the robot's request body.
type WeComMessage struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Content string `json:"content"`
	} `json:"markdown"`
}

// Send posts m to the robot at t.Address.
func (w *WeCom) Send(ctx context.Context, t Target, m Message) error {
	var body WeComMessage
	body.MsgType = "markdown"
	body.Markdown.Content = "**" + m.Subject + "**\n" + m.Body + markdownLink(m)
	return postRobot(ctx, w.Client, t.Address, body, m.Key, ChannelWeCom)
}

// DingTalk posts to a DingTalk (钉钉) group robot: {"msgtype":"markdown","markdown":{"title":…,
// "text":…}}. With a secret it signs the URL as DingTalk's 加签 asks: timestamp (ms) and
// sign = base64(HMAC-SHA256(secret, timestamp + "\n" + secret)).
type DingTalk struct {
	Client *http.Client
	Now    func() time.Time
}

// DingTalkMessage is the robot's request body.
type DingTalkMessage struct {
	MsgType  string `json:"msgtype"`
	Markdown struct {
		Title string `json:"title"`
		Text  string `json:"text"`
	} `json:"markdown"`
}

// Send posts m to the robot at t.Address.
func (d *DingTalk) Send(ctx context.Context, t Target, m Message) error {
	var body DingTalkMessage
	body.MsgType = "markdown"
	body.Markdown.Title = m.Subject
	body.Markdown.Text = "#### " + m.Subject + "\n" + m.Body + markdownLink(m)
	addr := t.Address
	if t.Secret != "" {
		now := time.Now
		if d.Now != nil {
			now = d.Now
		}
		var err error
		if addr, err = DingTalkSignURL(addr, t.Secret, now()); err != nil {
			return &PermanentError{Err: fmt.Errorf("dingtalk: %w", err)}
		}
	}
	return postRobot(ctx, d.Client, addr, body, m.Key, ChannelDingTalk)
}

// DingTalkSignURL adds DingTalk's timestamp and sign parameters to a robot URL.
func DingTalkSignURL(addr, secret string, now time.Time) (string, error) {
	u, err := url.Parse(addr)
	if err != nil {
		return "", err
	}
	ts := strconv.FormatInt(now.UnixMilli(), 10)
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts + "\n" + secret))
	q := u.Query()
	q.Set("timestamp", ts)
	q.Set("sign", base64.StdEncoding.EncodeToString(h.Sum(nil)))
	u.RawQuery = q.Encode()
	return u.String(), nil
}

type robotAnswer struct {
	ErrCode int    `json:"errcode"`
	ErrMsg  string `json:"errmsg"`
}

func postRobot(ctx context.Context, c *http.Client, addr string, body any, key, what string) error {
	b, err := json.Marshal(body)
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("%s: encode: %w", what, err)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, addr, bytes.NewReader(b))
	if err != nil {
		return &PermanentError{Err: fmt.Errorf("%s: %w", what, err)}
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set(HeaderIdempotencyKey, key)
	return do(c, req, what, func(resp []byte) error {
		var a robotAnswer
		if len(bytes.TrimSpace(resp)) == 0 {
			return nil // a sink that answers 2xx without a body accepted it
		}
		if err := json.Unmarshal(resp, &a); err != nil {
			// A robot always answers JSON; a 2xx page that is not (a proxy's or a
			// firewall's block page) did not deliver the message. Try again later.
			return fmt.Errorf("%s: a 2xx answer that is not the robot's JSON, not delivered: %s", what, trim(resp))
		}
		switch {
		case a.ErrCode == 0:
			return nil
		case a.ErrCode == 45009: // WeCom: over 20 a minute; the window is a minute
			return &RetryAfterError{After: time.Minute, Err: fmt.Errorf("%s: robot rate limit: %d %s", what, a.ErrCode, a.ErrMsg)}
		case a.ErrCode == 130101: // DingTalk: over 20 a minute, and then throttled for ten
			return &RetryAfterError{After: 10 * time.Minute, Err: fmt.Errorf("%s: robot rate limit: %d %s", what, a.ErrCode, a.ErrMsg)}
		default:
			return &PermanentError{Err: fmt.Errorf("%s: robot refused: %d %s", what, a.ErrCode, a.ErrMsg)}
		}
	})
}

// markdownLink is a message's Link as the robots' markdown shows it: a tap opens the
// incident's page.
func markdownLink(m Message) string {
	if m.Link == "" {
		return ""
	}
	return "\n\n[详情与签收 Details](" + m.Link + ")"
}
