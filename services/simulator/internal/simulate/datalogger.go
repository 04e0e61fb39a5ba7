package simulate

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/riverwatch/riverwatch/pkg/hj212"
)

// Upload is one message a data logger sends: one packet, or the packets of a split message.
type Upload struct {
	Packets  []hj212.Packet
	Readings int // values it carries
	attempts int
}

// QN returns the upload's request code.
func (u *Upload) QN() string { return u.Packets[0].QN }

// DataLogger is the station side of HJ 212: it keeps the uploads a station produces in
// order, sends the oldest, waits for the host's 9014 and only then forgets it. An upload
// not answered within AckTimeout is sent again (same QN, same values: the gateway's
// deterministic reading ids absorb the repeat), up to MaxAttempts; a broken connection is
// redialled with backoff. While the link is down (Offline, or the host unreachable) the
// uploads wait, up to MaxBacklog, and are sent in order when it returns — the resend of
// unacknowledged data that field loggers do (补发).
type DataLogger struct {
	Addr string
	// AckTimeout is how long to wait for a 9014 (default 5 s, wall clock).
	AckTimeout time.Duration
	// MaxAttempts sends of one upload before it is given up as refused (default 5): the
	// gateway does not acknowledge what it rejected, and one bad frame must not block the
	// station for ever.
	MaxAttempts int
	// MaxBacklog bounds the uploads kept; beyond it the oldest is dropped (default 100000).
	MaxBacklog int
	// Offline, when set and true, holds the link down.
	Offline func() bool
	Metrics *Metrics
	Log     *slog.Logger

	mu    sync.Mutex
	queue []*Upload
	wake  chan struct{}

	acked, resent, dropped, given atomic.Int64
}

// LoggerStats counts what a data logger did.
type LoggerStats struct {
	Acked   int64 // uploads answered with a 9014
	Resent  int64 // sends after the first (no answer in time, or the connection broke)
	GivenUp int64 // uploads abandoned after MaxAttempts sends
	Dropped int64 // uploads dropped because the backlog was full
	Pending int   // uploads waiting now
}

// Stats returns the logger's counters.
func (d *DataLogger) Stats() LoggerStats {
	d.mu.Lock()
	pending := len(d.queue)
	d.mu.Unlock()
	return LoggerStats{Acked: d.acked.Load(), Resent: d.resent.Load(), GivenUp: d.given.Load(), Dropped: d.dropped.Load(), Pending: pending}
}

// Pending returns how many uploads wait for an acknowledgement.
func (d *DataLogger) Pending() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.queue)
}

// Enqueue adds an upload behind the others.
func (d *DataLogger) Enqueue(u *Upload) {
	d.mu.Lock()
	d.init()
	max := d.MaxBacklog
	if max <= 0 {
		max = 100000
	}
	if len(d.queue) >= max {
		d.queue = d.queue[1:]
		d.dropped.Add(1)
		d.metric("dropped")
	} else if d.Metrics != nil {
		d.Metrics.Backlog.Inc()
	}
	d.queue = append(d.queue, u)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *DataLogger) init() {
	if d.wake == nil {
		d.wake = make(chan struct{}, 1)
	}
}

func (d *DataLogger) head() *Upload {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	if len(d.queue) == 0 {
		return nil
	}
	return d.queue[0]
}

func (d *DataLogger) pop(u *Upload) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.queue) > 0 && d.queue[0] == u {
		d.queue = d.queue[1:]
		if d.Metrics != nil {
			d.Metrics.Backlog.Dec()
		}
	}
}

func (d *DataLogger) metric(outcome string) {
	if d.Metrics != nil {
		d.Metrics.Frames.WithLabelValues(outcome).Inc()
	}
}

// Run sends uploads until ctx is done.
func (d *DataLogger) Run(ctx context.Context) error {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	timeout := d.AckTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	attempts := d.MaxAttempts
	if attempts <= 0 {
		attempts = 5
	}
	d.mu.Lock()
	d.init()
	d.mu.Unlock()
	var (
		c    *hj212.Client
		down bool // the last dial failed: log the failure once per outage
		// Redials back off with jitter, so that a fleet of loggers does not reconnect in
		// step when the gateway returns.
		redial = &backoff.ExponentialBackOff{
			InitialInterval: 100 * time.Millisecond, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: 5 * time.Second,
		}
	)
	redial.Reset()
	closeConn := func() {
		if c != nil {
			c.Close()
			c = nil
		}
	}
	defer closeConn()
	for ctx.Err() == nil {
		u := d.head()
		if d.Offline != nil && d.Offline() {
			closeConn()
			if !sleepCtx(ctx, 200*time.Millisecond, nil) {
				break
			}
			continue
		}
		if u == nil {
			if !sleepCtx(ctx, time.Second, d.wake) {
				break
			}
			continue
		}
		if c == nil {
			dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			var err error
			c, err = hj212.Dial(dctx, d.Addr)
			cancel()
			if err != nil {
				if !down && ctx.Err() == nil {
					log.Warn("gateway unreachable; keeping data to resend", "addr", d.Addr, "err", err)
				}
				down = true
				if !sleepCtx(ctx, redial.NextBackOff(), nil) {
					break
				}
				continue
			}
			if down {
				log.Info("gateway reachable again", "addr", d.Addr, "pending", d.Pending())
			}
			down = false
			redial.Reset()
		}
		if u.attempts > 0 {
			d.resent.Add(1)
			d.metric("resent")
		}
		u.attempts++
		actx, cancel := context.WithTimeout(ctx, timeout)
		start := time.Now()
		err := c.Upload(actx, u.Packets...)
		timedOut := actx.Err() != nil
		cancel()
		switch {
		case err == nil:
			d.pop(u)
			d.acked.Add(1)
			d.metric("acked")
			if d.Metrics != nil {
				d.Metrics.AckSeconds.Observe(time.Since(start).Seconds())
			}
			continue
		case ctx.Err() != nil:
			return nil
		case timedOut && errors.Is(err, hj212.ErrNoAck):
			// The connection's read deadline has fired; a fresh connection is the clean state
			// to resend on.
			log.Debug("no 9014 in time; resending", "qn", u.QN(), "attempt", u.attempts)
			closeConn()
		default:
			log.Debug("connection lost; redialling", "qn", u.QN(), "err", err)
			closeConn()
		}
		if u.attempts >= attempts {
			log.Warn("upload never acknowledged; giving it up", "qn", u.QN(), "cn", u.Packets[0].CN, "attempts", u.attempts)
			d.pop(u)
			d.given.Add(1)
			d.metric("given_up")
		}
	}
	return nil
}
