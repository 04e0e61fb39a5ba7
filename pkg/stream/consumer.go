package stream

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
)

// Handler processes a batch of messages. It returns nil only once the batch's effects are
// durable; the batch is then committed. It must tolerate seeing a message again.
type Handler func(ctx context.Context, batch []kafka.Message) error

// ConsumerConfig configures a Consumer.
type ConsumerConfig struct {
	Brokers  []string
	Topic    string
	GroupID  string
	MaxRows  int           // cut a batch at this many messages (default 10000)
	MaxBytes int           // or this many bytes of values (default 16 MiB)
	MaxDelay time.Duration // or when the first message has waited this long (default 200 ms)
	MaxWait  time.Duration // fetch wait at the broker (default 100 ms)
	// RetryMax caps the backoff between failed handler calls (default 10 s).
	RetryMax time.Duration
	// StartLast makes a new group start at the end of the topic instead of the beginning.
	StartLast bool
	Logger    *slog.Logger
}

// Consumer reads a topic in a consumer group and commits after durable work.
type Consumer struct {
	cfg ConsumerConfig
	r   *kafka.Reader
	log *slog.Logger
	// Lag, when set, is called after each commit with the reader's lag.
	Lag func(lag int64)
}

// NewConsumer returns a Consumer; call Run to start it.
func NewConsumer(cfg ConsumerConfig) *Consumer {
	if cfg.MaxRows <= 0 {
		cfg.MaxRows = 10000
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = 16 << 20
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 200 * time.Millisecond
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
	start := kafka.FirstOffset
	if cfg.StartLast {
		start = kafka.LastOffset
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:          cfg.Brokers,
		Topic:            cfg.Topic,
		GroupID:          cfg.GroupID,
		MinBytes:         1,
		MaxBytes:         16 << 20,
		MaxWait:          cfg.MaxWait,
		ReadBatchTimeout: cfg.MaxWait + time.Second,
		QueueCapacity:    cfg.MaxRows,
		StartOffset:      start,
		CommitInterval:   0, // synchronous commits, issued by Run after the handler
		// Short heartbeats and session so that a killed consumer's partitions move quickly.
		HeartbeatInterval:     time.Second,
		SessionTimeout:        10 * time.Second,
		RebalanceTimeout:      10 * time.Second,
		WatchPartitionChanges: true,
	})
	return &Consumer{cfg: cfg, r: r, log: cfg.Logger.With("topic", cfg.Topic, "group", cfg.GroupID)}
}

// Run fetches batches and hands them to h until ctx is done. It returns nil on a clean stop.
func (c *Consumer) Run(ctx context.Context, h Handler) error {
	defer c.r.Close()
	for {
		batch, err := c.fetch(ctx)
		if len(batch) > 0 {
			if herr := c.handle(ctx, h, batch); herr != nil {
				return herr
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch %s: %w", c.cfg.Topic, err)
		}
	}
}

// fetch collects one batch: it blocks for the first message, then adds more until a limit
// or MaxDelay after the first.
func (c *Consumer) fetch(ctx context.Context) ([]kafka.Message, error) {
	first, err := c.r.FetchMessage(ctx)
	if err != nil {
		return nil, err
	}
	batch := []kafka.Message{first}
	size := len(first.Value)
	deadline, cancel := context.WithTimeout(ctx, c.cfg.MaxDelay)
	defer cancel()
	for len(batch) < c.cfg.MaxRows && size < c.cfg.MaxBytes {
		m, err := c.r.FetchMessage(deadline)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return batch, nil
			}
			return batch, err
		}
		batch = append(batch, m)
		size += len(m.Value)
	}
	return batch, nil
}

// handle runs h until it succeeds, then commits. Backoff doubles up to RetryMax.
func (c *Consumer) handle(ctx context.Context, h Handler, batch []kafka.Message) error {
	backoff := 100 * time.Millisecond
	for {
		err := h(ctx, batch)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil // stopping: the batch is re-delivered to whoever consumes next
		}
		c.log.Warn("batch failed, retrying", "rows", len(batch), "backoff", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, c.cfg.RetryMax)
	}
	if err := c.r.CommitMessages(context.WithoutCancel(ctx), lastPerPartition(batch)...); err != nil {
		// Not fatal: the batch was durable; a replay after a crash is absorbed by ids.
		c.log.Warn("commit failed", "err", err)
	}
	if c.Lag != nil {
		c.Lag(c.r.Stats().Lag)
	}
	return nil
}

// lastPerPartition returns the last message of each partition in the batch: committing it
// commits everything before it.
func lastPerPartition(batch []kafka.Message) []kafka.Message {
	last := map[int]kafka.Message{}
	for _, m := range batch {
		if cur, ok := last[m.Partition]; !ok || m.Offset > cur.Offset {
			last[m.Partition] = m
		}
	}
	out := make([]kafka.Message, 0, len(last))
	for _, m := range last {
		out = append(out, m)
	}
	return out
}
