package assessor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/message"
	"github.com/riverwatch/riverwatch/pkg/network"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/services/assessor/internal/engine"
)

// Config configures an Assessor.
type Config struct {
	Kafka         stream.Cluster
	ReadingsTopic string
	EventsTopic   string
	RejectedTopic string
	// StateTopic is the compacted topic of per-series state (created if missing).
	StateTopic string
	GroupID    string
	// Partitions of the topics created when missing.
	Partitions int
	// MaxRows and MaxDelay cut a batch: what is queued, plus what arrives within MaxDelay
	// of its first reading (0: nothing more), at most MaxRows readings.
	MaxRows  int
	MaxDelay time.Duration
	// MaxWait bounds a fetch's wait at the broker.
	MaxWait time.Duration
	// BatchTimeout of the producers (kafka-go waits this long to fill a batch; the
	// assessor writes whole batches synchronously, so short is best).
	BatchTimeout time.Duration
	// TickInterval is how often silent stations and predictions are checked.
	TickInterval time.Duration
	// Options are the detection rules' tunables.
	Options engine.Options
}

// ConfigFrom derives an Assessor's configuration from riverwatch's: the one mapping of the
// configuration onto the assessor (the defaults are pkg/config's). It fails when the kafka
// section's TLS or SASL files cannot be read.
func ConfigFrom(c *config.Config) (Config, error) {
	cl, err := stream.NewCluster(c.Kafka)
	if err != nil {
		return Config{}, err
	}
	return Config{
		Kafka:         cl,
		ReadingsTopic: c.Kafka.Topics.Readings,
		EventsTopic:   c.Kafka.Topics.Events,
		RejectedTopic: c.Kafka.Topics.Rejected,
		StateTopic:    c.Assessor.StateTopic,
		GroupID:       c.Kafka.GroupPrefix + ".assessor",
		Partitions:    c.Kafka.Partitions,
		MaxRows:       c.Assessor.MaxRows,
		MaxDelay:      c.Assessor.MaxDelay,
		MaxWait:       c.Kafka.MaxWait,
		BatchTimeout:  c.Assessor.PublishBatchTimeout,
		TickInterval:  c.Assessor.TickInterval,
		Options:       OptionsFrom(c.Assessor),
	}, nil
}

// OptionsFrom maps the assessor's configuration section onto the rules' Options.
func OptionsFrom(c config.Assessor) engine.Options {
	return engine.Options{
		ConfirmReadings:  c.ConfirmReadings,
		ConfirmDuration:  c.ConfirmDuration,
		SevereMultiple:   c.SevereMultiple,
		ClearReadings:    c.ClearReadings,
		ClearRatio:       c.ClearRatio,
		UpdateRatio:      c.UpdateRatio,
		Grace:            c.Grace,
		OfflineFactor:    c.OfflineFactor,
		FlatLineReadings: c.FlatLineReadings,
		JumpFactor:       c.JumpFactor,
		PredictionWindow: c.PredictionWindow,
		DecayPerHour:     c.DecayPerHour,
	}
}

// Validate refuses what New cannot run with; the configuration's keys are named by
// config.Validate and the rules' Validate, this names the fields of Config.
func (c Config) Validate() error {
	var errs []error
	if len(c.Kafka.Brokers) == 0 {
		errs = append(errs, errors.New("assessor: no kafka brokers"))
	}
	for name, v := range map[string]string{
		"readings topic": c.ReadingsTopic, "events topic": c.EventsTopic,
		"rejected topic": c.RejectedTopic, "state topic": c.StateTopic, "group id": c.GroupID,
	} {
		if v == "" {
			errs = append(errs, fmt.Errorf("assessor: %s is empty", name))
		}
	}
	for name, v := range map[string]int64{
		"partitions": int64(c.Partitions), "max rows": int64(c.MaxRows), "max wait": int64(c.MaxWait),
		"batch timeout": int64(c.BatchTimeout), "tick interval": int64(c.TickInterval),
	} {
		if v <= 0 {
			errs = append(errs, fmt.Errorf("assessor: %s must be > 0", name))
		}
	}
	if c.MaxDelay < 0 {
		errs = append(errs, errors.New("assessor: max delay must be ≥ 0"))
	}
	return errors.Join(errs...)
}

// Check loads the network and validates the rules of cfg, as New would.
func Check(cfg *config.Config) error {
	net, err := network.Load(cfg.SitesFile)
	if err != nil {
		return fmt.Errorf("config key sites_file: %w", err)
	}
	_, err = engine.New(net, OptionsFrom(cfg.Assessor), time.Now, nil)
	return err
}

// Deps are what New takes from the binary besides the configuration.
type Deps struct {
	Log      *slog.Logger
	Registry prometheus.Registerer
}

// New builds the assessor of a riverwatch configuration: the network of sites_file, the
// rules of the assessor section (NewAssessor does the rest).
func New(cfg *config.Config, d Deps) (*Assessor, error) {
	net, err := network.Load(cfg.SitesFile)
	if err != nil {
		return nil, fmt.Errorf("config key sites_file: %w", err)
	}
	ac, err := ConfigFrom(cfg)
	if err != nil {
		return nil, err
	}
	return NewAssessor(ac, net, d.Registry, d.Log)
}

// Assessor consumes readings in a consumer group, judges them with a engine.Engine and
// publishes events. See the package documentation for the delivery protocol.
type Assessor struct {
	cfg   Config
	log   *slog.Logger
	m     *metrics
	clock func() time.Time

	readings                *stream.Consumer
	events, state, rejected *stream.Writer

	// mu serialises the engine and the publishes that follow each change to it: a batch
	// and a tick never interleave, so the state topic receives a series' states in order.
	mu     sync.Mutex
	engine *engine.Engine

	ready    atomic.Bool
	setReady func(bool)
}

// NewAssessor builds an Assessor for a network, registering its metrics (and the engine's
// and its Kafka clients') on reg. Every field of cfg is used as it is (Validate).
func NewAssessor(cfg Config, net *network.Network, reg prometheus.Registerer, log *slog.Logger) (*Assessor, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Assessor{cfg: cfg, log: log, m: newMetrics(reg), clock: time.Now}
	engine, err := engine.New(net, cfg.Options, a.clock, engine.NewMetrics(reg))
	if err != nil {
		return nil, fmt.Errorf("assessor: %w", err)
	}
	a.engine = engine
	km := stream.NewMetrics(reg, "assessor")
	a.readings = stream.NewConsumer(stream.ConsumerConfig{
		Cluster: cfg.Kafka, Topic: cfg.ReadingsTopic, GroupID: cfg.GroupID,
		MaxRows: cfg.MaxRows, MaxDelay: cfg.MaxDelay, MaxWait: cfg.MaxWait,
		Logger: log, Metrics: km,
	})
	writer := func(topic, label string) *stream.Writer {
		return stream.NewWriter(stream.WriterConfig{
			Cluster: cfg.Kafka, Topic: topic, BatchTimeout: cfg.BatchTimeout, Label: label,
		}, km)
	}
	// Events are keyed by site and placed by basin: the responder shards incidents by
	// partition, and every event that can join an incident must reach the same shard.
	a.events = stream.NewWriter(stream.WriterConfig{
		Cluster: cfg.Kafka, Topic: cfg.EventsTopic, BatchTimeout: cfg.BatchTimeout, Label: "events",
		Partition: stream.ByRoute(func(m kafka.Message) string { return net.Basin(string(m.Key)) }),
	}, km)
	a.state = writer(cfg.StateTopic, "state")
	a.rejected = writer(cfg.RejectedTopic, "rejected")
	return a, nil
}

// Ready reports whether the assessor has restored its state and is consuming.
func (a *Assessor) Ready() bool { return a.ready.Load() }

// Run consumes until ctx is done. ready, when not nil, is told when the assessor becomes
// ready (state restored, consuming) and when it stops being (rebalance, shutdown).
func (a *Assessor) Run(ctx context.Context, ready func(bool)) error {
	a.setReady = func(v bool) {
		a.ready.Store(v)
		if ready != nil {
			ready(v)
		}
	}
	defer a.setReady(false)
	defer a.closeWriters()

	if err := a.ensureTopics(ctx); err != nil {
		return err
	}
	if err := a.readings.Consume(ctx, a.open); err != nil {
		return fmt.Errorf("assessor: %w", err)
	}
	return nil
}

// ensureTopics creates the topics the assessor needs when they are missing; the state
// topic is compacted.
func (a *Assessor) ensureTopics(ctx context.Context) error {
	ectx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := stream.EnsureTopics(ectx, a.cfg.Kafka,
		stream.TopicSpec{Name: a.cfg.ReadingsTopic, Partitions: a.cfg.Partitions},
		stream.TopicSpec{Name: a.cfg.EventsTopic, Partitions: a.cfg.Partitions},
		stream.TopicSpec{Name: a.cfg.RejectedTopic, Partitions: a.cfg.Partitions},
		stream.TopicSpec{Name: a.cfg.StateTopic, Partitions: a.cfg.Partitions, Compacted: true},
	)
	if err != nil {
		return fmt.Errorf("assessor: %w", err)
	}
	return nil
}

func (a *Assessor) closeWriters() {
	for _, w := range []*stream.Writer{a.events, a.state, a.rejected} {
		if err := w.Close(); err != nil {
			a.log.Warn("close writer", "topic", w.Topic(), "err", err)
		}
	}
}

// session is the assessor's stream.Session of one consumer-group generation: its Handle
// judges a batch and publishes the batch's events (stage one); its commit loop publishes
// the state the batch changed and then commits the batch's offsets (stage two), while the
// next batch is already being judged. The order that recovery needs holds for every batch:
// events, then state, then commit.
type session struct {
	a        *Assessor
	g        *stream.Generation
	progress *catchUp
	after    chan pending // bounded: backpressure when the state lags

	cancel    context.CancelFunc
	stopTicks func()
	committed sync.WaitGroup // the commit loop
	tailing   sync.WaitGroup
}

// open starts a generation: restore the state of the assigned partitions, then start the
// tailers, the ticker and the commit loop. The stream.Consumer then fetches, and hands the
// batches to Handle, until the generation ends (a rebalance) or ctx is done.
func (a *Assessor) open(ctx context.Context, g *stream.Generation) (stream.Session, error) {
	a.setReady(false)
	ctx, cancel := context.WithCancel(ctx)
	own := map[int32]bool{}
	for _, p := range g.Partitions {
		own[int32(p.Partition)] = true
	}
	log := a.log.With("generation", g.ID, "partitions", len(g.Partitions))

	// Restore before the first reading: without the state, a reading could reopen what
	// is open or miss a transition. Retry until it works or the generation ends.
	type restored struct{ ends, highest map[int]int64 }
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.Multiplier, b.MaxInterval = time.Second, 2, 30*time.Second
	r, err := backoff.Retry(ctx, func() (restored, error) {
		ends, highest, err := a.restore(ctx, own, g.Partitions)
		return restored{ends, highest}, err
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0), backoff.WithNotify(func(err error, next time.Duration) {
		log.Error("restore state failed, retrying", "topic", a.cfg.StateTopic, "backoff", next.Round(time.Millisecond), "err", err)
	}))
	if err != nil {
		cancel()
		return nil, err // only when ctx is done: the generation ended
	}
	st := a.engine.Stats()
	log.Info("state restored", "series", st.Series, "stations", st.Stations, "open", st.Open, "predictions", st.Predictions)

	s := &session{a: a, g: g, progress: newCatchUp(g.Partitions, r.highest), after: make(chan pending, 8), cancel: cancel}
	// The tailers only keep context fresh: one that fails must not end the generation,
	// so they are not started by it, but they are waited for before it ends (Close), as
	// they write to the engine.
	for p, from := range r.ends {
		s.tailing.Go(func() { a.tail(ctx, own, p, from) })
	}
	tctx, tcancel := context.WithCancel(ctx)
	var ticking sync.WaitGroup
	ticking.Go(func() { a.ticks(tctx, s.progress, s.after) })
	s.stopTicks = func() { tcancel(); ticking.Wait() }
	s.committed.Go(func() { s.commitLoop(ctx) })
	a.setReady(true)
	return s, nil
}

// Handle judges a batch and publishes its events; its state and commit follow in the
// commit loop. It fails only when ctx is done: the batch is then not committed and will be
// replayed.
func (s *session) Handle(ctx context.Context, b stream.Batch) error {
	return s.a.process(ctx, b.Messages, b.Start, s.after)
}

// Close ends the generation: stop the ticker (the other sender), close the pipeline, and
// wait for what is queued to be published before the generation ends, so that the next
// generation restores it; then stop the tailers.
func (s *session) Close() {
	s.stopTicks()
	close(s.after)
	s.committed.Wait()
	s.a.setReady(false)
	s.cancel()
	s.tailing.Wait()
}

// pending is what follows a batch's events: its state, then its offsets' commit.
type pending struct {
	state   []kafka.Message
	offsets stream.Offsets // next offset to read per partition; nil for a tick
	start   time.Time
	rows    int
}

// commitLoop publishes the state of the batches (and ticks) queued in after, then commits
// their offsets. Under load one state publish and one commit per batch could not keep up
// (23–45 batches/s at 10,000 readings/s, 12–25 ms per publish): after filled and judging
// blocked. So it takes everything queued at once, publishes the latest state of each
// series in one call (compaction keeps only the latest anyway), and commits the highest
// offset per partition once. Every batch's events were published before it was queued,
// so the order recovery needs still holds: events, then state, then commit.
func (s *session) commitLoop(ctx context.Context) {
	a := s.a
	var queued []pending
	for p := range s.after {
		queued = drainPending(append(queued[:0], p), s.after)
		state, offsets, _ := mergePending(queued)
		if err := a.publish(ctx, a.state, "state", state); err != nil {
			// Stopping. Leave the rest uncommitted: it is replayed from older state,
			// which gives the same event ids.
			for range s.after {
			}
			return
		}
		if len(offsets) == 0 {
			continue
		}
		// A failure is not fatal (Commit logs and counts it): the batches' events and
		// state are durable; whoever consumes next replays them and the engine
		// recognises the offsets.
		_ = s.g.Commit(offsets)
		s.progress.done(offsets)
		for _, q := range queued {
			if q.offsets != nil {
				a.m.batchReadings.Observe(float64(q.rows))
				a.m.batchDuration.Observe(time.Since(q.start).Seconds())
			}
		}
	}
}

// drainPending appends to queued whatever is waiting in after, without blocking.
func drainPending(queued []pending, after <-chan pending) []pending {
	for {
		select {
		case p, ok := <-after:
			if !ok {
				return queued
			}
			queued = append(queued, p)
		default:
			return queued
		}
	}
}

// mergePending combines queued batches, oldest first: the latest state message per key
// (at the position of the key's first message, which is harmless: keys are distinct),
// the highest next offset per partition (nil when only ticks were queued), and the
// number of readings.
func mergePending(queued []pending) (state []kafka.Message, offsets stream.Offsets, rows int) {
	if len(queued) == 1 {
		return queued[0].state, queued[0].offsets, queued[0].rows
	}
	at := map[string]int{}
	for _, q := range queued {
		for _, m := range q.state {
			if i, ok := at[string(m.Key)]; ok {
				state[i] = m
				continue
			}
			at[string(m.Key)] = len(state)
			state = append(state, m)
		}
		if q.offsets != nil {
			if offsets == nil {
				offsets = stream.Offsets{}
			}
			offsets.Merge(q.offsets)
		}
		rows += q.rows
	}
	return state, offsets, rows
}

// process judges a batch and publishes its rejections and its events, then queues the
// state the batch changed, to be published after them, and the offsets to commit after
// that. The state must never run ahead of the events, or a crash in between would lose a
// transition. A failed publish is retried until it works or ctx is done.
//
// It queues under mu, like ticks: the queue's order is then the order in which the
// engine changed, and a series' newer state never lands before an older one (compaction
// keeps the last).
func (a *Assessor) process(ctx context.Context, batch []kafka.Message, start time.Time, after chan<- pending) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	var (
		events     []message.Event
		rejections []kafka.Message
	)
	offsets := stream.Offsets{}
	in := message.Interner{} // a batch's readings share their sites, units, flags …
	for _, m := range batch {
		// The next offset to read, and the high watermark for the lag.
		offsets.Add(m.Partition, stream.Offset{Next: m.Offset + 1, HighWaterMark: m.HighWaterMark})
		var r message.Reading
		err := message.DecodeReadingInterned(m.Value, in, &r)
		if err == nil {
			err = validReading(r)
		}
		if err != nil {
			a.m.decodeErrors.Inc()
			a.log.Warn("undecodable reading", "topic", a.cfg.ReadingsTopic, "partition", m.Partition, "offset", m.Offset, "err", err)
			rej, err := a.rejection(m, err)
			if err != nil {
				return err
			}
			rejections = append(rejections, rej)
			continue
		}
		events = append(events, a.engine.ApplyAt(r, engine.Position{Partition: int32(m.Partition), Offset: m.Offset})...)
	}
	if err := a.publish(ctx, a.rejected, "rejected", rejections); err != nil {
		return err
	}
	state, err := a.publishEvents(ctx, events)
	if err != nil {
		return err
	}
	select {
	case after <- pending{state: state, offsets: offsets, start: start, rows: len(batch)}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// publishEvents publishes events and returns the engine's changed state, encoded, for
// publication after them. Call with mu held.
func (a *Assessor) publishEvents(ctx context.Context, events []message.Event) ([]kafka.Message, error) {
	msgs := make([]kafka.Message, 0, len(events))
	for _, ev := range events {
		v, err := json.Marshal(ev)
		if err != nil {
			return nil, fmt.Errorf("encode event %s: %w", ev.ID, err) // not reachable: events hold finite numbers
		}
		msgs = append(msgs, kafka.Message{Key: []byte(ev.Site), Value: v})
	}
	if err := a.publish(ctx, a.events, "events", msgs); err != nil {
		return nil, err
	}
	now := time.Now()
	for _, ev := range events {
		if !ev.ReadingReceivedAt.IsZero() {
			a.m.eventLatency.Observe(now.Sub(ev.ReadingReceivedAt).Seconds())
		}
	}
	return encodeState(a.engine.DrainState())
}

// encodeState encodes the engine's changed state as state topic messages, each with its
// readings partition's header. The batch's headers share one array, and a partition's
// header value is made once (kafka-go only reads them): a record costs no allocation
// for its header.
func encodeState(recs []engine.Record) ([]kafka.Message, error) {
	state := make([]kafka.Message, 0, len(recs))
	headers := make([]kafka.Header, len(recs))
	type partitionValue struct {
		p int32
		v []byte
	}
	var values []partitionValue // one per partition seen: few
	for i, rec := range recs {
		k, v, err := engine.EncodeRecord(rec)
		if err != nil {
			return nil, err
		}
		p := rec.Partition()
		h := slices.IndexFunc(values, func(pv partitionValue) bool { return pv.p == p })
		if h < 0 {
			values = append(values, partitionValue{p: p, v: readingsPartitionHeader(p).Value})
			h = len(values) - 1
		}
		headers[i] = kafka.Header{Key: headerReadingsPartition, Value: values[h].v}
		state = append(state, kafka.Message{Key: k, Value: v, Headers: headers[i : i+1 : i+1]})
	}
	return state, nil
}

// publish retries a synchronous publish with backoff until it succeeds or ctx is done.
// The publish itself is not cancelled by ctx: a batch half-written when a rebalance ends
// the generation would only be written again. The writer counts the failures
// (riverwatch_assessor_publish_failures_total{topic}).
func (a *Assessor) publish(ctx context.Context, w *stream.Writer, label string, msgs []kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.Multiplier, b.MaxInterval = 100*time.Millisecond, 2, 10*time.Second
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return struct{}{}, w.Publish(pctx, msgs...)
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(0), backoff.WithNotify(func(err error, next time.Duration) {
		a.log.Warn("publish failed, retrying", "topic", w.Topic(), "label", label, "rows", len(msgs), "backoff", next.Round(time.Millisecond), "err", err)
	}))
	return err
}

// ticks runs the time-driven rules (silent stations, prediction clearing) every
// TickInterval, once the assigned partitions have caught up: right after a restart the
// backlog still holds the readings that prove the stations alive. Its state joins the
// batches' in the commit pipeline, so each series' states reach the topic in order.
func (a *Assessor) ticks(ctx context.Context, progress *catchUp, after chan<- pending) {
	t := time.NewTicker(a.cfg.TickInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !progress.caughtUp() {
			continue
		}
		a.mu.Lock()
		state, err := a.publishEvents(ctx, a.engine.Tick(a.clock()))
		if err == nil && len(state) > 0 {
			// Sent under mu: a batch judged after this tick queues its state after it.
			select {
			case after <- pending{state: state}:
			case <-ctx.Done():
				err = ctx.Err()
			}
		}
		a.mu.Unlock()
		if err != nil {
			return
		}
	}
}

// rejection records a reading that could not be decoded, so it is not dropped silently.
func (a *Assessor) rejection(m kafka.Message, cause error) (kafka.Message, error) {
	rej := message.UndecodableRejection("assessor", m.Topic, m.Partition, m.Offset, m.Time, m.Value, cause)
	v, err := json.Marshal(rej)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("encode rejection of %s: %w", rej.Remote, err)
	}
	return kafka.Message{Key: []byte(rej.ID), Value: v}, nil
}

// validReading checks what the engine cannot do without.
func validReading(r message.Reading) error {
	switch {
	case r.Site == "":
		return errors.New("reading without site")
	case r.Parameter == "":
		return errors.New("reading without parameter")
	case r.ObservedAt.IsZero():
		return errors.New("reading without observed_at")
	}
	return nil
}

// catchUp tracks whether every assigned partition has been consumed up to where it ended
// when the generation started.
type catchUp struct {
	mu      sync.Mutex
	pending map[int]int64 // partition → high watermark still to reach
}

func newCatchUp(assigned []stream.Assignment, highest map[int]int64) *catchUp {
	c := &catchUp{pending: map[int]int64{}}
	for _, p := range assigned {
		hw := highest[p.Partition]
		if hw > 0 && (p.Offset < 0 || p.Offset < hw) {
			c.pending[p.Partition] = hw
		}
	}
	return c
}

func (c *catchUp) done(next stream.Offsets) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for p, off := range next {
		if hw, ok := c.pending[p]; ok && off.Next >= hw {
			delete(c.pending, p)
		}
	}
}

func (c *catchUp) caughtUp() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending) == 0
}
