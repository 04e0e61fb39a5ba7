package api

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"
)

// limiter holds, per token name, a token bucket (requests per second, with a burst) and a
// count of the requests being answered. Its maps are keyed by the names of authenticated
// tokens only, so they hold at most one entry per line of the tokens file.
type limiter struct {
	rate        float64 // tokens added per second
	burst       float64
	maxInflight int
	wait        time.Duration // how long a request over maxInflight waits for a slot
	now         func() time.Time

	mu       sync.Mutex
	buckets  map[string]*bucket
	inflight map[string]chan struct{}
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst, maxInflight int, wait time.Duration, now func() time.Time) *limiter {
	return &limiter{
		rate: rate, burst: float64(burst), maxInflight: maxInflight, wait: wait, now: now,
		buckets: map[string]*bucket{}, inflight: map[string]chan struct{}{},
	}
}

// allow takes one token from name's bucket; when it is empty, it answers how long until
// the next token.
func (l *limiter) allow(name string) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	b, ok := l.buckets[name]
	if !ok {
		b = &bucket{tokens: l.burst, last: now}
		l.buckets[name] = b
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(l.burst, b.tokens+dt*l.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// acquire takes one of name's request slots, waiting up to l.wait (or until ctx is done);
// false when none came free. The caller releases a slot it got.
func (l *limiter) acquire(ctx context.Context, name string) bool {
	l.mu.Lock()
	sem, ok := l.inflight[name]
	if !ok {
		sem = make(chan struct{}, l.maxInflight)
		l.inflight[name] = sem
	}
	l.mu.Unlock()
	select {
	case sem <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(l.wait)
	defer t.Stop()
	select {
	case sem <- struct{}{}:
		return true
	case <-t.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (l *limiter) release(name string) {
	l.mu.Lock()
	sem := l.inflight[name]
	l.mu.Unlock()
	<-sem
}

// retryAfter is the Retry-After header's value: whole seconds, at least 1.
func retryAfter(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.Itoa(s)
}
