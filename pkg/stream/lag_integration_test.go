package stream_test

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
	if err := w.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

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
