package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/auth"
	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/hj212"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
)

// Publisher publishes messages to one topic and returns only once Kafka acknowledged every
// one of them (stream.Writer does, with RequireAll).
type Publisher interface {
	Publish(ctx context.Context, msgs ...kafka.Message) error
}

// Parts are what a Gateway is built from (New builds them from the configuration; tests
// bring fakes).
type Parts struct {
	Network  *network.Network // sites, station MN and PW, the time zone of DataTime
	Tokens   *auth.Tokens     // HTTP bearer tokens
	Readings Publisher        // riverwatch.readings
	Rejected Publisher        // riverwatch.rejected
	// RawFrames is riverwatch.raw-frames: every accepted HJ 212 data frame, PW masked, for
	// evidence bundles; nil keeps none (unit tests that do not look at them).
	RawFrames Publisher
	Log       *slog.Logger
	Registry  prometheus.Registerer // metrics; nil: not registered anywhere
	Clock     func() time.Time      // nil: time.Now
}

// Gateway receives readings over HJ 212 and HTTP and publishes them. Build it with
// NewGateway (or a Service with New).
type Gateway struct {
	cfg        config.Gateway
	net        *network.Network
	tokens     *auth.Tokens
	readings   Publisher
	rejected   Publisher
	rawFrames  Publisher // nil: frames not kept
	log        *slog.Logger
	clock      func() time.Time
	m          *metrics
	seen       *seenCache
	guard      *authGuard   // password guessing: back-off and lock-out per MN and address
	addrs      *connLimiter // connections per address
	unauth     *tokenBucket // rejection records of unauthenticated input
	authRecs   *tokenBucket // rejection records of HJ 212 authentication failures: their own budget, so that a socket flood cannot hide guessing
	split      *hj212.SplitBudget
	uploads    chan struct{} // a slot per HTTP upload being parsed (gateway.max_concurrent_uploads)
	uploadWait time.Duration // how long an upload waits for a slot: 5 s
	rec        recorder

	cmdMu sync.Mutex // guards st
	st    stations   // sessions by MN, commands waiting for a station
	keys  stationKeys

	lnMu  sync.Mutex
	ln    net.Listener
	ready chan struct{}
	conns sync.WaitGroup
	open  atomic.Int64
}

// NewGateway returns a Gateway. cfg is used as it is: a value out of range is refused
// (config.Gateway.Validate), naming its key, not replaced by a default.
func NewGateway(d Parts, cfg config.Gateway) (*Gateway, error) {
	switch {
	case d.Network == nil:
		return nil, errors.New("gateway: Parts.Network is nil")
	case d.Tokens == nil:
		return nil, errors.New("gateway: Parts.Tokens is nil")
	case d.Readings == nil || d.Rejected == nil:
		return nil, errors.New("gateway: Parts.Readings and Parts.Rejected must be set")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Log == nil {
		d.Log = slog.Default()
	}
	if d.Clock == nil {
		d.Clock = time.Now
	}
	split := hj212.NewSplitBudget(cfg.MaxSplitBytesTotal)
	m, err := newMetrics(d.Registry, func() float64 { return float64(split.Used()) })
	if err != nil {
		return nil, err
	}
	return &Gateway{
		cfg: cfg, net: d.Network, tokens: d.Tokens, readings: d.Readings, rejected: d.Rejected, rawFrames: d.RawFrames,
		log: d.Log, clock: d.Clock, m: m, seen: newSeenCache(cfg.DedupEntries, cfg.DedupEntriesPerStation, cfg.DedupWindow),
		guard: newAuthGuard(guardLimits{maxFailures: cfg.AuthMaxFailures, window: cfg.AuthFailureWindow, lockout: cfg.AuthLockout,
			backoff: cfg.AuthBackoff, backoffMax: cfg.AuthBackoffMax}),
		addrs:    newConnLimiter(cfg.MaxConnectionsPerAddress),
		unauth:   newTokenBucket(cfg.UnauthRecordsPerSecond, cfg.UnauthRecordsBurst),
		authRecs: newTokenBucket(cfg.UnauthRecordsPerSecond, cfg.UnauthRecordsBurst),
		split:    split,
		uploads:  make(chan struct{}, cfg.MaxConcurrentUploads), uploadWait: 5 * time.Second,
		ready: make(chan struct{}),
		st:    stations{byMN: map[string]*session{}, queued: map[string][]queuedCommand{}},
	}, nil
}

// recorder publishes the rejection records of unauthenticated input in the background,
// so that a refused socket or request never waits for Kafka (review findings H3, M4).
// Its queue is bounded (gateway.unauth_records_burst); a goroutine runs only while it
// holds records.
type recorder struct {
	mu    sync.Mutex
	queue []*message.Rejection
	done  chan struct{} // non-nil while a goroutine publishes; closed when it stops
}

// profile is what sites.yaml says of the station with an MN that changes how its frames
// are read (hj212.Receiver.Profile, hj212.Decoder.Profile): its edition, accepted
// deviations and SM4 keys (keysOf: with its next key around a rotation). An unknown MN
// reads strictly by the standard, without keys.
func (g *Gateway) profile(mn string) hj212.Profile {
	site, ok := g.net.SiteByMN(mn)
	if !ok || site.Station == nil {
		return hj212.Profile{}
	}
	_, keys := g.keysOf(mn, g.clock())
	return hj212.Profile{Edition: site.Station.Edition(), Allow: site.Station.Deviations(), Keys: keys}
}

// recordUnauth records the refusal of unauthenticated input (a refused connection, an
// HTTP request without a valid token) without waiting: within the rate limit
// (gateway.unauth_records_per_second) it is published in the background; beyond it, or
// when the queue is full, it is only counted (riverwatch_gateway_records_suppressed_total).
// Either way it counts in riverwatch_gateway_frames_refused_total.
func (g *Gateway) recordUnauth(rj *message.Rejection) {
	if !g.unauth.Allow(g.clock()) {
		g.m.suppressed.WithLabelValues(rj.Reason).Inc()
		g.m.framesRefused.WithLabelValues(rj.Reason).Inc()
		return
	}
	r := &g.rec
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.queue) >= g.cfg.UnauthRecordsBurst {
		g.m.suppressed.WithLabelValues(rj.Reason).Inc()
		g.m.framesRefused.WithLabelValues(rj.Reason).Inc()
		return
	}
	r.queue = append(r.queue, rj)
	if r.done == nil {
		r.done = make(chan struct{})
		go g.drainRecords(r.done)
	}
}

// drainRecords publishes queued records until the queue is empty.
func (g *Gateway) drainRecords(done chan struct{}) {
	r := &g.rec
	for {
		r.mu.Lock()
		batch := r.queue
		r.queue = nil
		if len(batch) == 0 {
			r.done = nil
			r.mu.Unlock()
			close(done)
			return
		}
		r.mu.Unlock()
		var o outbox
		for _, rj := range batch {
			o.addRejection(rj, true)
		}
		if err := g.publish(context.Background(), &o); err != nil {
			g.log.Warn("record refused unauthenticated input", "records", len(batch), "err", err)
			continue
		}
		g.commit(&o)
	}
}

// waitRecords waits until the records queued so far are published (or failed).
func (g *Gateway) waitRecords() {
	g.rec.mu.Lock()
	done := g.rec.done
	g.rec.mu.Unlock()
	if done != nil {
		<-done
	}
}

// outbox collects what one batch of input produces: the messages to publish, the answers
// to send once they are published, and the counts and effects that become true only then.
type outbox struct {
	readings   []kafka.Message
	rejections []kafka.Message
	rawFrames  []kafka.Message // accepted HJ 212 data frames (addRawFrame)
	readingIDs []string        // the ids of readings, in order
	replies    [][]byte        // encoded HJ 212 frames, in order
	replyCNs   []string
	marks      []seenMark // marks in the dedup window
	err        error      // a rejection that could not be encoded: publish fails with it
	keys       []string   // dedup keys of this batch, so a frame sent twice in one batch counts once
	frames     int        // frames handled in this batch
	arena      []byte     // message values of this batch (see addReading)

	framesAccepted   int
	backfill         int // readings marked back-fill (HJ 212-2025 RF=1)
	framesRefused    map[string]int
	readingsAccepted map[string]int    // by source
	readingsRefused  map[[2]string]int // by source, reason
}

func (o *outbox) reset() {
	o.readings, o.rejections, o.replies, o.replyCNs = o.readings[:0], o.rejections[:0], o.replies[:0], o.replyCNs[:0]
	o.rawFrames, o.readingIDs = o.rawFrames[:0], o.readingIDs[:0]
	o.marks, o.keys, o.arena, o.err = o.marks[:0], o.keys[:0], nil, nil
	o.framesAccepted, o.frames, o.backfill = 0, 0, 0
	clear(o.framesRefused)
	clear(o.readingsAccepted)
	clear(o.readingsRefused)
}

func (o *outbox) addReading(r *message.Reading) {
	// The values of one batch share an arena that is never reused: kafka-go may still hold
	// a batch whose publish timed out, so its bytes must not be overwritten.
	if cap(o.arena)-len(o.arena) < 512 {
		o.arena = make([]byte, 0, min(max(4<<10, 2*cap(o.arena)), 64<<10))
	}
	// The key (the site) goes to the arena too: no allocation of its own.
	start := len(o.arena)
	o.arena = append(o.arena, r.Site...)
	mid := len(o.arena)
	o.arena = message.AppendReadingJSON(o.arena, r)
	k, v := o.arena[start:mid:mid], o.arena[mid:len(o.arena):len(o.arena)]
	o.readings = append(o.readings, kafka.Message{Key: k, Value: v})
	o.readingIDs = append(o.readingIDs, r.ID)
	if o.readingsAccepted == nil {
		o.readingsAccepted = map[string]int{}
	}
	o.readingsAccepted[r.Source]++
	if r.Backfill {
		o.backfill++
	}
}

// addRawFrame records an accepted frame with the ids of the readings made of it. Its
// station password is masked here, like a rejection's: a PW is never stored.
func (o *outbox) addRawFrame(f *message.RawFrame) {
	f.Raw = message.TruncateRaw(hj212.MaskPassword(f.Raw))
	f.ID = message.RawFrameID(f.MN, f.QN, f.CN, f.DataTime)
	v, err := json.Marshal(f)
	if err != nil {
		o.err = errors.Join(o.err, fmt.Errorf("encode raw frame %s: %w", f.ID, err))
		return
	}
	o.rawFrames = append(o.rawFrames, kafka.Message{Key: []byte(f.Site), Value: v})
}

// addRejection records a refusal. frame says whether it refuses a whole frame (or HTTP
// request) rather than one reading of it, for the metrics. A rejection that cannot be
// encoded fails the outbox's publish, like a Kafka error: its input is not acknowledged.
func (o *outbox) addRejection(rj *message.Rejection, frame bool) {
	if rj.Source == message.SourceHJ212 {
		rj.Raw = hj212.MaskPassword(rj.Raw) // a station's PW is never stored (review finding M6)
	}
	rj.Raw = message.TruncateRaw(rj.Raw)
	rj.ID = message.RejectionID(rj.Source, rj.Reason, rj.ReceivedAt, rj.Raw+"\x00"+rj.Parameter+"\x00"+rj.Detail)
	v, err := json.Marshal(rj)
	if err != nil {
		o.err = errors.Join(o.err, fmt.Errorf("encode rejection %s: %w", rj.ID, err))
		return
	}
	key := rj.Site
	if key == "" {
		key = rj.Station
	}
	if key == "" {
		key = rj.Remote
	}
	o.rejections = append(o.rejections, kafka.Message{Key: []byte(key), Value: v})
	if frame {
		if o.framesRefused == nil {
			o.framesRefused = map[string]int{}
		}
		o.framesRefused[rj.Reason]++
		return
	}
	if o.readingsRefused == nil {
		o.readingsRefused = map[[2]string]int{}
	}
	o.readingsRefused[[2]string{rj.Source, rj.Reason}]++
}

// seenMark is a frame to remember in the dedup window (seenCache.Add) once its batch is
// published.
type seenMark struct {
	mn, key string
	at      time.Time
}

// publish sends the outbox's messages, rejections and readings in parallel, and returns
// once Kafka acknowledged all of them, or the first error. It does not stop when ctx is
// cancelled (a stopping gateway finishes what it started), only after PublishTimeout.
func (g *Gateway) publish(ctx context.Context, o *outbox) error {
	if o.err != nil {
		return o.err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), g.cfg.PublishTimeout)
	defer cancel()
	var rejErr, frameErr error
	var wg sync.WaitGroup
	if len(o.rawFrames) > 0 && g.rawFrames != nil {
		// Beside the readings: a station is acknowledged only once its frame is kept too.
		wg.Go(func() { frameErr = g.publishTo(ctx, g.rawFrames, "raw_frames", o.rawFrames) })
	}
	if len(o.rejections) > 0 {
		if len(o.readings) == 0 {
			rejErr = g.publishTo(ctx, g.rejected, "rejected", o.rejections)
		} else {
			wg.Go(func() { rejErr = g.publishTo(ctx, g.rejected, "rejected", o.rejections) })
		}
	}
	readErr := g.publishTo(ctx, g.readings, "readings", o.readings)
	wg.Wait()
	return errors.Join(readErr, rejErr, frameErr)
}

// publishTo publishes to one topic. The writers time the call and count its failures
// (stream.Metrics: riverwatch_gateway_publish_duration_seconds{topic},
// riverwatch_gateway_publish_failures_total{topic}).
func (g *Gateway) publishTo(ctx context.Context, p Publisher, topic string, msgs []kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := p.Publish(ctx, msgs...); err != nil {
		return fmt.Errorf("publish %d %s: %w", len(msgs), topic, err)
	}
	return nil
}

// commit applies what becomes true once the outbox is published: dedup marks and counts.
func (g *Gateway) commit(o *outbox) {
	for _, m := range o.marks {
		g.seen.Add(m.mn, m.key, m.at)
	}
	g.m.framesAccepted.Add(float64(o.framesAccepted))
	g.m.backfill.Add(float64(o.backfill))
	for reason, n := range o.framesRefused {
		g.m.framesRefused.WithLabelValues(reason).Add(float64(n))
	}
	for source, n := range o.readingsAccepted {
		g.m.readingsAccepted.WithLabelValues(source).Add(float64(n))
	}
	for k, n := range o.readingsRefused {
		g.m.readingsRefused.WithLabelValues(k[0], k[1]).Add(float64(n))
	}
}
