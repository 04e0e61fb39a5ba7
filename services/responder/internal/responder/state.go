package responder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"
)

// stateReadPatience is how long start-up keeps retrying the state topic. A topic created a
// moment ago (a fresh broker, the first make up) answers "Not Leader For Partition" until its
// partitions have leaders; that is a wait, not a failure.
const stateReadPatience = time.Minute

// readCompactedRetrying is readCompacted, retried with backoff for stateReadPatience.
func readCompactedRetrying(ctx context.Context, brokers []string, topic string, log *slog.Logger) (map[string][]byte, error) {
	deadline := time.Now().Add(stateReadPatience)
	backoff := 200 * time.Millisecond
	for {
		vals, err := readCompacted(ctx, brokers, topic)
		if err == nil || time.Now().After(deadline) || ctx.Err() != nil {
			return vals, err
		}
		log.Warn("state topic not readable yet, retrying", "topic", topic, "backoff", backoff, "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// readCompacted reads a compacted topic from its first offset to the end it had when the
// call began, and returns the latest value of each key (tombstones remove keys).
func readCompacted(ctx context.Context, brokers []string, topic string) (map[string][]byte, error) {
	if len(brokers) == 0 {
		return nil, errNoBrokers
	}
	conn, err := kafka.DialContext(ctx, "tcp", brokers[0])
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", brokers[0], err)
	}
	parts, err := conn.ReadPartitions(topic)
	conn.Close()
	if err != nil {
		return nil, fmt.Errorf("partitions of %s: %w", topic, err)
	}
	out := map[string][]byte{}
	for _, p := range parts {
		if err := readPartition(ctx, brokers, topic, p, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func readPartition(ctx context.Context, brokers []string, topic string, p kafka.Partition, out map[string][]byte) error {
	leader := net.JoinHostPort(p.Leader.Host, strconv.Itoa(p.Leader.Port))
	lc, err := kafka.DialLeader(ctx, "tcp", leader, topic, p.ID)
	if err != nil {
		return fmt.Errorf("dial leader of %s/%d: %w", topic, p.ID, err)
	}
	first, last, err := lc.ReadOffsets()
	lc.Close()
	if err != nil {
		return fmt.Errorf("offsets of %s/%d: %w", topic, p.ID, err)
	}
	if last <= first {
		return nil
	}
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers: brokers, Topic: topic, Partition: p.ID, MinBytes: 1, MaxBytes: 16 << 20,
		MaxWait: 100 * time.Millisecond,
	})
	defer r.Close()
	if err := r.SetOffset(first); err != nil {
		return fmt.Errorf("seek %s/%d: %w", topic, p.ID, err)
	}
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		m, err := r.FetchMessage(rctx)
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("read %s/%d: timed out before offset %d", topic, p.ID, last)
			}
			return fmt.Errorf("read %s/%d: %w", topic, p.ID, err)
		}
		if len(m.Value) == 0 {
			delete(out, string(m.Key))
		} else {
			out[string(m.Key)] = m.Value
		}
		if m.Offset >= last-1 {
			return nil
		}
	}
}
