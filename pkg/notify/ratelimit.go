package notify

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// RetryAfterError is a failure that a later attempt may cure, no sooner than After: a
// target's own rate limit reached here (the token bucket of its channel), or an answer that
// said when to come back (429/503 with Retry-After, a robot's or an SMS provider's rate
// limit code). The caller schedules the next attempt no earlier than After from now.
type RetryAfterError struct {
	After time.Duration
	// Held is true when nothing was sent: the target's bucket was empty, or it had asked to
	// be left alone until later. The caller need not count it as an attempt.
	Held bool
	Err  error
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter returns the earliest time from now a failed delivery may be attempted again,
// when err says so (a *RetryAfterError in its chain).
func RetryAfter(err error) (time.Duration, bool) {
	var ra *RetryAfterError
	if errors.As(err, &ra) {
		return ra.After, true
	}
	return 0, false
}

// maxRetryAfter bounds a target's Retry-After: an answer asking for a day would otherwise
// park an alarm for a day. The caller's backoff takes over beyond it.
const maxRetryAfter = time.Hour

// parseRetryAfter reads a Retry-After header (RFC 9110 §10.2.3): delay-seconds or an
// HTTP-date. It reports false for a missing or unreadable value.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if s, err := strconv.ParseInt(v, 10, 64); err == nil {
		if s < 0 {
			return 0, false
		}
		d = time.Duration(min(s, int64(maxRetryAfter/time.Second))) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = max(at.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// RateLimit is the token bucket of every target of one channel: at most PerMinute
// messages a minute on average, and Burst at once. A target is one robot, webhook,
// mailbox or phone number; each has its own bucket.
type RateLimit struct {
	PerMinute float64 `yaml:"per_minute" json:"per_minute"`
	// Burst is how many messages may go at once after a quiet spell (default: PerMinute,
	// at least 1).
	Burst int `yaml:"burst" json:"burst"`
}

// DefaultRateLimits are the limits of channels the contacts file does not set: WeCom
// group robots accept 20 messages a minute (errcode 45009 beyond), DingTalk robots 20 a
// minute (errcode 130101, and a ten-minute block). Webhooks, mail and SMS have none here:
// their limits are the receiver's (SMS providers answer a throttling code, retried).
func DefaultRateLimits() map[string]RateLimit {
	return map[string]RateLimit{
		ChannelWeCom:    {PerMinute: 20, Burst: 20},
		ChannelDingTalk: {PerMinute: 20, Burst: 20},
	}
}

func (r RateLimit) burst() float64 {
	if r.Burst > 0 {
		return float64(r.Burst)
	}
	return max(1, r.PerMinute)
}

func (r RateLimit) validate() error {
	if r.PerMinute <= 0 {
		return fmt.Errorf("per_minute must be positive (got %v); leave the channel out for no limit", r.PerMinute)
	}
	if r.Burst < 0 {
		return fmt.Errorf("burst must not be negative (got %d)", r.Burst)
	}
	return nil
}

// limiter holds one token bucket per target, and the time until which a target that
// answered "come back later" is not asked again. It never waits: a message over the limit
// fails with a RetryAfterError, since the responder schedules retries in its durable state.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket // by channel and address (in memory only: the address is a credential)
}

type bucket struct {
	tokens  float64
	last    time.Time
	blocked time.Time // the target asked not to be called before
}

func targetKey(t Target) string { return t.Channel + "\x00" + t.Address }

// take spends a token of t's bucket at now, or returns how long until one is there (or
// until the target's own block ends). A nil limit means no limit.
func (l *limiter) take(t Target, lim *RateLimit, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.buckets[targetKey(t)]
	if b == nil {
		if lim == nil {
			return 0
		}
		if l.buckets == nil {
			l.buckets = map[string]*bucket{}
		}
		b = &bucket{tokens: lim.burst(), last: now}
		l.buckets[targetKey(t)] = b
	}
	if now.Before(b.blocked) {
		return b.blocked.Sub(now)
	}
	if lim == nil {
		return 0
	}
	// Refill for the time since the last take; a limit made smaller by a reload caps it.
	perSec := lim.PerMinute / 60
	if el := now.Sub(b.last); el > 0 {
		b.tokens += el.Seconds() * perSec
	}
	b.tokens = min(b.tokens, lim.burst())
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return 0
	}
	wait := time.Duration((1 - b.tokens) / perSec * float64(time.Second))
	return max(wait, time.Millisecond)
}

// block keeps t from being asked again before until (it answered Retry-After or a rate
// limit code).
func (l *limiter) block(t Target, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buckets == nil {
		l.buckets = map[string]*bucket{}
	}
	b := l.buckets[targetKey(t)]
	if b == nil {
		// Full until the block ends: take caps the tokens at the channel's burst.
		b = &bucket{tokens: math.Inf(1), last: until}
		l.buckets[targetKey(t)] = b
	}
	if until.After(b.blocked) {
		b.blocked = until
	}
}
