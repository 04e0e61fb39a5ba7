package stream

import (
	"context"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// WriterConfig configures a Writer.
type WriterConfig struct {
	Cluster      Cluster
	Topic        string
	BatchTimeout time.Duration // default 2 ms
	BatchSize    int           // messages per partition per produce request: default and at most MaxBatchSize
	// Label names the topic in the publish metrics (events, state, readings, …); default
	// Topic. A short fixed name keeps the metrics' names alike across deployments, whose
	// topic names differ.
	Label string
	// Partition chooses each message's partition (ByRoute, ByHeader); nil: the hash of its
	// key (kafka-go's Hash).
	Partition Partitioner
}

// MaxBatchSize caps WriterConfig.BatchSize. kafka-go allocates a slice of BatchSize
// messages (152 B each, zeroed, scanned by the GC) for every batch it opens, however few
// messages end up in it, and a writer fed by many small concurrent publishes (the gateway:
// one HJ 212 upload per call) opens a batch per partition every BatchTimeout. At 5000 that
// was 6 KB of garbage per message and memclr plus GC took about 40 % of the gateway's CPU
// under load; at 1000 large publishes are as fast as at 5000 and small ones faster
// (BenchmarkPublish in writer_bench_test.go).
const MaxBatchSize = 1000

// Writer publishes to one topic and returns only once every message is acknowledged by all
// in-sync replicas.
type Writer struct {
	w     *kafka.Writer
	t     *kafka.Transport // its own on a secured cluster, closed with it
	label string
	m     *Metrics
}

// NewWriter returns a Writer; m, when not nil, times each publish call and counts the
// failed ones (riverwatch_<svc>_publish_duration_seconds, _publish_failures_total), and
// exports kafka-go's statistics of the writer (riverwatch_<svc>_kafka_writer_*_total).
func NewWriter(cfg WriterConfig, m *Metrics) *Writer {
	if cfg.BatchTimeout <= 0 {
		cfg.BatchTimeout = 2 * time.Millisecond
	}
	if cfg.BatchSize <= 0 || cfg.BatchSize > MaxBatchSize {
		cfg.BatchSize = MaxBatchSize
	}
	if cfg.Label == "" {
		cfg.Label = cfg.Topic
	}
	t := cfg.Cluster.transport()
	var bal kafka.Balancer = &kafka.Hash{}
	if cfg.Partition != nil {
		bal = balancer(cfg.Partition)
	}
	kw := &kafka.Writer{
		Addr:         kafka.TCP(cfg.Cluster.Brokers...),
		Topic:        cfg.Topic,
		Balancer:     bal,
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: cfg.BatchTimeout,
		BatchSize:    cfg.BatchSize,
		BatchBytes:   16 << 20,
		MaxAttempts:  3,
		WriteTimeout: 10 * time.Second,
		Compression:  kafka.Lz4,
	}
	if t != nil {
		kw.Transport = t
	}
	m.addWriter(cfg.Label, kw)
	return &Writer{w: kw, t: t, label: cfg.Label, m: m}
}

// Publish writes the messages and returns once Kafka acknowledged all of them.
func (w *Writer) Publish(ctx context.Context, msgs ...kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	start := time.Now()
	err := w.w.WriteMessages(ctx, msgs...)
	w.m.published(w.label, time.Since(start).Seconds(), err)
	if err != nil {
		return fmt.Errorf("publish %d messages to %s: %w", len(msgs), w.w.Topic, err)
	}
	return nil
}

// Topic returns the topic the Writer publishes to.
func (w *Writer) Topic() string { return w.w.Topic }

// Close flushes and closes the Writer.
func (w *Writer) Close() error {
	err := w.w.Close()
	w.m.removeWriter(w.w)
	if w.t != nil {
		w.t.CloseIdleConnections()
	}
	return err
}
