package stream_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/riverwatch/riverwatch/pkg/stream"
	"github.com/riverwatch/riverwatch/pkg/testinfra"
	"github.com/segmentio/kafka-go"
)

// A handler that fails is retried and nothing is committed; a consumer that stops before
// its batch succeeded leaves the batch to whoever consumes next.
func TestConsumerCommitsOnlyAfterTheHandlerSucceeded(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	topic := testinfra.Name(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := stream.EnsureTopics(ctx, stream.Plain(brokers...), stream.TopicSpec{Name: topic, Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	testinfra.DeleteTopicsAtEnd(t, brokers, stream.TopicSpec{Name: topic, Partitions: 2})
	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(brokers...), Topic: topic}, nil)
	defer w.Close()
	const n = 100
	var msgs []kafka.Message
	for i := range n {
		msgs = append(msgs, kafka.Message{Key: []byte(fmt.Sprint(i % 7)), Value: []byte(fmt.Sprint(i))})
	}
	if err := w.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	// First consumer: its handler always fails, then it is stopped.
	group := topic + "-g"
	first := stream.NewConsumer(stream.ConsumerConfig{Cluster: stream.Plain(brokers...), Topic: topic, GroupID: group, MaxDelay: 50 * time.Millisecond, RetryMax: 50 * time.Millisecond})
	firstCtx, stopFirst := context.WithCancel(ctx)
	var attempts int
	var mu sync.Mutex
	done := make(chan error, 1)
	go func() {
		done <- first.Run(firstCtx, func(context.Context, []kafka.Message) error {
			mu.Lock()
			attempts++
			a := attempts
			mu.Unlock()
			if a >= 3 {
				stopFirst()
			}
			return errors.New("store unavailable")
		})
	}()
	if err := <-done; err != nil {
		t.Fatalf("first consumer: %v", err)
	}
	if attempts < 3 {
		t.Fatalf("failing handler tried %d times, want retries", attempts)
	}

	// Second consumer in the same group: it must see every message, since nothing was
	// committed.
	second := stream.NewConsumer(stream.ConsumerConfig{Cluster: stream.Plain(brokers...), Topic: topic, GroupID: group, MaxDelay: 50 * time.Millisecond})
	seen := map[string]bool{}
	secondCtx, stopSecond := context.WithCancel(ctx)
	go func() {
		done <- second.Run(secondCtx, func(_ context.Context, b []kafka.Message) error {
			for _, m := range b {
				seen[string(m.Value)] = true
			}
			if len(seen) == n {
				stopSecond()
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatalf("second consumer saw %d of %d messages", len(seen), n)
	}
	if len(seen) != n {
		t.Fatalf("second consumer saw %d of %d messages", len(seen), n)
	}

	// Third consumer: everything was committed by the second, so nothing is left.
	third := stream.NewConsumer(stream.ConsumerConfig{Cluster: stream.Plain(brokers...), Topic: topic, GroupID: group, MaxDelay: 50 * time.Millisecond})
	thirdCtx, stopThird := context.WithTimeout(ctx, 8*time.Second)
	defer stopThird()
	var again int
	_ = third.Run(thirdCtx, func(_ context.Context, b []kafka.Message) error { again += len(b); return nil })
	if again != 0 {
		t.Fatalf("after commits, a new consumer of the group re-read %d messages", again)
	}
}

// A permanent handler error stops the consumer with that error and commits nothing: the
// batch is delivered again to the next consumer of the group.
func TestConsumerStopsOnAPermanentErrorWithoutCommitting(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	topic := testinfra.Name(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := stream.EnsureTopics(ctx, stream.Plain(brokers...), stream.TopicSpec{Name: topic, Partitions: 1}); err != nil {
		t.Fatal(err)
	}
	testinfra.DeleteTopicsAtEnd(t, brokers, stream.TopicSpec{Name: topic, Partitions: 1})
	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(brokers...), Topic: topic}, nil)
	defer w.Close()
	publishWhenReady(t, ctx, w, kafka.Message{Key: []byte("k"), Value: []byte("poison")})
	group := topic + "-g"
	errSchema := errors.New("table has no such column")
	var calls int
	err := stream.NewConsumer(stream.ConsumerConfig{Cluster: stream.Plain(brokers...), Topic: topic, GroupID: group}).
		Run(ctx, func(context.Context, []kafka.Message) error { calls++; return backoff.Permanent(errSchema) })
	if !errors.Is(err, errSchema) || calls != 1 {
		t.Fatalf("Run = %v after %d calls, want the permanent error after one", err, calls)
	}
	again, stop := context.WithCancel(ctx)
	var redelivered []string
	_ = stream.NewConsumer(stream.ConsumerConfig{Cluster: stream.Plain(brokers...), Topic: topic, GroupID: group}).
		Run(again, func(_ context.Context, b []kafka.Message) error {
			for _, m := range b {
				redelivered = append(redelivered, string(m.Value))
			}
			stop()
			return nil
		})
	if len(redelivered) != 1 || redelivered[0] != "poison" {
		t.Fatalf("next consumer got %v, want the uncommitted batch again", redelivered)
	}
}

// ReadCompacted keeps the newest value of each key, drops tombstoned keys and says where
// each partition ended; ReadPartition reads exactly a range.
func TestReadCompactedAndReadPartition(t *testing.T) {
	brokers := testinfra.KafkaBrokers(t)
	topic := testinfra.Name(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := stream.EnsureTopics(ctx, stream.Plain(brokers...), stream.TopicSpec{Name: topic, Partitions: 2, Compacted: true}); err != nil {
		t.Fatal(err)
	}
	testinfra.DeleteTopicsAtEnd(t, brokers, stream.TopicSpec{Name: topic, Partitions: 2, Compacted: true})
	w := stream.NewWriter(stream.WriterConfig{Cluster: stream.Plain(brokers...), Topic: topic}, nil)
	defer w.Close()
	kv := func(k, v string) kafka.Message {
		m := kafka.Message{Key: []byte(k)}
		if v != "" {
			m.Value = []byte(v)
		}
		return m
	}
	for _, m := range []kafka.Message{kv("a", "1"), kv("b", "1"), kv("c", "1"), kv("a", "2"), kv("b", ""), kv("c", "3")} {
		publishWhenReady(t, ctx, w, m) // one at a time: in this order per key
	}
	got, err := stream.ReadCompacted(ctx, stream.ReaderConfig{Cluster: stream.Plain(brokers...)}, topic)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "2", "c": "3"}
	if len(got.Values) != len(want) {
		t.Errorf("values %v, want %v", got.Values, want)
	}
	for k, v := range want {
		if string(got.Values[k]) != v {
			t.Errorf("%s = %q, want %q", k, got.Values[k], v)
		}
	}
	var total int64
	for p, end := range got.Ends {
		_, last, err := stream.Bounds(ctx, stream.Plain(brokers...), topic, p)
		if err != nil || last != end {
			t.Errorf("partition %d ended at %d, its end is %d (%v)", p, end, last, err)
		}
		total += end
	}
	if total != 6 {
		t.Errorf("ends %v, want 6 records in all", got.Ends)
	}
	for p, end := range got.Ends {
		if end < 2 {
			continue
		}
		var offsets []int64
		err := stream.ReadPartition(ctx, stream.ReaderConfig{Cluster: stream.Plain(brokers...)}, topic, p, 1, end, func(m kafka.Message) error {
			offsets = append(offsets, m.Offset)
			return nil
		})
		if err != nil || int64(len(offsets)) != end-1 || offsets[0] != 1 {
			t.Errorf("partition %d range [1,%d): offsets %v (%v)", p, end, offsets, err)
		}
	}
}

// publishWhenReady publishes, waiting while a topic created a moment ago has no leaders yet.
func publishWhenReady(t *testing.T, ctx context.Context, w *stream.Writer, msgs ...kafka.Message) {
	t.Helper()
	for {
		err := w.Publish(ctx, msgs...)
		if err == nil {
			return
		}
		if !errors.Is(err, kafka.UnknownTopicOrPartition) && !errors.Is(err, kafka.LeaderNotAvailable) || ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
