package simulate

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/riverwatch/riverwatch/pkg/notify"
)

// Received is one notification the sink accepted.
type Received struct {
	Key      string    `json:"key"`
	Channel  string    `json:"channel"` // webhook, wecom or dingtalk, told from the body
	Kind     string    `json:"kind,omitempty"`
	Incident string    `json:"incident_id,omitempty"`
	Subject  string    `json:"subject"`
	Text     string    `json:"text"`
	To       string    `json:"recipient,omitempty"`
	Drill    bool      `json:"drill,omitempty"`
	Repeats  int       `json:"repeats"` // deliveries of the same key after the first
	At       time.Time `json:"at"`
}

// Sink plays the people the responder notifies: an HTTP endpoint that accepts the generic
// signed webhook and the WeCom and DingTalk group-robot formats, prints each notification
// once, and honours the Idempotency-Key header — a repeated key is answered as success and
// not counted again, which turns the responder's at-least-once delivery into exactly-once.
type Sink struct {
	// Secret, when set, is the HMAC key of the generic webhook; unsigned or badly signed
	// webhook requests are refused with 401.
	Secret string
	// DingTalkSecret, when set, is the 加签 secret robot requests must be signed with.
	DingTalkSecret string
	// Out receives one line per new notification (nil: silent).
	Out io.Writer
	// Tolerance bounds the age of a signature timestamp (default 5 minutes).
	Tolerance time.Duration

	mu       sync.Mutex
	byKey    map[string]int
	received []Received
	refused  int
}

// ServeHTTP accepts one notification.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/notifications":
		s.list(w)
		return
	case r.Method == http.MethodGet && r.URL.Path == "/healthz":
		w.Write([]byte("ok\n"))
		return
	case r.Method != http.MethodPost:
		http.Error(w, "POST a notification", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	rec, status, err := s.decode(r, body)
	if err != nil {
		s.mu.Lock()
		s.refused++
		s.mu.Unlock()
		if s.Out != nil {
			fmt.Fprintf(s.Out, "sink: refused %s %s: %v\n", r.Method, r.URL.Path, err)
		}
		writeRobot(w, status, 40000+status, err.Error())
		return
	}
	s.mu.Lock()
	if s.byKey == nil {
		s.byKey = map[string]int{}
	}
	i, seen := s.byKey[rec.Key]
	if seen && rec.Key != "" {
		s.received[i].Repeats++
		s.mu.Unlock()
		writeRobot(w, http.StatusOK, 0, "ok (already received)")
		return
	}
	s.byKey[rec.Key] = len(s.received)
	s.received = append(s.received, rec)
	s.mu.Unlock()
	if s.Out != nil {
		to := rec.To
		if to == "" {
			to = rec.Channel + " group"
		}
		drill := ""
		if rec.Drill {
			drill = "[演练 DRILL] "
		}
		fmt.Fprintf(s.Out, "%s sink: %s%-8s → %s: %s\n", rec.At.Format("15:04:05"), drill, rec.Channel, to, shorten(firstNonEmpty(rec.Subject, rec.Text), 80))
	}
	writeRobot(w, http.StatusOK, 0, "ok")
}

// writeRobot answers as the group robots do ({"errcode":0,"errmsg":"ok"}), which the
// generic webhook sender accepts too.
func writeRobot(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"errcode": code, "errmsg": msg})
}

// decode tells the format from the body and checks its signature.
func (s *Sink) decode(r *http.Request, body []byte) (Received, int, error) {
	rec := Received{Key: r.Header.Get(notify.HeaderIdempotencyKey), At: time.Now()}
	var probe struct {
		MsgType string `json:"msgtype"`
	}
	if err := json.Unmarshal(body, &probe); err != nil {
		return rec, http.StatusBadRequest, fmt.Errorf("body is not JSON: %w", err)
	}
	switch probe.MsgType {
	case "":
		if s.Secret != "" {
			tol := s.Tolerance
			if tol <= 0 {
				tol = 5 * time.Minute
			}
			if err := notify.Verify(s.Secret, r.Header.Get(notify.HeaderSignature), body, time.Now(), tol); err != nil {
				return rec, http.StatusUnauthorized, fmt.Errorf("webhook signature: %w", err)
			}
		}
		var m notify.Message
		if err := json.Unmarshal(body, &m); err != nil {
			return rec, http.StatusBadRequest, fmt.Errorf("webhook body: %w", err)
		}
		rec.Channel, rec.Kind, rec.Incident, rec.Subject, rec.Text, rec.To, rec.Drill =
			notify.ChannelWebhook, m.Kind, m.IncidentID, m.Subject, m.Body, m.Recipient, m.Drill
		if rec.Key == "" {
			rec.Key = m.Key
		}
	case "markdown", "text":
		var m struct {
			Markdown struct{ Title, Text, Content string } `json:"markdown"`
			Text     struct{ Content string }              `json:"text"`
		}
		if err := json.Unmarshal(body, &m); err != nil {
			return rec, http.StatusBadRequest, fmt.Errorf("robot body: %w", err)
		}
		q := r.URL.Query()
		if q.Get("sign") != "" || m.Markdown.Title != "" {
			rec.Channel = notify.ChannelDingTalk
			if s.DingTalkSecret != "" {
				if err := s.verifyDingTalk(q.Get("timestamp"), q.Get("sign")); err != nil {
					return rec, http.StatusUnauthorized, err
				}
			}
		} else {
			rec.Channel = notify.ChannelWeCom
		}
		rec.Subject = m.Markdown.Title
		rec.Text = firstNonEmpty(m.Markdown.Text, m.Markdown.Content, m.Text.Content)
		if rec.Subject == "" {
			// WeCom's markdown starts with the bold subject line.
			line, _, _ := strings.Cut(rec.Text, "\n")
			rec.Subject = strings.Trim(line, "*# ")
		}
		rec.Drill = strings.Contains(rec.Text, "演练")
	default:
		return rec, http.StatusBadRequest, fmt.Errorf("unknown msgtype %q", probe.MsgType)
	}
	return rec, http.StatusOK, nil
}

// Received returns what the sink accepted, in order.
func (s *Sink) Received() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.received)
}

// Refused returns how many requests the sink refused.
func (s *Sink) Refused() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused
}

func (s *Sink) list(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s.Received())
}

// verifyDingTalk checks DingTalk's 加签: sign = base64(HMAC-SHA256(secret, timestamp + "\n"
// + secret)), the timestamp in milliseconds and recent.
func (s *Sink) verifyDingTalk(ts, sign string) error {
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("dingtalk timestamp %q: %w", ts, err)
	}
	tol := s.Tolerance
	if tol <= 0 {
		tol = 5 * time.Minute
	}
	if d := time.Since(time.UnixMilli(ms)); d > tol || d < -tol {
		return fmt.Errorf("dingtalk timestamp is %v away from now", d)
	}
	h := hmac.New(sha256.New, []byte(s.DingTalkSecret))
	h.Write([]byte(ts + "\n" + s.DingTalkSecret))
	if !hmac.Equal([]byte(base64.StdEncoding.EncodeToString(h.Sum(nil))), []byte(sign)) {
		return errors.New("dingtalk sign does not match")
	}
	return nil
}
