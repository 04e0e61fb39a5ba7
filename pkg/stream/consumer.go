package stream

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	Cluster Cluster
	Topic   string
	GroupID string
	// MaxRows, MaxBytes and MaxDelay cut a batch: what is queued, plus what arrives within
	// MaxDelay of its first message (0: nothing more), at most MaxRows messages (default
	// 10000) or MaxBytes bytes of values (default 16 MiB).
	MaxRows  int
	MaxBytes int
	MaxDelay time.Duration
	// MaxWait bounds a fetch's wait at the broker (default 100 ms).
	MaxWait time.Duration
	// RetryMax caps the backoff between failed handler calls in Run (default 10 s).
	RetryMax time.Duration
	// StartLast makes a new group start at the end of the topic instead of the beginning.
	StartLast bool
	Logger    *slog.Logger
	// Metrics, when not nil, count records and commits and track lag (see Metrics).
	Metrics *Metrics
}

// Consumer reads a topic in a consumer group, one generation at a time, and commits
// offsets only after the work they cover is durable. See the package documentation.
type Consumer struct {
	cfg ConsumerConfig
	log *slog.Logger
	m   *Metrics
	// newFetcher opens the reader of one assigned partition (a fake in tests).
	newFetcher func(Assignment) (fetcher, error)
}

// fetcher is the part of kafka.Reader a Consumer fetches one partition with.
type fetcher interface {
	FetchMessage(ctx context.Context) (kafka.Message, error)
	Close() error
}

// groupGeneration is the part of kafka.Generation a Consumer uses (a fake in tests).
type groupGeneration interface {
	// Start runs f in the generation; the generation ends when any f returns, and
	// then cancels the ctx of the others.
	Start(f func(ctx context.Context))
	offsetCommitter
}

// NewConsumer returns a Consumer; call Run (a handler per batch) or Consume (a session per
// generation) to start it.
func NewConsumer(cfg ConsumerConfig) *Consumer {
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 10000
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 16 << 20
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = 100 * time.Millisecond
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	c := &Consumer{cfg: cfg, log: cfg.Logger.With("topic", cfg.Topic, "group", cfg.GroupID), m: cfg.Metrics}
	c.newFetcher = func(p Assignment) (fetcher, error) {
		// The batch channel (MaxRows) is the buffer that lets fetching run ahead of the
		// handler; each partition reader's own queue stays at kafka-go's default, so that
		// what a stalled consumer holds is bounded by about one batch plus that channel,
		// whatever the number of partitions (the archiver's outage test measures it).
		return newPartitionReader(cfg.Cluster, cfg.Topic, p.Partition, p.Offset, cfg.MaxWait, 100)
	}
	return c
}

// Session consumes the batches of one generation (from a partition assignment to the next
// rebalance). Handle is called with each batch in order, never concurrently; Close once, after
// the last Handle, while the generation can still commit.
type Session interface {
	// Handle processes a batch. It returns nil once the batch's effects are durable, or
	// queued for a later stage of the session that makes them durable, and then commits
	// its offsets (Generation.Commit) itself, now or from that stage. An error while ctx
	// is done means "stopping": the batch is not committed and is replayed by whoever
	// consumes next. Any other error stops the Consumer: Consume returns it.
	Handle(ctx context.Context, b Batch) error
	// Close ends the session: it waits for what its later stages still hold to be
	// committed (or given up, when stopping).
	Close()
}

// OpenFunc starts the Session of a generation, before any of its batches is fetched (the
// assessor restores its state here). It should retry what can be retried: an error while
// ctx is done ends the generation; any other error stops the Consumer.
type OpenFunc func(ctx context.Context, g *Generation) (Session, error)

// Consume consumes the topic until ctx is done (nil) or a session fails (its error). Each
// generation gets its own Session from open.
func (c *Consumer) Consume(ctx context.Context, open OpenFunc) error {
	start := kafka.FirstOffset
	if c.cfg.StartLast {
		start = kafka.LastOffset
	}
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID:          c.cfg.GroupID,
		Brokers:     c.cfg.Cluster.Brokers,
		Dialer:      c.cfg.Cluster.dialer(),
		Topics:      []string{c.cfg.Topic},
		StartOffset: start,
		// Short heartbeats and session so that a killed consumer's partitions move quickly.
		HeartbeatInterval:      time.Second,
		SessionTimeout:         10 * time.Second,
		RebalanceTimeout:       10 * time.Second,
		JoinGroupBackoff:       time.Second,
		WatchPartitionChanges:  true,
		PartitionWatchInterval: 5 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("consumer group %s: %w", c.cfg.GroupID, err)
	}
	// Close waits for the running generation's functions, so that its last commits go
	// through before the member leaves the group.
	defer cg.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu     sync.Mutex
		failed error
	)
	fail := func(err error) {
		mu.Lock()
		if failed == nil {
			failed = err
		}
		mu.Unlock()
		cancel()
	}
	for {
		gen, err := cg.Next(ctx)
		if ctx.Err() != nil {
			cg.Close() // the generation ends, and with it its sessions
			mu.Lock()
			defer mu.Unlock()
			return failed
		}
		if err != nil {
			c.log.Warn("consumer group: no generation yet, retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		g := newGeneration(c.cfg.Topic, gen.ID, gen.Assignments[c.cfg.Topic], gen, c.m, c.log)
		gen.Start(func(gctx context.Context) { c.generation(ctx, gctx, g, gen, open, fail) })
	}
}

// generation runs one generation: open its session, start one fetcher per assigned
// partition, cut batches and hand them to the session until the generation ends (a
// rebalance, a fetcher that failed) or ctx is done.
func (c *Consumer) generation(ctx, gctx context.Context, g *Generation, kgen groupGeneration, open OpenFunc, fail func(error)) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(gctx, cancel)
	defer stop()

	sess, err := open(ctx, g)
	if err != nil {
		if ctx.Err() == nil {
			fail(fmt.Errorf("open session of %s: %w", c.cfg.Topic, err))
		}
		return
	}
	defer sess.Close()

	// A fetcher that fails ends the generation (kafka-go ends it when any function it
	// started returns): the group rejoins, a clean retry from the committed offsets.
	msgs := make(chan kafka.Message, c.cfg.MaxRows)
	for _, p := range g.Partitions {
		kgen.Start(func(gctx context.Context) { c.fetch(gctx, ctx, p, msgs) })
	}
	cut := cutter{maxRows: c.cfg.MaxRows, maxBytes: c.cfg.MaxBytes, maxDelay: c.cfg.MaxDelay}
	for {
		b, ok := cut.next(ctx, msgs)
		if !ok {
			return
		}
		c.m.fetched(c.cfg.Topic, len(b.Messages))
		if err := sess.Handle(ctx, b); err != nil {
			if ctx.Err() == nil {
				fail(fmt.Errorf("consume %s: %w", c.cfg.Topic, err))
			}
			return
		}
	}
}

// fetch reads one assigned partition from the group's committed offset into msgs.
func (c *Consumer) fetch(gctx, ctx context.Context, p Assignment, msgs chan<- kafka.Message) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(gctx, cancel)
	defer stop()
	r, err := c.newFetcher(p)
	if err != nil {
		c.log.Error("fetch: set offset", "partition", p.Partition, "offset", p.Offset, "err", err)
		return
	}
	defer r.Close()
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() == nil {
				c.log.Warn("fetch", "partition", p.Partition, "err", err)
			}
			return
		}
		select {
		case msgs <- m:
		case <-ctx.Done():
			return
		}
	}
}

// Batch is a run of messages handed to a Session, with when its first one was fetched.
type Batch struct {
	Messages []kafka.Message
	Start    time.Time
}

// Offsets returns what committing the batch commits: per partition, the offset after its
// last message.
func (b Batch) Offsets() Offsets { return OffsetsOf(b.Messages) }

// cutter cuts batches from a channel of messages.
type cutter struct {
	maxRows, maxBytes int
	maxDelay          time.Duration
}

// next blocks for a first message, then adds what is already queued, and then, for
// maxDelay after the first, what arrives, up to maxRows messages or maxBytes of values.
// Under load batches grow by themselves: messages queue while the previous batch is being
// handled. It returns false when ctx is done before a first message.
func (c cutter) next(ctx context.Context, msgs <-chan kafka.Message) (Batch, bool) {
	var first kafka.Message
	select {
	case <-ctx.Done():
		return Batch{}, false
	case first = <-msgs:
	}
	b := Batch{Messages: make([]kafka.Message, 1, min(c.maxRows, 1024)), Start: time.Now()}
	b.Messages[0] = first
	size := len(first.Value)
	full := func() bool { return len(b.Messages) >= c.maxRows || size >= c.maxBytes }
	for !full() {
		select {
		case m := <-msgs:
			b.Messages = append(b.Messages, m)
			size += len(m.Value)
			continue
		default:
		}
		break
	}
	if c.maxDelay <= 0 || full() {
		return b, true
	}
	timer := time.NewTimer(c.maxDelay)
	defer timer.Stop()
	for !full() {
		select {
		case m := <-msgs:
			b.Messages = append(b.Messages, m)
			size += len(m.Value)
		case <-timer.C:
			return b, true
		case <-ctx.Done():
			return b, true
		}
	}
	return b, true
}

// Offset is what a commit records for one partition: the next offset to read, and the
// partition's high watermark as last seen (for the lag).
type Offset struct {
	Next          int64
	HighWaterMark int64
}

// Offsets are the offsets to commit, per partition.
type Offsets map[int]Offset

// OffsetsOf returns the offsets that commit msgs: per partition, the offset after the last
// message (committing it commits everything before it).
func OffsetsOf(msgs []kafka.Message) Offsets {
	o := Offsets{}
	for _, m := range msgs {
		o.Add(m.Partition, Offset{Next: m.Offset + 1, HighWaterMark: m.HighWaterMark})
	}
	return o
}

// Add records off for partition p unless p already has a later one.
func (o Offsets) Add(p int, off Offset) {
	if cur, ok := o[p]; !ok || off.Next > cur.Next {
		o[p] = off
	}
}

// Merge adds every offset of other.
func (o Offsets) Merge(other Offsets) {
	for p, off := range other {
		o.Add(p, off)
	}
}

// Assignment is one partition assigned in a generation, with the offset its reading
// starts from: the group's committed offset, or kafka.FirstOffset / kafka.LastOffset when
// the group has none.
type Assignment struct {
	Partition int
	Offset    int64
}

// offsetCommitter is the part of kafka.Generation a Generation commits through.
type offsetCommitter interface {
	CommitOffsets(map[string]map[int]int64) error
}

// Generation is one assignment of partitions to this member of the group, from a join to
// the next rebalance.
type Generation struct {
	ID         int32
	Topic      string
	Partitions []Assignment

	commits offsetCommitter
	m       *Metrics
	log     *slog.Logger
}

func newGeneration(topic string, id int32, assigned []kafka.PartitionAssignment, c offsetCommitter, m *Metrics, log *slog.Logger) *Generation {
	log = log.With("generation", id)
	g := &Generation{ID: id, Topic: topic, commits: c, m: m, log: log}
	ids := make([]int, 0, len(assigned))
	for _, p := range assigned {
		g.Partitions = append(g.Partitions, Assignment{Partition: p.ID, Offset: p.Offset})
		ids = append(ids, p.ID)
	}
	m.generation(topic, ids)
	return g
}

// Commit commits the offsets (the next offset to read per partition) in this generation,
// synchronously, and records the commit in the metrics. A failure is logged and counted
// and also returned; it is not fatal to the caller: the work was durable, and whoever
// consumes next replays it, which idempotent handlers absorb.
func (g *Generation) Commit(o Offsets) error {
	if len(o) == 0 {
		return nil
	}
	next := make(map[int]int64, len(o))
	for p, off := range o {
		next[p] = off.Next
	}
	err := g.commits.CommitOffsets(map[string]map[int]int64{g.Topic: next})
	g.m.commit(g.Topic, o, err)
	if err != nil {
		err = fmt.Errorf("commit %s: %w", g.Topic, err)
		g.log.Warn("commit failed; the batch will be replayed", "partitions", len(o), "err", err)
	}
	return err
}
