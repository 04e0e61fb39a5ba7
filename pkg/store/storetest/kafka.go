package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverwatch/riverwatch/pkg/config"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/segmentio/kafka-go"
)

// WaitTopic waits until every partition of a just-created topic (three, as
// testinfra.Config creates them) has a leader: a publish right after creation may
// otherwise fail with UnknownTopicOrPartition, and retrying a partly written publish
// would duplicate messages.
func WaitTopic(t testing.TB, cfg *config.Config, topic string) {
	t.Helper()
	testinfra.Eventually(t, 30*time.Second, "topic "+topic+" ready", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := kafka.DialContext(ctx, "tcp", cfg.Kafka.Brokers[0])
		if err != nil {
			return false
		}
		parts, err := conn.ReadPartitions(topic)
		conn.Close()
		if err != nil || len(parts) != 3 {
			return false
		}
		for p := range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			lc, err := kafka.DialLeader(ctx, "tcp", cfg.Kafka.Brokers[0], topic, p)
			cancel()
			if err != nil {
				return false
			}
			_, _, err = lc.ReadOffsets()
			lc.Close()
			if err != nil {
				return false
			}
		}
		return true
	})
}

// Publish sends messages (their keys and values) to a topic of the real broker.
func Publish(t testing.TB, cfg *config.Config, topic string, msgs []kafka.Message) {
	t.Helper()
	WaitTopic(t, cfg, topic)
	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(cfg.Kafka.Brokers...), Topic: topic}, nil)
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for len(msgs) > 0 {
		n := min(len(msgs), 5000)
		chunk := make([]kafka.Message, n)
		for i, m := range msgs[:n] {
			chunk[i] = kafka.Message{Key: m.Key, Value: m.Value}
		}
		err := w.Publish(ctx, chunk...)
		// A topic this young may still be unknown to the writer's metadata; nothing was
		// written then, so publishing again is safe.
		for try := 0; errors.Is(err, kafka.UnknownTopicOrPartition) && try < 20; try++ {
			time.Sleep(250 * time.Millisecond)
			err = w.Publish(ctx, chunk...)
		}
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		msgs = msgs[n:]
	}
}

// Committed returns a consumer group's committed offsets of a topic, per partition.
func Committed(t testing.TB, cfg *config.Config, group, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := &kafka.Client{Addr: kafka.TCP(cfg.Kafka.Brokers...)}
	parts, err := stream.Partitions(ctx, stream.Plain(cfg.Kafka.Brokers...), topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	resp, err := c.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
	if err != nil {
		t.Fatalf("offset fetch: %v", err)
	}
	out := map[int]int64{}
	for _, p := range resp.Topics[topic] {
		out[p.Partition] = p.CommittedOffset
	}
	return out
}

// HighWaterMarks returns the end offsets of a topic, per partition.
func HighWaterMarks(t testing.TB, cfg *config.Config, topic string) map[int]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cl := stream.Plain(cfg.Kafka.Brokers...)
	parts, err := stream.Partitions(ctx, cl, topic)
	if err != nil {
		t.Fatalf("partitions of %s: %v", topic, err)
	}
	out := map[int]int64{}
	for _, p := range parts {
		_, end, err := stream.Bounds(ctx, cl, topic, p)
		if err != nil {
			t.Fatalf("offsets %s/%d: %v", topic, p, err)
		}
		out[p] = end
	}
	return out
}
