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
	// Execute carries out a host command (1011, 1062, 1064, 3015, …) and returns the CP of
	// the report the command asks for ("" for none). The logger answers the protocol around
	// it: 9011 QnRtn=1, the report under the command's QN, then 9012 ExeRtn=1, or ExeRtn=2
	// when Execute fails. A command Execute does not know (ErrUnsupportedCommand), or any
	// command when Execute is nil, is refused with QnRtn=2.
	Execute func(cmd hj212.Packet) (report string, err error)
	// Keys, when set, gives the station's SM4 keys, the current one first (HJ 212-2025
	// §6.4): what the standard encrypts is sent encrypted with the first, and the host's
	// encrypted commands decrypted with any. It is asked at each connection and after each
	// host command (a 1014 changes them).
	Keys    func() []hj212.SM4Key
	Metrics *Metrics
	Log     *slog.Logger

	mu    sync.Mutex
	queue []*Upload
	wake  chan struct{}

	// answered keeps the answers to the last host commands by QN: a command the host
	// resends (its 9011 was lost, or late) is answered again, not executed twice — a
	// second retained sample would take a second bottle.
	answered      map[string][]hj212.Packet
	answeredOrder []string

	acked, resent, dropped, given, obeyed, refused atomic.Int64
}

// ErrUnsupportedCommand is what Execute returns for a host command the station does not
// carry out; the logger refuses it with QnRtn=2.
var ErrUnsupportedCommand = errors.New("host command not supported by this station")

// answeredKept bounds the answers kept for resent commands.
const answeredKept = 16

// LoggerStats counts what a data logger did.
type LoggerStats struct {
	Acked   int64 // uploads answered with a 9014
	Resent  int64 // sends after the first (no answer in time, or the connection broke)
	GivenUp int64 // uploads abandoned after MaxAttempts sends
	Dropped int64 // uploads dropped because the backlog was full
	Pending int   // uploads waiting now
	Obeyed  int64 // host commands accepted and executed (ExeRtn=1)
	Refused int64 // host commands refused (QnRtn=2) or failed (ExeRtn=2)
}

// Stats returns the logger's counters.
func (d *DataLogger) Stats() LoggerStats {
	d.mu.Lock()
	pending := len(d.queue)
	d.mu.Unlock()
	return LoggerStats{Acked: d.acked.Load(), Resent: d.resent.Load(), GivenUp: d.given.Load(), Dropped: d.dropped.Load(), Pending: pending,
		Obeyed: d.obeyed.Load(), Refused: d.refused.Load()}
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
			if c != nil {
				// Idle on an open link: listen, so that a host command is answered now and
				// not only when the next upload is due.
				if !d.listen(ctx, c, time.Second) {
					closeConn()
				}
				continue
			}
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
			c.OnPacket = func(p hj212.Packet) { d.obey(ctx, c, p, log) }
			if d.Keys != nil {
				c.SetKeys(d.Keys()...)
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

// listen waits up to wait (or until an upload is queued) for a packet from the host and
// obeys it. It reports false when the connection is gone.
func (d *DataLogger) listen(ctx context.Context, c *hj212.Client, wait time.Duration) bool {
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	go func() {
		select {
		case <-d.wake:
			cancel()
		case <-lctx.Done():
		}
	}()
	p, err := c.Receive(lctx)
	if err == nil {
		c.OnPacket(p)
		return true
	}
	if lctx.Err() != nil {
		return true // nothing came: the link is as good as before
	}
	var fe *hj212.FrameError
	var pe *hj212.Error
	return errors.As(err, &fe) || errors.As(err, &pe) // a broken frame leaves the link usable
}

// obey answers a packet from the host that is not the 9014 an upload waits for: a host
// command is answered 9011, carried out through Execute, reported and answered 9012; a
// command resent under a QN already answered gets the same answers again.
func (d *DataLogger) obey(ctx context.Context, c *hj212.Client, p hj212.Packet, log *slog.Logger) {
	if p.CN == hj212.CNDataResponse || !p.WantsAck() {
		return // a late 9014, or a packet that asks for nothing
	}
	d.mu.Lock()
	answers, again := d.answered[p.QN]
	d.mu.Unlock()
	if !again {
		answers = d.answer(p, log)
		d.mu.Lock()
		if d.answered == nil {
			d.answered = map[string][]hj212.Packet{}
		}
		d.answered[p.QN] = answers
		d.answeredOrder = append(d.answeredOrder, p.QN)
		if len(d.answeredOrder) > answeredKept {
			delete(d.answered, d.answeredOrder[0])
			d.answeredOrder = d.answeredOrder[1:]
		}
		d.mu.Unlock()
	}
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.Send(sctx, answers...); err != nil {
		log.Debug("answer to a host command not sent", "cn", p.CN, "qn", p.QN, "err", err)
	}
	if d.Keys != nil {
		c.SetKeys(d.Keys()...) // a 1014 gave a new key: what follows is encrypted with it
	}
}

// answer executes a new host command and returns the packets that answer it.
func (d *DataLogger) answer(cmd hj212.Packet, log *slog.Logger) []hj212.Packet {
	if d.Execute == nil {
		d.refused.Add(1)
		return []hj212.Packet{hj212.Response9011(cmd, hj212.QnRtnRejected)}
	}
	report, err := d.Execute(cmd)
	if errors.Is(err, ErrUnsupportedCommand) {
		d.refused.Add(1)
		log.Info("host command refused", "cn", cmd.CN, "qn", cmd.QN)
		return []hj212.Packet{hj212.Response9011(cmd, hj212.QnRtnRejected)}
	}
	out := []hj212.Packet{hj212.Response9011(cmd, hj212.QnRtnReady)}
	if err != nil {
		d.refused.Add(1)
		log.Warn("host command failed", "cn", cmd.CN, "qn", cmd.QN, "err", err)
		return append(out, hj212.Response9012(cmd, hj212.ExeRtnFailed))
	}
	if report != "" {
		out = append(out, hj212.Packet{QN: cmd.QN, ST: cmd.ST, CN: cmd.CN, PW: cmd.PW, MN: cmd.MN,
			Flag: hj212.NewFlag(cmd.Version(), false, false), CP: report})
	}
	d.obeyed.Add(1)
	log.Info("host command executed", "cn", cmd.CN, "qn", cmd.QN, "cp", hj212.MaskPassword(cmd.CP)) // never a 1014's key
	return append(out, hj212.Response9012(cmd, hj212.ExeRtnDone))
}
