package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"
)

// WriterConfig configures a Writer.
type WriterConfig struct {
	Brokers      []string
	Topic        string
	BatchTimeout time.Duration // default 2 ms
	BatchSize    int           // default 5000
}

// Writer publishes to one topic and returns only once every message is acknowledged by all
// in-sync replicas.
type Writer struct {
	w       *kafka.Writer
	latency prometheus.Observer
}

// NewWriter returns a Writer; latency, when not nil, observes each publish call in seconds.
func NewWriter(cfg WriterConfig, latency prometheus.Observer) *Writer {
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = 2 * time.Millisecond
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 5000
	}
	return &Writer{
		w: &kafka.Writer{
			Addr:         kafka.TCP(cfg.Brokers...),
			Topic:        cfg.Topic,
			Balancer:     &kafka.Hash{},
			RequiredAcks: kafka.RequireAll,
			BatchTimeout: cfg.BatchTimeout,
			BatchSize:    cfg.BatchSize,
			BatchBytes:   16 << 20,
			MaxAttempts:  3,
			WriteTimeout: 10 * time.Second,
			Compression:  kafka.Lz4,
		},
		latency: latency,
	}
}

// Publish writes the messages and returns once Kafka acknowledged all of them.
func (w *Writer) Publish(ctx context.Context, msgs ...kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	start := time.Now()
	err := w.w.WriteMessages(ctx, msgs...)
	if w.latency != nil {
		w.latency.Observe(time.Since(start).Seconds())
	}
	if err != nil {
		return fmt.Errorf("publish %d messages to %s: %w", len(msgs), w.w.Topic, err)
	}
	return nil
}

// Topic returns the topic the Writer publishes to.
func (w *Writer) Topic() string { return w.w.Topic }

// Close flushes and closes the Writer.
func (w *Writer) Close() error { return w.w.Close() }
