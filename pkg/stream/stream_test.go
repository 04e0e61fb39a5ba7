package stream_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

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
	if err := stream.EnsureTopics(ctx, brokers, stream.TopicSpec{Name: topic, Partitions: 2}); err != nil {
		t.Fatal(err)
	}
	w := stream.NewWriter(stream.WriterConfig{Brokers: brokers, Topic: topic}, nil)
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
	first := stream.NewConsumer(stream.ConsumerConfig{Brokers: brokers, Topic: topic, GroupID: group, MaxDelay: 50 * time.Millisecond, RetryMax: 50 * time.Millisecond})
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
	second := stream.NewConsumer(stream.ConsumerConfig{Brokers: brokers, Topic: topic, GroupID: group, MaxDelay: 50 * time.Millisecond})
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
	third := stream.NewConsumer(stream.ConsumerConfig{Brokers: brokers, Topic: topic, GroupID: group, MaxDelay: 50 * time.Millisecond})
	thirdCtx, stopThird := context.WithTimeout(ctx, 8*time.Second)
	defer stopThird()
	var again int
	_ = third.Run(thirdCtx, func(_ context.Context, b []kafka.Message) error { again += len(b); return nil })
	if again != 0 {
		t.Fatalf("after commits, a new consumer of the group re-read %d messages", again)
	}
}
