package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/network"
)

// held reports whether err says nothing was sent.
func held(err error) bool {
	var ra *RetryAfterError
	return errors.As(err, &ra) && ra.Held
}

// fakeClock is a settable clock for the rate limits.
type fakeClock struct{ t atomic.Pointer[time.Time] }

func newClock(t time.Time) *fakeClock    { c := &fakeClock{}; c.set(t); return c }
func (c *fakeClock) now() time.Time      { return *c.t.Load() }
func (c *fakeClock) set(t time.Time)     { c.t.Store(&t) }
func (c *fakeClock) add(d time.Duration) { c.set(c.now().Add(d)) }

// countingServer answers every request with status, header and body, and counts them.
func countingServer(t *testing.T, status int, header http.Header, body string) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		for k, vs := range header {
			w.Header()[k] = vs
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestEachRobotHasItsOwnBucketOfTwentyAMinute(t *testing.T) {
	tests := []struct {
		channel string
	}{{ChannelWeCom}, {ChannelDingTalk}}
	for _, tt := range tests {
		t.Run(tt.channel, func(t *testing.T) {
			srv, hits := countingServer(t, 200, nil, `{"errcode":0,"errmsg":"ok"}`)
			clock := newClock(time.Unix(1_780_000_000, 0))
			ch := NewChannels(time.Second, nil, WithClock(clock.now))
			robotA := Target{Channel: tt.channel, Address: srv.URL + "/send?key=A"}
			robotB := Target{Channel: tt.channel, Address: srv.URL + "/send?key=B"}
			for i := range 20 {
				if err := ch.Send(context.Background(), robotA, msg); err != nil {
					t.Fatalf("message %d of the burst: %v", i+1, err)
				}
			}
			err := ch.Send(context.Background(), robotA, msg)
			d, ok := RetryAfter(err)
			if !ok || IsPermanent(err) || d != 3*time.Second || !held(err) {
				t.Fatalf("the 21st message in a minute: %v (retry after %v, %v, held %v), want it held for 3s (60s / 20)", err, d, ok, held(err))
			}
			if hits.Load() != 20 {
				t.Errorf("the robot was called %d times, want 20: the 21st must not reach it", hits.Load())
			}
			if err := ch.Send(context.Background(), robotB, msg); err != nil {
				t.Errorf("another robot of the same channel is not limited by the first: %v", err)
			}
			clock.add(3 * time.Second)
			if err := ch.Send(context.Background(), robotA, msg); err != nil {
				t.Errorf("after the 3 s refill: %v", err)
			}
			if _, ok := RetryAfter(ch.Send(context.Background(), robotA, msg)); !ok {
				t.Error("a refill of 3 s carries one message, not two")
			}
		})
	}
}

func TestChannelsWithoutALimitAreNotLimited(t *testing.T) {
	srv, hits := countingServer(t, 200, nil, "")
	ch := NewChannels(time.Second, nil, WithClock(newClock(time.Unix(0, 0)).now))
	for i := range 50 {
		if err := ch.Send(context.Background(), Target{Channel: ChannelWebhook, Address: srv.URL}, msg); err != nil {
			t.Fatalf("webhook message %d: %v", i+1, err)
		}
	}
	if hits.Load() != 50 {
		t.Errorf("%d calls, want 50", hits.Load())
	}
}

func TestTheContactsFileSetsTheLimitsPerChannel(t *testing.T) {
	n, err := network.Load("../../configs/sites.yaml")
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := countingServer(t, 200, nil, `{"errcode":0}`)
	tests := []struct {
		name      string
		limits    string
		channel   string
		wantSent  int           // how many go at once
		wantRetry time.Duration // the hint of the first refused one (0: none refused in 30)
		wantErr   string
	}{
		{"a stricter WeCom limit", `rate_limits: {wecom: {per_minute: 2}}`, ChannelWeCom, 2, 30 * time.Second, ""},
		{"a burst smaller than the rate", `rate_limits: {wecom: {per_minute: 6, burst: 1}}`, ChannelWeCom, 1, 10 * time.Second, ""},
		{"a limit for the generic webhook", `rate_limits: {webhook: {per_minute: 60, burst: 3}}`, ChannelWebhook, 3, time.Second, ""},
		{"the defaults stay for channels not named", `rate_limits: {webhook: {per_minute: 60}}`, ChannelDingTalk, 20, 3 * time.Second, ""},
		{"an unknown channel is refused", `rate_limits: {fax: {per_minute: 1}}`, "", 0, 0, `channel "fax"`},
		{"a zero rate is refused", `rate_limits: {wecom: {per_minute: 0}}`, "", 0, 0, "per_minute must be positive"},
		{"a negative burst is refused", `rate_limits: {wecom: {per_minute: 5, burst: -1}}`, "", 0, 0, "burst must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			contacts, err := ParseContacts(fmt.Appendf(nil, "roles: {eeb: 生态环境局}\n%s\ncontacts: [{jurisdiction: urumqi, role: eeb, people: [{name: 群, channel: wecom, target: %q}]}]\n", tt.limits, srv.URL), n, "")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ch := NewChannels(time.Second, nil, WithSecrets(contacts, "k"), WithClock(newClock(time.Unix(0, 0)).now))
			sent := 0
			for range 30 {
				err := ch.Send(context.Background(), Target{Channel: tt.channel, Address: srv.URL}, msg)
				if err != nil {
					if d, _ := RetryAfter(err); d != tt.wantRetry {
						t.Errorf("first refusal says retry after %v, want %v (%v)", d, tt.wantRetry, err)
					}
					break
				}
				sent++
			}
			if sent != tt.wantSent {
				t.Errorf("%d sent at once, want %d", sent, tt.wantSent)
			}
		})
	}
}

func TestRetryAfterIsHonouredAndKeepsTheTargetWaiting(t *testing.T) {
	clock := newClock(time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC))
	tests := []struct {
		name       string
		status     int
		retryAfter string
		channel    string
		body       string
		want       time.Duration // 0: retryable without a hint
		perm       bool
	}{
		{"429 with delay-seconds", 429, "30", ChannelWebhook, "", 30 * time.Second, false},
		{"503 with delay-seconds", 503, "120", ChannelWeCom, "", 2 * time.Minute, false},
		{"429 with an HTTP-date", 429, time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), ChannelWebhook, "", 90 * time.Second, false},
		{"a Retry-After beyond an hour is cut to one", 429, "86400", ChannelDingTalk, "", time.Hour, false},
		{"429 without Retry-After is retried without a hint", 429, "", ChannelWebhook, "", 0, false},
		{"503 with an unreadable Retry-After is retried without a hint", 503, "soon", ChannelWebhook, "", 0, false},
		{"500 ignores Retry-After", 500, "30", ChannelWebhook, "", 0, false},
		{"WeCom's 2xx rate-limit errcode waits a minute", 200, "", ChannelWeCom, `{"errcode":45009,"errmsg":"api freq out of limit"}`, time.Minute, false},
		{"DingTalk's 2xx rate-limit errcode waits ten minutes", 200, "", ChannelDingTalk, `{"errcode":130101,"errmsg":"send too fast"}`, 10 * time.Minute, false},
		{"a robot's 2xx refusal errcode is a permanent failure", 200, "", ChannelWeCom, `{"errcode":93000,"errmsg":"invalid webhook url"}`, 0, true},
		{"a DingTalk 2xx keyword refusal is a permanent failure", 200, "", ChannelDingTalk, `{"errcode":310000,"errmsg":"keywords not in content"}`, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.retryAfter != "" {
				h.Set("Retry-After", tt.retryAfter)
			}
			srv, hits := countingServer(t, tt.status, h, tt.body)
			ch := NewChannels(time.Second, nil, WithClock(clock.now))
			target := Target{Channel: tt.channel, Address: srv.URL + "/send?key=SECRETKEY1"}
			err := ch.Send(context.Background(), target, msg)
			if err == nil || IsPermanent(err) != tt.perm {
				t.Fatalf("err %v, permanent %v, want a failure, permanent %v", err, IsPermanent(err), tt.perm)
			}
			if held(err) {
				t.Errorf("%v: the target was called, yet the failure says it was held", err)
			}
			d, ok := RetryAfter(err)
			// An HTTP-date is read against the real clock: allow the test's own run time.
			if ok != (tt.want > 0) || d > tt.want || d < tt.want-5*time.Second {
				t.Fatalf("retry after %v (%v), want %v", d, ok, tt.want)
			}
			if strings.Contains(err.Error(), "SECRETKEY1") {
				t.Errorf("the robot's key leaked: %v", err)
			}
			if tt.want == 0 {
				return
			}
			// The target asked to be left alone: the next message does not call it.
			err = ch.Send(context.Background(), target, msg)
			if d2, ok := RetryAfter(err); !ok || d2 <= 0 || d2 > d || hits.Load() != 1 || !held(err) {
				t.Errorf("a message during the wait: %v (retry after %v), %d calls, want no call and the rest of the wait", err, d2, hits.Load())
			}
			clock.add(d + time.Second)
			_ = ch.Send(context.Background(), target, msg)
			if hits.Load() != 2 {
				t.Errorf("after the wait: %d calls, want the target asked again", hits.Load())
			}
		})
	}
}

func TestRedactKeepsTheRetryAfterHint(t *testing.T) {
	const key = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=" + robotKey
	orig := &RetryAfterError{After: 42 * time.Second, Held: true, Err: fmt.Errorf("wecom: HTTP 429 at %s", key)}
	tests := []struct {
		name string
		err  error
	}{
		{"once", Redact(orig, key)},
		{"twice, as the responder does", Redact(Redact(orig, key), key)},
		{"wrapped", Redact(fmt.Errorf("deliver: %w", orig), key)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d, ok := RetryAfter(tt.err); !ok || d != 42*time.Second || !held(tt.err) {
				t.Errorf("retry after %v (%v), held %v, want 42s, held", d, ok, held(tt.err))
			}
			if strings.Contains(tt.err.Error(), robotKey) || IsPermanent(tt.err) {
				t.Errorf("%v: key kept or made permanent", tt.err)
			}
		})
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 4, 2, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"17", 17 * time.Second, true},
		{" 5 ", 5 * time.Second, true},
		{now.Add(time.Minute).Format(http.TimeFormat), time.Minute, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true}, // a date past: now
		{"99999999999", time.Hour, true},
		{"-3", 0, false},
		{"", 0, false},
		{"tomorrow", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := parseRetryAfter(tt.in, now)
			if got != tt.want || ok != tt.ok {
				t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// In development every robot whose target is empty posts to one sink (responder.webhook_url):
// it is one receiver standing for many robots, so the robots' limit does not throttle it,
// while a robot with its own URL keeps its bucket.
func TestTheDefaultWebhookIsNotThrottledAsOneRobot(t *testing.T) {
	n, err := network.Load("../../configs/sites.yaml")
	if err != nil {
		t.Fatal(err)
	}
	sink, sinkHits := countingServer(t, 200, nil, `{"errcode":0}`)
	robot, _ := countingServer(t, 200, nil, `{"errcode":0}`)
	contacts, err := ParseContacts(fmt.Appendf(nil, `
roles: {eeb: 生态环境局, emergency: 应急管理局}
contacts:
  - {jurisdiction: urumqi, role: eeb, people: [{name: 群, channel: wecom}]}
  - {jurisdiction: urumqi, role: emergency, people: [{name: 群, channel: wecom, target: %q}]}
`, robot.URL), n, sink.URL)
	if err != nil {
		t.Fatal(err)
	}
	ch := NewChannels(time.Second, nil, WithSecrets(contacts, "k"), WithClock(newClock(time.Unix(0, 0)).now))
	tests := []struct {
		name     string
		address  string
		wantSent int
	}{
		{"the default webhook takes every message", contacts.For("urumqi", "eeb")[0].Target, 40},
		{"a robot of its own keeps its limit", contacts.For("urumqi", "emergency")[0].Target, 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sent := 0
			for range 40 {
				if ch.Send(context.Background(), Target{Channel: ChannelWeCom, Address: tt.address}, msg) == nil {
					sent++
				}
			}
			if sent != tt.wantSent {
				t.Errorf("%d of 40 sent in one instant, want %d", sent, tt.wantSent)
			}
		})
	}
	if sinkHits.Load() != 40 {
		t.Errorf("the sink got %d messages, want 40", sinkHits.Load())
	}
}
