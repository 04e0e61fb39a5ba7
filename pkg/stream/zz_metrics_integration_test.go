package stream_test

// This file sorts last on purpose: its writers warm kafka-go's shared default transport,
// whose metadata cache would hide the topics that the other integration tests create right
// before their first publish (Unknown Topic Or Partition for a few seconds).

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
)

// publishToNewTopic publishes, retrying while the new topic's metadata has not reached
// the broker yet (Unknown Topic Or Partition for a moment after its creation).
func publishToNewTopic(ctx context.Context, t *testing.T, w *stream.Writer, msgs []kafka.Message) {
	t.Helper()
	var err error
	for range 50 {
		if err = w.Publish(ctx, msgs...); err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal(err)
}

// On the real broker: a consumer whose handler never returns shows the whole topic as lag
// (riverwatch_<svc>_kafka_lag_records, measured against the brokers' last offsets), although
// it never commits.
func TestAStuckConsumersLagIsMeasuredOnTheBroker(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	topic := testinfra.Name(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	spec := stream.TopicSpec{Name: topic, Partitions: 3}
	if err := stream.EnsureTopics(ctx, stream.Plain(brokers...), spec); err != nil {
		t.Fatal(err)
	}
	testinfra.DeleteTopicsAtEnd(t, brokers, spec)
	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(brokers...), Topic: topic}, nil)
	defer w.Close()
	const n = 30
	var msgs []kafka.Message
	for i := range n {
		msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "site-%d", i%5), Value: []byte("x")})
	}
	publishToNewTopic(ctx, t, w, msgs)

	reg := prometheus.NewRegistry()
	c := stream.NewConsumer(stream.ConsumerConfig{
		Cluster: stream.Plain(brokers...), Topic: topic, GroupID: topic + "-g", MaxDelay: 20 * time.Millisecond,
		Metrics: stream.NewMetrics(reg, "test"), LagInterval: 100 * time.Millisecond,
	})
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- c.Run(runCtx, func(ctx context.Context, _ []kafka.Message) error {
			<-ctx.Done() // stuck until the consumer stops
			return ctx.Err()
		})
	}()
	lag := func() float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var sum float64
		for _, mf := range mfs {
			if mf.GetName() == "riverwatch_test_kafka_lag_records" {
				for _, m := range mf.GetMetric() {
					sum += m.GetGauge().GetValue()
				}
			}
		}
		return sum
	}
	testinfra.Eventually(t, 30*time.Second, fmt.Sprintf("lag of the stuck consumer = %d", n), func() bool { return lag() == n })
	stop()
	if err := <-done; err != nil {
		t.Fatalf("consumer: %v", err)
	}
}

// On the real broker: kafka-go's statistics of the writer and of the consumer's partition
// readers reach the service's registry as counters.
func TestKafkaClientStatisticsAreExported(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	topic := testinfra.Name(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	spec := stream.TopicSpec{Name: topic, Partitions: 2}
	if err := stream.EnsureTopics(ctx, stream.Plain(brokers...), spec); err != nil {
		t.Fatal(err)
	}
	testinfra.DeleteTopicsAtEnd(t, brokers, spec)
	reg := prometheus.NewRegistry()
	m := stream.NewMetrics(reg, "test")
	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(brokers...), Topic: topic, Label: "events"}, m)
	const n = 25
	var msgs []kafka.Message
	for i := range n {
		msgs = append(msgs, kafka.Message{Key: fmt.Appendf(nil, "k%d", i), Value: []byte("value")})
	}
	publishToNewTopic(ctx, t, w, msgs)
	counter := func(name, label string) float64 {
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == name {
				for _, mt := range mf.GetMetric() {
					if mt.GetLabel()[0].GetValue() == label {
						return mt.GetCounter().GetValue()
					}
				}
			}
		}
		return -1
	}
	if got := counter("riverwatch_test_kafka_writer_messages_total", "events"); got < n {
		t.Errorf("writer messages = %v, want at least %d", got, n)
	}
	written := counter("riverwatch_test_kafka_writer_messages_total", "events")
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := counter("riverwatch_test_kafka_writer_messages_total", "events"); got != written {
		t.Errorf("writer messages after Close = %v, want %v still", got, written)
	}
	if got := counter("riverwatch_test_kafka_writer_bytes_total", "events"); got <= 0 {
		t.Errorf("writer bytes = %v", got)
	}

	c := stream.NewConsumer(stream.ConsumerConfig{Cluster: stream.Plain(brokers...), Topic: topic, GroupID: topic + "-g", MaxDelay: 20 * time.Millisecond, Metrics: m})
	runCtx, stop := context.WithCancel(ctx)
	seen := 0
	done := make(chan error, 1)
	go func() {
		done <- c.Run(runCtx, func(_ context.Context, b []kafka.Message) error {
			if seen += len(b); seen >= n {
				stop()
			}
			return nil
		})
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := counter("riverwatch_test_kafka_reader_fetches_total", topic); got < 1 {
		t.Errorf("reader fetches = %v, want at least 1", got)
	}
	if got := counter("riverwatch_test_kafka_reader_bytes_total", topic); got <= 0 {
		t.Errorf("reader bytes = %v", got)
	}
}
